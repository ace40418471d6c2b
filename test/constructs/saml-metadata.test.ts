import { generateKeyPairSync, X509Certificate, type KeyPairKeyObjectResult } from 'node:crypto';
import { Aws, Lazy, Stack, Token } from 'aws-cdk-lib';
import { buildSelfSignedCertificate } from '../../lambda/certificate/certificate';
import { PemSigner } from '../../lambda/shared/pem-signer';
import { escapeXmlAttributeValue, samlIdpMetadataXml } from '../../src/private/saml-metadata';
import {
  certificatePemFromBase64Der,
  parseIdpMetadataWithOneLogin,
  signWithSamlsign,
  validateSamlMetadataSchema,
  verifyWithSamlsignMetadata,
} from '../support/saml-tools';

interface TestIdpKey {
  readonly keyPair: KeyPairKeyObjectResult;
  readonly certificateBase64: string;
}

const entityId = 'urn:cdk-token-delegation:111122223333:eu-west-1:TestIdp';
const ssoLocation = 'https://signin.aws.amazon.com/saml';
let keys: TestIdpKey[];

async function makeKey(commonName: string): Promise<TestIdpKey> {
  const keyPair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const { der } = await buildSelfSignedCertificate({
    subjectPublicKeyInfoDer: new Uint8Array(keyPair.publicKey.export({ format: 'der', type: 'spki' })),
    commonName,
    signer: new PemSigner(keyPair.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()),
  });
  return { keyPair, certificateBase64: Buffer.from(der).toString('base64') };
}

/** A minimal Assertion signed by OpenSAML with `key`, issued by `issuer`. */
async function assertionSignedBy(key: TestIdpKey, issuer: string): Promise<string> {
  const assertion = '<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_metadata-test" Version="2.0"'
    + ` IssueInstant="2026-01-01T00:00:00Z"><saml:Issuer>${escapeXmlAttributeValue(issuer)}</saml:Issuer>`
    + '<saml:Subject><saml:NameID>user-1</saml:NameID></saml:Subject></saml:Assertion>';
  const signed = await signWithSamlsign(assertion, {
    privateKeyPem: key.keyPair.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    certificatePem: certificatePemFromBase64Der(key.certificateBase64),
  });
  expect(signed).toMatchObject({ ok: true, output: expect.stringContaining('<ds:SignatureValue>') });
  return signed.output;
}

/** Evaluates the intrinsics a metadata template can contain, as CloudFormation would at deploy time. */
function evaluateIntrinsics(value: unknown, references: Record<string, string>): string {
  if (typeof value === 'string') {
    return value;
  }
  const intrinsic = value as Record<string, unknown>;
  if ('Fn::Join' in intrinsic) {
    const [separator, parts] = intrinsic['Fn::Join'] as [string, unknown[]];
    return parts.map((part) => evaluateIntrinsics(part, references)).join(separator);
  }
  const name = 'Ref' in intrinsic ? String(intrinsic.Ref) : (intrinsic['Fn::GetAtt'] as string[]).join('.');
  if (!(name in references)) {
    throw new Error(`Unexpected reference ${name}`);
  }
  return references[name];
}

beforeAll(async () => {
  keys = await Promise.all(['first', 'second', 'third'].map(makeKey));
});

