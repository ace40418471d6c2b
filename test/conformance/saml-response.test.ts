import { execFile } from 'node:child_process';
import { sign } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildSignedSamlResponse, SamlSignatureOptions } from '../../lambda/delegation/saml';
import type { AssertionInput } from '../../lambda/delegation/types';
import type { Signer } from '../../lambda/shared/signer';
import { samlIdpMetadataXml } from '../../src/private/saml-metadata';
import {
  assertionInput,
  AssertionInputOverrides,
  AWS_ATTRIBUTE,
  AWS_GLOBAL_SIGNIN_URL,
  TEST_IDP_ENTITY_ID,
} from '../support/saml-fixtures';
import {
  AWS_SP_ENTITY_ID,
  validateSamlProtocolSchema,
  validateWithOneLogin,
  verifyWithSamlsign,
  verifyWithSamlsignMetadata,
  verifyWithXmlsec,
} from '../support/saml-tools';

const PERSISTENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent';

let certificatePem: string;
let certificateBase64: string;
let metadataXml: string;
let signer: Signer;

/** An RSA-2048 key and self-signed certificate made by OpenSSL, independent of the project's certificate code. */
async function generateIdpKeyWithOpenssl(): Promise<{ privateKeyPem: string; certificatePem: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'saml-response-'));
  try {
    await promisify(execFile)('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '2',
      '-subj', '/CN=cdk-token-delegation test IdP',
      '-keyout', join(dir, 'idp.key'), '-out', join(dir, 'idp.crt'),
    ], { timeout: 60_000 });
    return {
      privateKeyPem: await readFile(join(dir, 'idp.key'), 'utf8'),
      certificatePem: await readFile(join(dir, 'idp.crt'), 'utf8'),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function assertionIdOf(xml: string): string {
  const match = /<saml:Assertion [^>]*ID="([^"]+)"/.exec(xml);
  if (match === null) {
    throw new Error('no Assertion ID');
  }
  return match[1];
}

function base64(xml: string): string {
  return Buffer.from(xml, 'utf8').toString('base64');
}

async function emit(
  overrides: AssertionInputOverrides = {},
  options: SamlSignatureOptions = {},
): Promise<{ xml: string; input: AssertionInput }> {
  const input = assertionInput(overrides);
  return { xml: await buildSignedSamlResponse(input, signer, options), input };
}

const DIGITS = '0123456789';
const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const BASE64 = `${ALPHANUMERIC}+/`;

/**
 * Replaces one character inside the first capture group of `pattern` with the next character of
 * `alphabet` (cyclically), so the result always differs and always stays in the value's alphabet:
 * a base64 value stays base64 whichever character a fresh signature happens to have there.
 */
function changeOneCharacter(xml: string, pattern: RegExp, offsetInValue: number, alphabet: string): string {
  const match = pattern.exec(xml);
  if (match === null) {
    throw new Error(`${pattern} not found`);
  }
  if (offsetInValue >= match[1].length) {
    throw new Error(`${pattern}: offset ${offsetInValue} is past the value's ${match[1].length} characters`);
  }
  const position = match.index + match[0].indexOf(match[1]) + offsetInValue;
  const index = alphabet.indexOf(xml[position]);
  if (index < 0) {
    throw new Error(`position ${offsetInValue} of ${pattern} holds a character outside the alphabet`);
  }
  return xml.slice(0, position) + alphabet[(index + 1) % alphabet.length] + xml.slice(position + 1);
}

beforeAll(async () => {
  const key = await generateIdpKeyWithOpenssl();
  certificatePem = key.certificatePem;
  certificateBase64 = certificatePem.replace(/-----[^-]+-----|\s+/g, '');
  metadataXml = samlIdpMetadataXml({
    entityId: TEST_IDP_ENTITY_ID,
    certificates: [certificateBase64],
    ssoLocation: 'https://delegation.example.com/delegation',
  });
  signer = { sign: async (data) => sign('sha256', data, key.privateKeyPem) };
});

