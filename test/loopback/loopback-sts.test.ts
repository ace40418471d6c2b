import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { AssumeRoleWithSAMLCommand, STSClient } from '@aws-sdk/client-sts';
import { buildSelfSignedCertificate } from '../../lambda/certificate/certificate';
import { buildSignedSamlResponse, type SamlSignatureOptions } from '../../lambda/delegation/saml';
import type { AssertionInput, DelegationGrant } from '../../lambda/delegation/types';
import { PemSigner } from '../../lambda/shared/pem-signer';
import { logicalIdsOfType } from '../../local/cloudformation';
import { exampleStackTemplate } from '../../local/example-template';
import { loadFromTemplate, startLoopbackSts, type LoadedTemplate, type LoopbackSts } from '../../local/sts-server';
import { certificatePemFromBase64Der, verifyWithXmlsec } from '../support/saml-tools';

const RECIPIENT = 'https://signin.aws.amazon.com/saml';
const AWS_AUDIENCE = 'urn:amazon:webservices';
const OTHER_PROVIDER_ARN = 'arn:aws:iam::123456789012:saml-provider/SomeoneElsesIdP';
const TAGLESS_ROLE_ARN = 'arn:aws:iam::123456789012:role/TaglessRole';

let sts: LoopbackSts;
let loaded: LoadedTemplate;
let providerArn: string;
let roleArn: string;
let entityId: string;
let signer: PemSigner;
let foreignSigner: PemSigner;
let foreignCertificateBase64: string;

interface ResponseOverrides extends Partial<Omit<AssertionInput, 'grant'>> {
  readonly grant?: Partial<DelegationGrant>;
}

function samlInput(overrides: ResponseOverrides = {}): AssertionInput {
  const { grant, ...rest } = overrides;
  return {
    issuer: entityId,
    recipient: RECIPIENT,
    audiences: [AWS_AUDIENCE, RECIPIENT],
    providerArn,
    now: new Date(),
    lifetimeSeconds: 300,
    ...rest,
    grant: {
      subject: 'alice',
      roleArn,
      roleSessionName: 'alice',
      sourceIdentity: 'alice',
      sessionTags: [],
      durationSeconds: 3600,
      ...grant,
    },
  };
}

async function samlResponse(overrides: ResponseOverrides = {}, by: PemSigner = signer, options: SamlSignatureOptions = {}): Promise<string> {
  return buildSignedSamlResponse(samlInput(overrides), by, options);
}

function base64(xml: string): string {
  return Buffer.from(xml, 'utf8').toString('base64');
}

interface StsAnswer {
  readonly status: number;
  readonly code?: string;
  readonly message?: string;
  readonly body: string;
}

/** Calls the loopback STS over HTTP the way the SDK does and reads STS's XML answer. */
async function callSts(parameters: Record<string, string>): Promise<StsAnswer> {
  const response = await fetch(`${sts.endpoint}/`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body: new URLSearchParams({ Action: 'AssumeRoleWithSAML', Version: '2011-06-15', ...parameters }).toString(),
  });
  const body = await response.text();
  return {
    status: response.status,
    code: /<Code>([^<]*)<\/Code>/.exec(body)?.[1],
    message: /<Message>([^<]*)<\/Message>/.exec(body)?.[1],
    body,
  };
}

function assume(xml: string, extra: Record<string, string> = {}, role = roleArn, provider = providerArn): Promise<StsAnswer> {
  return callSts({ RoleArn: role, PrincipalArn: provider, SAMLAssertion: base64(xml), ...extra });
}

function stsClient(): STSClient {
  return new STSClient({
    region: 'us-east-1',
    endpoint: sts.endpoint,
    maxAttempts: 1,
    credentials: () => Promise.reject(new Error('AssumeRoleWithSAML is unsigned')),
  });
}