describe('samlIdpMetadataXml', () => {
  test('with one certificate: valid against the SAML 2.0 metadata schema and over IAM\'s 1,000-character minimum', async () => {
    const xml = samlIdpMetadataXml({ entityId, certificates: [keys[0].certificateBase64], ssoLocation });

    expect(await validateSamlMetadataSchema(xml)).toEqual({ ok: true, output: expect.stringContaining('validates') });
    expect(xml.length).toBeGreaterThanOrEqual(1000);
    expect(xml).toContain('<md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">');
    expect(xml).toContain('<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>');
    expect(xml).toContain(`<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${ssoLocation}"/>`);
    expect(xml.match(/<md:KeyDescriptor use="signing">/g)).toHaveLength(1);
  });

  test('stays over 1,000 characters with the shortest inputs, so no padding is needed', async () => {
    const shortest = await makeKey('x');
    const xml = samlIdpMetadataXml({ entityId: 'x', certificates: [shortest.certificateBase64], ssoLocation: 'https://a' });
    expect(xml.length).toBeGreaterThanOrEqual(1000);
  });

  test('with three certificates: valid, and OneLogin reads the entityID, every certificate, the SSO URL and NameID format', async () => {
    const certificates = keys.map((key) => key.certificateBase64);
    const xml = samlIdpMetadataXml({ entityId, certificates, ssoLocation });

    expect(await validateSamlMetadataSchema(xml)).toMatchObject({ ok: true });
    expect(xml.match(/<md:KeyDescriptor use="signing">/g)).toHaveLength(3);
    const parsed = await parseIdpMetadataWithOneLogin(xml);
    expect(parsed).toMatchObject({
      ok: true,
      idp: {
        entityId,
        certificates,
        ssoUrl: ssoLocation,
        ssoBinding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST',
        nameIdFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
      },
    });
  });

  test('OpenSAML (samlsign with a metadata trust engine) accepts a signature by any listed key, and only by those', async () => {
    const xml = samlIdpMetadataXml({ entityId, certificates: [keys[0].certificateBase64, keys[1].certificateBase64], ssoLocation });
    const signedBySecond = await assertionSignedBy(keys[1], entityId);
    const signedByUnlisted = await assertionSignedBy(keys[2], entityId);

    expect(await verifyWithSamlsignMetadata(signedBySecond, xml, { issuer: entityId })).toMatchObject({ ok: true });
    expect(await verifyWithSamlsignMetadata(signedByUnlisted, xml, { issuer: entityId }))
      .toMatchObject({ ok: false, output: expect.stringContaining('Unable to verify signature with TrustEngine and supplied metadata') });
    expect(await verifyWithSamlsignMetadata(signedBySecond, xml, { issuer: 'urn:someone-else' }))
      .toMatchObject({ ok: false, output: expect.stringContaining('no metadata found') });
  });

  test('escapes & < > " in the entityID; the document stays valid and parsers read the original value back', async () => {
    const awkwardEntityId = 'urn:example:a&b<c>"d\'e';
    const xml = samlIdpMetadataXml({ entityId: awkwardEntityId, certificates: [keys[0].certificateBase64], ssoLocation: 'https://idp.example/sso?a=1&b="2"' });

    expect(xml).toContain('entityID="urn:example:a&amp;b&lt;c&gt;&quot;d\'e"');
    expect(xml).toContain('Location="https://idp.example/sso?a=1&amp;b=&quot;2&quot;"');
    expect(await validateSamlMetadataSchema(xml)).toMatchObject({ ok: true });
    expect(await parseIdpMetadataWithOneLogin(xml)).toMatchObject({
      ok: true,
      idp: { entityId: awkwardEntityId, ssoUrl: 'https://idp.example/sso?a=1&b="2"' },
    });
    const signed = await assertionSignedBy(keys[0], awkwardEntityId);
    expect(await verifyWithSamlsignMetadata(signed, xml, { issuer: awkwardEntityId })).toMatchObject({ ok: true });
  });

  test('token-valued inputs resolve into an Fn::Join that becomes valid metadata at deploy time', async () => {
    const stack = new Stack();
    const xml = samlIdpMetadataXml({
      entityId: `urn:cdk-token-delegation:${Aws.ACCOUNT_ID}:${Aws.REGION}:a&b`,
      certificates: [
        Token.asString({ 'Fn::GetAtt': ['SigningCertificate', 'CertificateBase64'] }),
        Lazy.string({ produce: () => keys[1].certificateBase64 }),
      ],
      ssoLocation: `https://${Aws.REGION}.signin.aws.amazon.com/saml`,
    });
    expect(Token.isUnresolved(xml)).toBe(true);

    const resolved = stack.resolve(xml);
    expect(Object.keys(resolved)).toEqual(['Fn::Join']);
    expect(resolved['Fn::Join'][0]).toBe('');
    const parts = resolved['Fn::Join'][1] as unknown[];
    expect(parts).toEqual(expect.arrayContaining([
      { Ref: 'AWS::AccountId' },
      { Ref: 'AWS::Region' },
      { 'Fn::GetAtt': ['SigningCertificate', 'CertificateBase64'] },
    ]));
    expect(JSON.stringify(resolved)).not.toContain('Token[');
    expect(parts).toContainEqual(expect.stringContaining(':a&amp;b"'));

    const deployed = evaluateIntrinsics(resolved, {
      'AWS::AccountId': '111122223333',
      'AWS::Region': 'eu-west-1',
      'SigningCertificate.CertificateBase64': keys[0].certificateBase64,
    });
    expect(await validateSamlMetadataSchema(deployed)).toMatchObject({ ok: true });
    expect(await parseIdpMetadataWithOneLogin(deployed)).toMatchObject({
      ok: true,
      idp: {
        entityId: 'urn:cdk-token-delegation:111122223333:eu-west-1:a&b',
        certificates: [keys[0].certificateBase64, keys[1].certificateBase64],
        ssoUrl: 'https://eu-west-1.signin.aws.amazon.com/saml',
      },
    });
  });

  test.each([
    ['no certificate', { certificates: [] }, 'SAML metadata needs 1 to 10 signing certificates, got 0'],
    ['eleven certificates', { certificates: Array(11).fill('AAAA') }, 'got 11'],
    ['a PEM certificate', { certificates: ['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----'] }, 'SAML signing certificate 0 must be base64 DER on one line'],
    ['an empty entityID', { entityId: '' }, 'SAML entityID must be 1 to 1024 characters, got 0'],
    ['a 1025-character entityID', { entityId: 'u'.repeat(1025) }, 'got 1025'],
    ['a control character', { entityId: 'urn:a\u0001b' }, 'must not contain characters that XML 1.0 forbids'],
    ['an empty SSO location', { ssoLocation: '' }, 'SAML SingleSignOnService location must not be empty'],
  ])('refuses %s', (_case, overrides, message) => {
    expect(() => samlIdpMetadataXml({ entityId, certificates: ['AAAA'], ssoLocation, ...overrides })).toThrow(message);
  });
});