describe('a signed Response is accepted by xmlsec1, OpenSAML and OneLogin strict', () => {
  const claimCases: Array<[string, AssertionInputOverrides]> = [
    ['an Auth0 subject', {}],
    ['non-ASCII claims', {
      grant: { subject: 'google-oauth2|Zoë-é☃𝄞', sessionTags: [{ key: 'displayName', value: 'Zoë ☃ 𝄞' }] },
    }],
    ['XML metacharacters and whitespace', {
      grant: {
        subject: '&<>"\' ]]> <!-- x --> <?pi x?> <!DOCTYPE x>\t\n\r\nend',
        sessionTags: [
          { key: 'team&<>"\'', value: 'a\tb\nc\r\nd & <e> "f" \']]>' },
          { key: 'project', value: 'alpha' },
        ],
      },
    }],
    ['SAML attributes mapped from claims, several values and XML metacharacters', {
      grant: {
        samlAttributes: [
          { name: 'urn:oid:1.3.6.1.4.1.5923.1.1.1.1', values: ['staff', 'member'] },
          { name: 'urn:oid:2.5.4.3', values: ['Zoë <&> "x" \'y\''] },
          { name: 'urn:oid:1.3.6.1.4.1.5923.1.1.1.3', values: ['o=Example,c=US'] },
        ],
      },
    }],
  ];

  test.each(claimCases)('with %s', async (_case, overrides) => {
    const { xml, input } = await emit(overrides);
    const id = assertionIdOf(xml);
    const [xmlsec, samlsign, samlsignWithMetadata, schema, oneLoginAws, oneLoginSignin] = await Promise.all([
      verifyWithXmlsec(xml, certificatePem),
      verifyWithSamlsign(xml, certificatePem, { id }),
      verifyWithSamlsignMetadata(xml, metadataXml, { id, issuer: TEST_IDP_ENTITY_ID }),
      validateSamlProtocolSchema(xml),
      validateWithOneLogin(base64(xml), metadataXml, { spEntityId: AWS_SP_ENTITY_ID }),
      validateWithOneLogin(base64(xml), metadataXml, { spEntityId: AWS_GLOBAL_SIGNIN_URL }),
    ]);
    expect(xmlsec).toMatchObject({ ok: true });
    expect(samlsign).toMatchObject({ ok: true });
    expect(samlsignWithMetadata).toMatchObject({ ok: true });
    expect(schema).toMatchObject({ ok: true });
    for (const oneLogin of [oneLoginAws, oneLoginSignin]) {
      expect(oneLogin).toMatchObject({
        ok: true,
        nameId: input.grant.subject,
        nameIdFormat: PERSISTENT,
        issuers: [TEST_IDP_ENTITY_ID],
        attributes: {
          [AWS_ATTRIBUTE.role]: [`${input.grant.roleArn},${input.providerArn}`],
          [AWS_ATTRIBUTE.roleSessionName]: [input.grant.roleSessionName],
          [AWS_ATTRIBUTE.sessionDuration]: [String(input.grant.durationSeconds)],
          [AWS_ATTRIBUTE.sourceIdentity]: [input.grant.sourceIdentity],
          ...Object.fromEntries(input.grant.sessionTags.map((tag) => [AWS_ATTRIBUTE.principalTag(tag.key), [tag.value]])),
          ...Object.fromEntries((input.grant.samlAttributes ?? []).map((attribute) => [attribute.name, attribute.values])),
        },
      });
      expect(oneLogin.audiences?.sort()).toEqual([...input.audiences].sort());
    }
  });
});

test('a Signature carrying the certificate in KeyInfo is accepted by every verifier too', async () => {
  const { xml } = await emit({}, { keyInfoCertificate: certificateBase64 });
  expect(xml).toContain(`<ds:KeyInfo><ds:X509Data><ds:X509Certificate>${certificateBase64}</ds:X509Certificate>`);
  const id = assertionIdOf(xml);
  const results = await Promise.all([
    verifyWithXmlsec(xml, certificatePem),
    verifyWithSamlsign(xml, certificatePem, { id }),
    verifyWithSamlsignMetadata(xml, metadataXml, { id, issuer: TEST_IDP_ENTITY_ID }),
    validateSamlProtocolSchema(xml),
    validateWithOneLogin(base64(xml), metadataXml),
  ]);
  results.forEach((result) => expect(result).toMatchObject({ ok: true }));
});

describe('the one-character change', () => {
  const SIGNATURE_VALUE = /<ds:SignatureValue>([^<]+)</;

  test.each(['+', '/', 'z', '9', 'A'])('of a base64 %p, which a fresh signature may hold anywhere, is another base64 character', (character) => {
    const value = `${'Q'.repeat(100)}${character}${'Q'.repeat(243)}`;
    const tampered = changeOneCharacter(`<ds:SignatureValue>${value}</ds:SignatureValue>`, SIGNATURE_VALUE, 100, BASE64);
    const changed = SIGNATURE_VALUE.exec(tampered)![1];
    expect(changed).toHaveLength(value.length);
    expect(changed).toMatch(/^[A-Za-z0-9+/]+$/);
    expect(changed[100]).not.toBe(character);
    expect(Buffer.from(changed, 'base64').equals(Buffer.from(value, 'base64'))).toBe(false);
  });

  test('refuses an offset past the value or a character outside the alphabet', () => {
    expect(() => changeOneCharacter('<ds:SignatureValue>QUFB</ds:SignatureValue>', SIGNATURE_VALUE, 4, BASE64)).toThrow(/past the value/);
    expect(() => changeOneCharacter('<ds:SignatureValue>QU=B</ds:SignatureValue>', SIGNATURE_VALUE, 2, BASE64)).toThrow(/outside the alphabet/);
  });
});