function newRsaKeyPem(): string {
  return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

beforeAll(async () => {
  sts = await startLoopbackSts();
  loaded = await loadFromTemplate(sts, exampleStackTemplate());
  providerArn = loaded.providers[0].arn;
  entityId = loaded.providers[0].entityId;
  roleArn = loaded.roles[0].arn;
  signer = new PemSigner(loaded.signingKeyPem);
  const foreignKeyPem = newRsaKeyPem();
  foreignSigner = new PemSigner(foreignKeyPem);
  foreignCertificateBase64 = Buffer.from((await buildSelfSignedCertificate({
    subjectPublicKeyInfoDer: new Uint8Array(createPublicKey(foreignKeyPem).export({ type: 'spki', format: 'der' })),
    commonName: 'attacker',
    signer: foreignSigner,
  })).der).toString('base64');
  sts.registerProvider(OTHER_PROVIDER_ARN, sts.providers.get(providerArn)!.metadataXml);
  sts.registerRole(TAGLESS_ROLE_ARN, {
    Version: '2012-10-17',
    Statement: [{
      Effect: 'Allow',
      Principal: { Federated: providerArn },
      Action: 'sts:AssumeRoleWithSAML',
      Condition: { StringEquals: { 'SAML:aud': RECIPIENT } },
    }],
  });
});

afterAll(async () => {
  await sts?.close();
});

describe('loading a synthesized stack', () => {
  test('registers the stack\'s SAML provider with the resolved metadata and the role that trusts it', () => {
    const template = exampleStackTemplate();
    expect(loaded.providers.map((provider) => provider.logicalId)).toEqual(logicalIdsOfType(template, 'AWS::IAM::SAMLProvider'));
    expect(providerArn).toMatch(/^arn:aws:iam::123456789012:saml-provider\//);
    expect(entityId).toMatch(/^urn:cdk-token-delegation:123456789012:us-east-1:/);
    const provider = sts.providers.get(providerArn)!;
    expect(provider.certificates).toEqual([loaded.certificateBase64]);
    expect(provider.metadataXml).not.toContain('Fn::');
    expect(loaded.roles).toHaveLength(1);
    expect(sts.roles.get(roleArn)?.maxSessionDurationSeconds).toBe(3600);
  });
});

describe('registering a provider', () => {
  test('applies IAM\'s metadata limits: size, 1 to 10 certificates, X.509 keys', () => {
    const metadata = sts.providers.get(providerArn)!.metadataXml;
    const keyDescriptor = /<md:KeyDescriptor[\s\S]*?<\/md:KeyDescriptor>/.exec(metadata)![0];
    const arn = 'arn:aws:iam::123456789012:saml-provider/Limits';
    const padded = (xml: string) => xml.replace('</md:EntityDescriptor>', `<!--${' '.repeat(1000)}--></md:EntityDescriptor>`);
    expect(() => sts.registerProvider(arn, metadata.replace(keyDescriptor, keyDescriptor.repeat(11)))).toThrow(/1 to 10 signing certificates/);
    expect(() => sts.registerProvider(arn, padded(metadata.replace(keyDescriptor, '')))).toThrow(/1 to 10 signing certificates/);
    expect(() => sts.registerProvider(arn, padded(metadata.replace(/<ds:X509Certificate>[^<]+/, '<ds:X509Certificate>AAAA')))).toThrow(/not X.509/);
    expect(() => sts.registerProvider(arn, '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="urn:x"/>'))
      .toThrow(/1000 to 10000000 characters/);
    expect(sts.providers.has(arn)).toBe(false);
    expect(sts.registerProvider(arn, metadata.replace(keyDescriptor, keyDescriptor.repeat(10))).certificates).toHaveLength(10);
  });
});

describe('a valid assertion', () => {
  test('is exchanged for credentials that @aws-sdk/client-sts parses, with STS\'s fields', async () => {
    const before = Date.now();
    const output = await stsClient().send(new AssumeRoleWithSAMLCommand({
      RoleArn: roleArn,
      PrincipalArn: providerArn,
      SAMLAssertion: base64(await samlResponse()),
      DurationSeconds: 900,
    }));
    expect(output.Credentials?.AccessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(output.Credentials?.SecretAccessKey).toMatch(/^[A-Za-z0-9+/]{40}$/);
    expect(output.Credentials?.SessionToken?.length).toBeGreaterThan(100);
    expect(output.Credentials?.Expiration).toBeInstanceOf(Date);
    const lifetime = output.Credentials!.Expiration!.getTime() - before;
    expect(lifetime).toBeGreaterThan(890_000);
    expect(lifetime).toBeLessThanOrEqual(901_000);
    const roleName = roleArn.split('/').pop();
    expect(output.AssumedRoleUser?.Arn).toBe(`arn:aws:sts::123456789012:assumed-role/${roleName}/alice`);
    expect(output.AssumedRoleUser?.AssumedRoleId).toMatch(/^AROA[A-Z2-7]{17}:alice$/);
    expect(output.Subject).toBe('alice');
    expect(output.SubjectType).toBe('persistent');
    expect(output.Issuer).toBe(entityId);
    expect(output.Audience).toBe(RECIPIENT);
    expect(output.SourceIdentity).toBe('alice');
    const providerName = providerArn.split('/').pop();
    expect(output.NameQualifier).toBe(createHash('sha1').update(`${entityId}123456789012/${providerName}`).digest('base64'));
    const call = sts.calls[sts.calls.length - 1];
    expect(call).toMatchObject({ action: 'AssumeRoleWithSAML', outcome: 'issued', status: 200, signed: false });
    expect(sts.issued[sts.issued.length - 1]).toMatchObject({ accessKeyId: output.Credentials!.AccessKeyId, subject: 'alice', roleArn, durationSeconds: 900 });
  });

  test('the SessionDuration attribute shortens the session; without DurationSeconds it lasts an hour', async () => {
    const short = await assume(await samlResponse({ grant: { durationSeconds: 1200 } }));
    expect(short.status).toBe(200);
    expect(sts.issued[sts.issued.length - 1].durationSeconds).toBe(1200);
    const standard = await assume(await samlResponse({ grant: { durationSeconds: 43200 } }));
    expect(standard.status).toBe(200);
    expect(sts.issued[sts.issued.length - 1].durationSeconds).toBe(3600);
  });

  test('a response STS accepts is also accepted by xmlsec1 with the metadata certificate', async () => {
    const xml = await samlResponse();
    expect((await assume(xml)).status).toBe(200);
    const verdict = await verifyWithXmlsec(xml, certificatePemFromBase64Der(loaded.certificateBase64));
    expect(verdict.output).toContain('OK');
    expect(verdict.ok).toBe(true);
  });
});

describe('the signature', () => {
  test('an assertion signed by another key is refused with InvalidIdentityToken, and xmlsec1 refuses it too', async () => {
    const xml = await samlResponse({}, foreignSigner);
    const answer = await assume(xml);
    expect(answer).toMatchObject({ status: 400, code: 'InvalidIdentityToken', message: 'Response signature invalid' });
    expect(answer.body).toContain('<Type>Sender</Type>');
    expect((await verifyWithXmlsec(xml, certificatePemFromBase64Der(loaded.certificateBase64))).ok).toBe(false);
  });

  test('another key\'s certificate in KeyInfo does not help it', async () => {
    const xml = await samlResponse({}, foreignSigner, { keyInfoCertificate: foreignCertificateBase64 });
    expect(await assume(xml)).toMatchObject({ status: 400, code: 'InvalidIdentityToken', message: 'Response signature invalid' });
    expect((await verifyWithXmlsec(xml, certificatePemFromBase64Der(loaded.certificateBase64))).ok).toBe(false);
  });

  test('a signed assertion changed by one character of its NameID is refused, by xmlsec1 as well', async () => {
    const xml = (await samlResponse({ grant: { subject: 'alice' } })).replace('>alice</saml:NameID>', '>alicf</saml:NameID>');
    expect(xml).toContain('alicf');
    expect(await assume(xml)).toMatchObject({ status: 400, code: 'InvalidIdentityToken', message: 'Response signature invalid' });
    expect((await verifyWithXmlsec(xml, certificatePemFromBase64Der(loaded.certificateBase64))).ok).toBe(false);
  });

  test('a second, unsigned Assertion next to the signed one is refused (no signature wrapping)', async () => {
    const xml = await samlResponse({ grant: { subject: 'alice' } });
    const assertion = /<saml:Assertion[\s\S]*<\/saml:Assertion>/.exec(xml)![0];
    const forged = assertion.replace(/ID="[^"]+"/, 'ID="_forged"').replace(/<ds:Signature[\s\S]*<\/ds:Signature>/, '').replace('>alice<', '>bob<');
    const answer = await assume(xml.replace('</samlp:Status>', `</samlp:Status>${forged}`));
    expect(answer).toMatchObject({ status: 400, code: 'InvalidIdentityToken', message: 'Invalid SAML response: the Response must hold exactly one Assertion' });
    expect(sts.issued.some((session) => session.subject === 'bob')).toBe(false);
  });

  test('text that is not base64 of XML, and XML with a DTD, are refused with InvalidIdentityToken', async () => {
    expect(await callSts({ RoleArn: roleArn, PrincipalArn: providerArn, SAMLAssertion: 'not base64 at all!' }))
      .toMatchObject({ status: 400, code: 'InvalidIdentityToken', message: 'Invalid SAML response: SAMLAssertion is not base64' });
    expect(await assume('<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">'))
      .toMatchObject({ status: 400, code: 'InvalidIdentityToken', message: 'Invalid SAML response: not well-formed XML' });
    const withDtd = `<!DOCTYPE r [<!ENTITY a "alice">]>${await samlResponse()}`;
    expect(await assume(withDtd)).toMatchObject({ status: 400, code: 'InvalidIdentityToken', message: 'Invalid SAML response: document type declarations are not allowed' });
  });
});

describe('the assertion\'s claims', () => {
  test('a role that is not in the Role attribute is refused with AccessDenied', async () => {
    const xml = await samlResponse({ grant: { roleArn: TAGLESS_ROLE_ARN } });
    expect(await assume(xml)).toMatchObject({ status: 403, code: 'AccessDenied', message: 'Not authorized to perform sts:AssumeRoleWithSAML' });
  });

  test('a RoleSessionName with | is refused with InvalidIdentityToken', async () => {
    const xml = await samlResponse({ grant: { roleSessionName: 'auth0|123' } });
    const answer = await assume(xml);
    expect(answer).toMatchObject({ status: 400, code: 'InvalidIdentityToken' });
    expect(answer.message).toMatch(/^RoleSessionName in AuthnResponse must match/);
  });

  test.each([
    ['starts with aws:', 'aws:alice'],
    ['is one character', 'a'],
    ['contains a space', 'al ice'],
  ])('a SourceIdentity that %s is refused with InvalidIdentityToken', async (_case, sourceIdentity) => {
    const answer = await assume(await samlResponse({ grant: { sourceIdentity } }));
    expect(answer).toMatchObject({ status: 400, code: 'InvalidIdentityToken' });
    expect(answer.message).toMatch(/^Source Identity must match/);
  });

  test('an expired assertion is refused with ExpiredTokenException', async () => {
    const xml = await samlResponse({ now: new Date(Date.now() - 10 * 60_000), lifetimeSeconds: 300 });
    expect(await assume(xml)).toMatchObject({ status: 400, code: 'ExpiredTokenException', message: 'Response has expired' });
  });

  test('an assertion issued more than five minutes ago is refused with ExpiredTokenException even if still valid', async () => {
    const xml = await samlResponse({ now: new Date(Date.now() - 7 * 60_000), lifetimeSeconds: 3600 });
    expect(await assume(xml)).toMatchObject({ status: 400, code: 'ExpiredTokenException' });
  });

  test('an assertion issued in the future is refused', async () => {
    const xml = await samlResponse({ now: new Date(Date.now() + 10 * 60_000) });
    expect(await assume(xml)).toMatchObject({ status: 400, code: 'InvalidIdentityToken', message: 'Response is not yet valid' });
  });

  test('a Recipient that is not an AWS sign-in endpoint is refused with InvalidIdentityToken', async () => {
    const xml = await samlResponse({ recipient: 'https://evil.example.com/saml', audiences: [AWS_AUDIENCE] });
    expect(await assume(xml)).toMatchObject({ status: 400, code: 'InvalidIdentityToken', message: 'SubjectConfirmationData Recipient is not an AWS sign-in endpoint' });
  });

  test('an assertion for another audience is refused with InvalidIdentityToken', async () => {
    const xml = await samlResponse({ audiences: ['https://some-other-sp.example.com'] });
    expect(await assume(xml)).toMatchObject({ status: 400, code: 'InvalidIdentityToken', message: 'Response does not contain the required audience' });
  });

  test('an assertion from another issuer is refused with InvalidIdentityToken', async () => {
    const xml = await samlResponse({ issuer: 'urn:someone-else' });
    expect(await assume(xml)).toMatchObject({ status: 400, code: 'InvalidIdentityToken', message: 'Issuer not present in specified provider' });
  });

  test.each([
    ['a value with |', [{ key: 'department', value: 'a|b' }]],
    ['a value of 257 characters', [{ key: 'department', value: 'x'.repeat(257) }]],
    ['a key of 129 characters', [{ key: 'k'.repeat(129), value: 'x' }]],
    ['51 tags', Array.from({ length: 51 }, (_, index) => ({ key: `tag${index}`, value: 'x' }))],
  ])('session tags with %s are refused with InvalidIdentityToken', async (_case, sessionTags) => {
    expect(await assume(await samlResponse({ grant: { sessionTags } }))).toMatchObject({ status: 400, code: 'InvalidIdentityToken' });
  });

  test('50 valid session tags are accepted and recorded', async () => {
    const sessionTags = Array.from({ length: 50 }, (_, index) => ({ key: `tag${index}`, value: `value ${index}` }));
    expect((await assume(await samlResponse({ grant: { sessionTags } }))).status).toBe(200);
    expect(sts.issued[sts.issued.length - 1].sessionTags).toHaveLength(50);
  });
});

describe('the role and its trust policy', () => {
  test('a provider that the trust policy does not name is refused with AccessDenied', async () => {
    const xml = await samlResponse({ providerArn: OTHER_PROVIDER_ARN });
    expect(await assume(xml, {}, roleArn, OTHER_PROVIDER_ARN)).toMatchObject({ status: 403, code: 'AccessDenied', message: 'Not authorized to perform sts:AssumeRoleWithSAML' });
  });

  test('a regional Recipient, when the trust policy pins SAML:aud to the global one, is refused with AccessDenied', async () => {
    const regional = 'https://eu-west-1.signin.aws.amazon.com/saml';
    const xml = await samlResponse({ recipient: regional, audiences: [AWS_AUDIENCE, regional] });
    expect(await assume(xml)).toMatchObject({ status: 403, code: 'AccessDenied' });
  });

  test('session tags or a source identity need sts:TagSession / sts:SetSourceIdentity in the trust statement', async () => {
    const tagged = await samlResponse({ grant: { roleArn: TAGLESS_ROLE_ARN, sessionTags: [{ key: 'department', value: 'r-and-d' }] } });
    expect(await assume(tagged, {}, TAGLESS_ROLE_ARN)).toMatchObject({ status: 403, code: 'AccessDenied', message: 'Not authorized to perform sts:TagSession' });
    const withSource = await samlResponse({ grant: { roleArn: TAGLESS_ROLE_ARN } });
    expect(await assume(withSource, {}, TAGLESS_ROLE_ARN)).toMatchObject({ status: 403, code: 'AccessDenied', message: 'Not authorized to perform sts:SetSourceIdentity' });
  });

  test('the stack\'s role allows tags and a source identity', async () => {
    const tagged = await samlResponse({ grant: { sessionTags: [{ key: 'department', value: 'r-and-d' }] } });
    expect((await assume(tagged)).status).toBe(200);
  });

  test('an unknown provider ARN is refused with InvalidIdentityToken, an unknown role with AccessDenied', async () => {
    const unknownProvider = 'arn:aws:iam::123456789012:saml-provider/Unknown';
    expect(await assume(await samlResponse({ providerArn: unknownProvider }), {}, roleArn, unknownProvider))
      .toMatchObject({ status: 400, code: 'InvalidIdentityToken', message: 'Specified provider doesn&#39;t exist' });
    const unknownRole = 'arn:aws:iam::123456789012:role/Unknown';
    expect(await assume(await samlResponse({ grant: { roleArn: unknownRole } }), {}, unknownRole)).toMatchObject({ status: 403, code: 'AccessDenied' });
  });
});

describe('request parameters', () => {
  test('DurationSeconds beyond the role\'s MaxSessionDuration is refused with ValidationError', async () => {
    const answer = await assume(await samlResponse(), { DurationSeconds: '7200' });
    expect(answer).toMatchObject({ status: 400, code: 'ValidationError', message: 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.' });
  });

  test.each(['899', '43201', '12.5', 'soon'])('DurationSeconds %s is refused with ValidationError', async (duration) => {
    expect(await assume(await samlResponse(), { DurationSeconds: duration })).toMatchObject({ status: 400, code: 'ValidationError' });
  });

  test('a SAMLAssertion over 100,000 characters is refused with ValidationError', async () => {
    const answer = await callSts({ RoleArn: roleArn, PrincipalArn: providerArn, SAMLAssertion: 'A'.repeat(100_004) });
    expect(answer).toMatchObject({ status: 400, code: 'ValidationError' });
  });

  test('missing parameters and malformed ARNs are refused with ValidationError', async () => {
    expect(await callSts({ RoleArn: roleArn, PrincipalArn: providerArn })).toMatchObject({ status: 400, code: 'ValidationError' });
    expect(await callSts({ RoleArn: 'not-an-arn', PrincipalArn: providerArn, SAMLAssertion: 'AAAA' })).toMatchObject({ status: 400, code: 'ValidationError' });
    expect(await callSts({ RoleArn: roleArn, PrincipalArn: 'arn:aws:iam::999999999999:saml-provider/X', SAMLAssertion: 'AAAA' }))
      .toMatchObject({ status: 400, code: 'ValidationError', message: 'Principal exists outside the account of the Role being assumed.' });
  });

  test('another Action is refused with InvalidAction', async () => {
    expect(await callSts({ Action: 'AssumeRole' })).toMatchObject({ status: 400, code: 'InvalidAction' });
  });

  test('the SDK surfaces the refusal\'s code and status', async () => {
    const error = await stsClient().send(new AssumeRoleWithSAMLCommand({
      RoleArn: roleArn,
      PrincipalArn: providerArn,
      SAMLAssertion: base64(await samlResponse({}, foreignSigner)),
    })).catch((caught: unknown) => caught) as { name: string; $metadata: { httpStatusCode: number } };
    expect(error.name).toBe('InvalidIdentityTokenException');
    expect(error.$metadata.httpStatusCode).toBe(400);
  });
});