describe('escapeXmlAttributeValue', () => {
  test('escapes markup and whitespace that attribute normalization would change, and leaves token markers intact', () => {
    expect(escapeXmlAttributeValue('a&b<c>d"e\'f\tg\nh\ri')).toBe('a&amp;b&lt;c&gt;d&quot;e\'f&#9;g&#10;h&#13;i');
    const token = Token.asString({ Ref: 'Something' });
    expect(token).toMatch(/^\$\{Token\[[A-Za-z0-9:._-]+\]\}$/);
    expect(escapeXmlAttributeValue(`x&${token}`)).toBe(`x&amp;${token}`);
  });
});

describe('the metadata verifiers themselves', () => {
  test('xmllint rejects metadata that breaks the schema (SingleSignOnService before KeyDescriptor)', async () => {
    const xml = samlIdpMetadataXml({ entityId, certificates: [keys[0].certificateBase64], ssoLocation });
    const sso = xml.match(/ {4}<md:SingleSignOnService[^\n]*\n/)![0];
    const reordered = xml.replace(sso, '').replace('    <md:KeyDescriptor', `${sso}    <md:KeyDescriptor`);
    expect(await validateSamlMetadataSchema(reordered)).toMatchObject({ ok: false, output: expect.stringContaining('fails to validate') });
  });

  test('OneLogin finds no IdP in a document without an IDPSSODescriptor', async () => {
    const notMetadata = '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="urn:x"/>';
    expect(await parseIdpMetadataWithOneLogin(notMetadata)).toMatchObject({ ok: false });
  });

  test('the certificates in these tests are real RSA certificates', () => {
    const x509 = new X509Certificate(Buffer.from(keys[0].certificateBase64, 'base64'));
    expect(x509.publicKey.equals(keys[0].keyPair.publicKey)).toBe(true);
  });
});