describe('a one-character change inside the signed Assertion is rejected by every verifier', () => {
  let original: string;

  beforeAll(async () => {
    ({ xml: original } = await emit());
  });

  test.each([
    ['the NameID', /<saml:NameID [^>]*>([^<]+)</, 3, ALPHANUMERIC],
    ['the Role value (account id)', /Attributes\/Role" [^>]*><saml:AttributeValue>([^<]+)</, 13, DIGITS],
    ['the Conditions NotOnOrAfter', /<saml:Conditions [^>]*NotOnOrAfter="([^"]+)"/, 18, DIGITS],
    ['the DigestValue', /<ds:DigestValue>([^<]+)</, 10, BASE64],
    ['the SignatureValue', /<ds:SignatureValue>([^<]+)</, 100, BASE64],
  ] as Array<[string, RegExp, number, string]>)('in %s', async (_place, pattern, offset, alphabet) => {
    const tampered = changeOneCharacter(original, pattern, offset, alphabet);
    expect(tampered).not.toBe(original);
    const [schema, xmlsec, samlsign, oneLogin] = await Promise.all([
      validateSamlProtocolSchema(tampered),
      verifyWithXmlsec(tampered, certificatePem),
      verifyWithSamlsign(tampered, certificatePem, { id: assertionIdOf(tampered) }),
      validateWithOneLogin(base64(tampered), metadataXml),
    ]);
    // Still a schema-valid Response, so each verifier refuses it for its signature alone.
    expect(schema).toMatchObject({ ok: true });
    expect(xmlsec).toMatchObject({ ok: false, output: expect.stringMatching(/fail/i) });
    expect(samlsign).toMatchObject({ ok: false });
    expect(oneLogin).toMatchObject({ ok: false, output: expect.stringContaining('Signature validation failed') });
  });
});

test('a Signature moved from after the Issuer is refused by the protocol schema and OneLogin, though it still verifies', async () => {
  const { xml } = await emit();
  const signature = /<ds:Signature .*<\/ds:Signature>/.exec(xml)![0];
  const moved = xml.replace(signature, '').replace('</saml:Assertion>', `${signature}</saml:Assertion>`);
  const [xmlsec, schema, oneLogin] = await Promise.all([
    verifyWithXmlsec(moved, certificatePem),
    validateSamlProtocolSchema(moved),
    validateWithOneLogin(base64(moved), metadataXml),
  ]);
  expect(xmlsec).toMatchObject({ ok: true });
  expect(schema).toMatchObject({ ok: false, output: expect.stringContaining('Signature\': This element is not expected') });
  expect(oneLogin).toMatchObject({ ok: false, output: expect.stringContaining('saml-schema-protocol-2.0.xsd') });
});

describe('OneLogin strict enforces what the emitter derives from its input', () => {
  test('refuses an expired assertion whose signature is still valid', async () => {
    const { xml } = await emit({ now: new Date(Date.now() - 2 * 3600_000), lifetimeSeconds: 300 });
    const [xmlsec, oneLogin] = await Promise.all([
      verifyWithXmlsec(xml, certificatePem),
      validateWithOneLogin(base64(xml), metadataXml),
    ]);
    expect(xmlsec).toMatchObject({ ok: true });
    expect(oneLogin).toMatchObject({ ok: false, output: expect.stringMatching(/expired/) });
  });

  test('refuses an assertion issued too far in the future', async () => {
    const { xml } = await emit({ now: new Date(Date.now() + 3600_000) });
    expect(await validateWithOneLogin(base64(xml), metadataXml))
      .toMatchObject({ ok: false, output: expect.stringMatching(/not yet valid/) });
  });

  test('accepts an audience list with only AWS\'s entityID for that SP, and refuses it for another', async () => {
    const { xml } = await emit({ audiences: [AWS_SP_ENTITY_ID] });
    const [aws, signin] = await Promise.all([
      validateWithOneLogin(base64(xml), metadataXml, { spEntityId: AWS_SP_ENTITY_ID }),
      validateWithOneLogin(base64(xml), metadataXml, { spEntityId: AWS_GLOBAL_SIGNIN_URL }),
    ]);
    expect(aws).toMatchObject({ ok: true });
    expect(signin).toMatchObject({ ok: false, output: expect.stringContaining('is not a valid audience') });
  });

  test('addresses a regional sign-in endpoint, and only that one', async () => {
    const regional = 'https://eu-west-1.signin.aws.amazon.com/saml';
    const { xml } = await emit({ recipient: regional, audiences: [AWS_SP_ENTITY_ID, regional] });
    const [atRegional, atGlobal] = await Promise.all([
      validateWithOneLogin(base64(xml), metadataXml, { acsUrl: regional }),
      validateWithOneLogin(base64(xml), metadataXml, { acsUrl: AWS_GLOBAL_SIGNIN_URL }),
    ]);
    expect(atRegional).toMatchObject({ ok: true });
    expect(atGlobal).toMatchObject({ ok: false, output: expect.stringMatching(/received at|SubjectConfirmation/) });
  });

  test('refuses a Response whose issuer is not the metadata\'s entityID', async () => {
    const { xml } = await emit({ issuer: 'https://impostor.example.com/idp' });
    expect(await validateWithOneLogin(base64(xml), metadataXml))
      .toMatchObject({ ok: false, output: expect.stringContaining('Invalid issuer') });
  });
});
