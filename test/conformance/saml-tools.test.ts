import { generateKeyPairSync } from 'node:crypto';
import { buildSelfSignedCertificate } from '../../lambda/certificate/certificate';
import { PemSigner } from '../../lambda/shared/pem-signer';
import { samlIdpMetadataXml } from '../../src/private/saml-metadata';
import {
  AWS_SIGNIN_URL,
  AWS_SP_ENTITY_ID,
  certificatePemFromBase64Der,
  signWithSamlsign,
  validateSamlProtocolSchema,
  validateWithOneLogin,
  verifyWithSamlsign,
  verifyWithXmlsec,
} from '../support/saml-tools';

// The verifiers are only worth their verdicts if they accept a known-good response and refuse a
// tampered one; the response here is signed by OpenSAML, independently of our own emitter.

const entityId = 'urn:saml-tools-test:idp';
const assertionId = '_assertion-1';
const keyPair = generateKeyPairSync('rsa', { modulusLength: 2048 });
const privateKeyPem = keyPair.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
let certificateBase64: string;
let certificatePem: string;
let metadataXml: string;
let responseXml: string;

function isoSeconds(offsetSeconds: number): string {
  return new Date(Math.floor(Date.now() / 1000) * 1000 + offsetSeconds * 1000).toISOString().replace('.000Z', 'Z');
}

function unsignedAssertion(): string {
  const saml = 'urn:oasis:names:tc:SAML:2.0';
  return `<saml:Assertion xmlns:saml="${saml}:assertion" ID="${assertionId}" IssueInstant="${isoSeconds(0)}" Version="2.0">`
    + `<saml:Issuer>${entityId}</saml:Issuer>`
    + `<saml:Subject><saml:NameID Format="${saml}:nameid-format:persistent">user-1</saml:NameID>`
    + `<saml:SubjectConfirmation Method="${saml}:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="${isoSeconds(300)}" Recipient="${AWS_SIGNIN_URL}"/></saml:SubjectConfirmation></saml:Subject>`
    + `<saml:Conditions NotBefore="${isoSeconds(-60)}" NotOnOrAfter="${isoSeconds(300)}"><saml:AudienceRestriction><saml:Audience>${AWS_SP_ENTITY_ID}</saml:Audience></saml:AudienceRestriction></saml:Conditions>`
    + `<saml:AuthnStatement AuthnInstant="${isoSeconds(0)}" SessionIndex="${assertionId}"><saml:AuthnContext><saml:AuthnContextClassRef>${saml}:ac:classes:unspecified</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>`
    + '<saml:AttributeStatement><saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/RoleSessionName"><saml:AttributeValue>user-1</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>'
    + '</saml:Assertion>';
}

function responseAround(signedAssertion: string): string {
  return `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_response-1" Version="2.0" IssueInstant="${isoSeconds(0)}" Destination="${AWS_SIGNIN_URL}">`
    + `<saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">${entityId}</saml:Issuer>`
    + '<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>'
    + signedAssertion.replace(/^<\?xml[^>]*\?>\s*/, '')
    + '</samlp:Response>';
}

function base64(xml: string): string {
  return Buffer.from(xml, 'utf8').toString('base64');
}

beforeAll(async () => {
  const { der } = await buildSelfSignedCertificate({
    subjectPublicKeyInfoDer: new Uint8Array(keyPair.publicKey.export({ format: 'der', type: 'spki' })),
    commonName: 'saml-tools-test',
    signer: new PemSigner(privateKeyPem),
  });
  certificateBase64 = Buffer.from(der).toString('base64');
  certificatePem = certificatePemFromBase64Der(certificateBase64);
  metadataXml = samlIdpMetadataXml({ entityId, certificates: [certificateBase64], ssoLocation: AWS_SIGNIN_URL });
  const signed = await signWithSamlsign(unsignedAssertion(), { privateKeyPem, certificatePem });
  expect(signed.ok).toBe(true);
  responseXml = responseAround(signed.output);
});

describe('SAML verifiers on a response signed by OpenSAML', () => {
  test('all accept the untouched response', async () => {
    expect(await validateSamlProtocolSchema(responseXml)).toMatchObject({ ok: true });
    expect(await verifyWithXmlsec(responseXml, certificatePem)).toMatchObject({ ok: true, output: expect.stringContaining('OK') });
    expect(await verifyWithSamlsign(responseXml, certificatePem, { id: assertionId })).toMatchObject({ ok: true });
    expect(await validateWithOneLogin(base64(responseXml), metadataXml)).toMatchObject({
      ok: true,
      nameId: 'user-1',
      nameIdFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
      issuers: [entityId],
      audiences: [AWS_SP_ENTITY_ID],
      attributes: { 'https://aws.amazon.com/SAML/Attributes/RoleSessionName': ['user-1'] },
    });
  });

  test('all signature checks refuse a response whose NameID was changed after signing', async () => {
    const tampered = responseXml.replace('>user-1</saml:NameID>', '>user-2</saml:NameID>');
    expect(tampered).not.toBe(responseXml);
    expect(await verifyWithXmlsec(tampered, certificatePem)).toMatchObject({ ok: false });
    expect(await verifyWithSamlsign(tampered, certificatePem, { id: assertionId })).toMatchObject({ ok: false });
    expect(await validateWithOneLogin(base64(tampered), metadataXml)).toMatchObject({ ok: false });
  });

  test('the signature checks refuse another key\'s certificate', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const { der } = await buildSelfSignedCertificate({
      subjectPublicKeyInfoDer: new Uint8Array(other.publicKey.export({ format: 'der', type: 'spki' })),
      commonName: 'other',
      signer: new PemSigner(other.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()),
    });
    const otherBase64 = Buffer.from(der).toString('base64');
    const otherPem = certificatePemFromBase64Der(otherBase64);
    expect(await verifyWithXmlsec(responseXml, otherPem)).toMatchObject({ ok: false });
    expect(await verifyWithSamlsign(responseXml, otherPem, { id: assertionId })).toMatchObject({ ok: false });
    const otherMetadata = samlIdpMetadataXml({ entityId, certificates: [otherBase64], ssoLocation: AWS_SIGNIN_URL });
    expect(await validateWithOneLogin(base64(responseXml), otherMetadata)).toMatchObject({ ok: false, output: expect.stringContaining('Signature validation failed') });
  });

  test('OneLogin refuses an audience or recipient other than the configured SP', async () => {
    expect(await validateWithOneLogin(base64(responseXml), metadataXml, { spEntityId: 'urn:another-sp' }))
      .toMatchObject({ ok: false, output: expect.stringContaining('is not a valid audience') });
    expect(await validateWithOneLogin(base64(responseXml), metadataXml, { acsUrl: 'https://eu-west-1.signin.aws.amazon.com/saml' }))
      .toMatchObject({ ok: false, output: expect.stringContaining('The response was received at') });
  });

  test('the protocol schema check refuses a Response without Status', async () => {
    const withoutStatus = responseXml.replace(/<samlp:Status>.*<\/samlp:Status>/, '');
    expect(await validateSamlProtocolSchema(withoutStatus)).toMatchObject({ ok: false, output: expect.stringContaining('fails to validate') });
  });
});
