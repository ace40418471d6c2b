import { createPublicKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { buildSelfSignedCertificate } from '../../lambda/certificate/certificate';
import { PemSigner } from '../../lambda/shared/pem-signer';
import { startOidcIssuer, type LocalOidcIssuer } from '../../local/oidc-issuer';
import { MAX_ID_TOKEN_CHARS } from '../../src/contract/delegation-environment';
import { startStsStub, type StsStub } from '../support/aws-stubs';
import {
  CLIENT_ID,
  apiGatewayEvent,
  awsTestEnvironment,
  captureOutput,
  delegationEnvironment,
  lambdaContext,
  loadBundledHandler,
  samlSignatureVerifies,
  setEnvironment,
  type DelegationHandler,
} from '../support/handler-harness';

/** The bundled handler on what a first real deployment sends it: large tokens, operator errors, KeyInfo, other partitions. */

const signingKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PEM = signingKeys.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

let issuer: LocalOidcIssuer;
let sts: StsStub;
let restoreAws: () => void;
let certificateBase64: string;

beforeAll(async () => {
  issuer = await startOidcIssuer({ audience: CLIENT_ID, subject: 'user-1' });
  sts = await startStsStub();
  restoreAws = setEnvironment(awsTestEnvironment({ sts: sts.endpoint }));
  const certificate = await buildSelfSignedCertificate({
    subjectPublicKeyInfoDer: new Uint8Array(createPublicKey(PEM).export({ type: 'spki', format: 'der' })),
    commonName: 'cdk-token-delegation SAML signing',
    signer: new PemSigner(PEM),
  });
  certificateBase64 = Buffer.from(certificate.der).toString('base64');
});

afterAll(async () => {
  restoreAws();
  await Promise.all([issuer.close(), sts.close()]);
});

beforeEach(() => sts.reset());

async function invoke(handler: DelegationHandler, event: ReturnType<typeof apiGatewayEvent>) {
  const { result, lines } = await captureOutput(() => handler(event, lambdaContext()));
  expect(lines).toHaveLength(1);
  return { response: result, body: JSON.parse(result.body) as Record<string, any>, log: lines[0] };
}

/** An id token of about `chars` characters: a groups claim as Entra ID and Cognito send for users in many groups. */
async function largeToken(chars: number): Promise<string> {
  const base = await issuer.sign();
  const groups = Array.from({ length: Math.ceil((chars - base.length) * 0.75 / 34) }, (_, index) => `group-${String(index).padStart(4, '0')}-0123456789abcdef0123`);
  const token = await issuer.sign({ groups });
  expect(token.length).toBeGreaterThan(chars * 0.95);
  expect(token.length).toBeLessThanOrEqual(MAX_ID_TOKEN_CHARS);
  return token;
}

describe('one token size limit for every way a token arrives', () => {
  let handler: DelegationHandler;
  beforeAll(() => {
    handler = loadBundledHandler(delegationEnvironment(issuer, { pem: PEM }));
  });

  test.each([
    ['the Auth0 JSON body', (token: string) => apiGatewayEvent({
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ client_id: CLIENT_ID, grant_type: GRANT_TYPE, id_token: token, target: CLIENT_ID, api_type: 'aws' }),
    })],
    ['the Auth0 form body', (token: string) => apiGatewayEvent({
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: CLIENT_ID, grant_type: GRANT_TYPE, id_token: token, target: CLIENT_ID, api_type: 'aws' }).toString(),
    })],
    ['the Bearer header', (token: string) => apiGatewayEvent({ headers: { Authorization: `Bearer ${token}` } })],
  ])('a 6 KB id token in %s is accepted', async (_form, eventFor) => {
    const { response, log } = await invoke(handler, eventFor(await largeToken(6 * 1024)));
    expect(log.reason).toBe('issued');
    expect(response.statusCode).toBe(200);
  });

  test('one character over the limit is refused in the Auth0 body as in the header', async () => {
    const oversized = `${'a'.repeat(MAX_ID_TOKEN_CHARS - 100)}.${'b'.repeat(50)}.${'c'.repeat(49)}`;
    expect(oversized.length).toBe(MAX_ID_TOKEN_CHARS + 1);
    const inBody = await invoke(handler, apiGatewayEvent({
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ client_id: CLIENT_ID, grant_type: GRANT_TYPE, id_token: oversized, target: CLIENT_ID, api_type: 'aws' }),
    }));
    const inHeader = await invoke(handler, apiGatewayEvent({ headers: { Authorization: `Bearer ${oversized}` } }));
    for (const { response, log } of [inBody, inHeader]) {
      expect(response.statusCode).toBe(400);
      expect(log.reason).toBe('token_too_large');
    }
  });
});

describe('an STS ValidationError is the operator\'s configuration error', () => {
  test('answered 500 server_error (not 403 access_denied), with what STS said in the log only', async () => {
    const handler = loadBundledHandler(delegationEnvironment(issuer, { pem: PEM }));
    sts.replyWith({ status: 400, code: 'ValidationError', message: 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.' });
    const { response, body, log } = await invoke(handler, apiGatewayEvent({ headers: { Authorization: `Bearer ${await issuer.sign()}` } }));

    expect(response.statusCode).toBe(500);
    expect(body).toEqual({ error: 'server_error', error_description: 'The delegation service is misconfigured; see its logs' });
    expect(response.headers?.['Retry-After']).toBeUndefined();
    expect(log).toMatchObject({ level: 'error', outcome: 'server_error', reason: 'sts_ValidationError_configuration', status: 500 });
    expect(JSON.stringify(log.error)).toContain('exceeds the MaxSessionDuration');
    expect(JSON.stringify(body)).not.toContain('MaxSessionDuration');
  });

  test('a refusal of the user (IDPRejectedClaim) stays 403 access_denied', async () => {
    const handler = loadBundledHandler(delegationEnvironment(issuer, { pem: PEM }));
    sts.replyWith({ status: 403, code: 'IDPRejectedClaim', message: 'no' });
    const { response, log } = await invoke(handler, apiGatewayEvent({ headers: { Authorization: `Bearer ${await issuer.sign()}` } }));
    expect(response.statusCode).toBe(403);
    expect(log.reason).toBe('sts_IDPRejectedClaim');
  });
});

describe('ds:KeyInfo carries the signing certificate', () => {
  test('with DELEGATION_SIGNING_CERTIFICATE every signature holds it, in canonical form, and still verifies with the key', async () => {
    const handler = loadBundledHandler(delegationEnvironment(issuer, { pem: PEM }, { DELEGATION_SIGNING_CERTIFICATE: certificateBase64 }));
    const { response } = await invoke(handler, apiGatewayEvent({ headers: { Authorization: `Bearer ${await issuer.sign()}` } }));
    expect(response.statusCode).toBe(200);
    const xml = sts.calls[0].samlResponseXml;
    expect(xml).toContain(`</ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${certificateBase64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>`);
    expect(samlSignatureVerifies(xml, signingKeys.publicKey)).toBe(true);
    expect(new X509Certificate(Buffer.from(certificateBase64, 'base64')).publicKey.export({ type: 'spki', format: 'der' }))
      .toEqual(signingKeys.publicKey.export({ type: 'spki', format: 'der' }));
  });

  test('without it there is no KeyInfo', async () => {
    const handler = loadBundledHandler(delegationEnvironment(issuer, { pem: PEM }));
    await invoke(handler, apiGatewayEvent({ headers: { Authorization: `Bearer ${await issuer.sign()}` } }));
    expect(sts.calls[0].samlResponseXml).not.toContain('KeyInfo');
  });

  test.each([
    ['PEM armour', '-----BEGIN CERTIFICATE-----'],
    ['not DER', Buffer.from('not a certificate at all, just text that is long enough to pass the length check......').toString('base64')],
  ])('a certificate with %s fails the cold start', async (_name, value) => {
    let message = '';
    await captureOutput(async () => {
      try {
        loadBundledHandler(delegationEnvironment(issuer, { pem: PEM }, { DELEGATION_SIGNING_CERTIFICATE: value }));
      } catch (error) {
        message = (error as Error).message;
      }
    });
    expect(message).toMatch(/^DELEGATION_SIGNING_CERTIFICATE: /);
  });
});

describe('the Audience follows the Recipient\'s partition', () => {
  test.each([
    ['https://signin.amazonaws.cn/saml', 'urn:amazon:webservices:cn-north-1'],
    ['https://cn-northwest-1.signin.amazonaws.cn/saml', 'urn:amazon:webservices:cn-north-1'],
    ['https://signin.amazonaws-us-gov.com/saml', 'urn:amazon:webservices:govcloud'],
    ['https://eu-west-1.signin.aws.amazon.com/saml', 'urn:amazon:webservices'],
  ])('Recipient %s: Audience %s and the Recipient', async (recipient, audience) => {
    const handler = loadBundledHandler(delegationEnvironment(issuer, { pem: PEM }, { DELEGATION_SAML_RECIPIENT: recipient }));
    await invoke(handler, apiGatewayEvent({ headers: { Authorization: `Bearer ${await issuer.sign()}` } }));
    const xml = sts.calls[0].samlResponseXml;
    expect(xml).toContain(`<saml:AudienceRestriction><saml:Audience>${audience}</saml:Audience><saml:Audience>${recipient}</saml:Audience></saml:AudienceRestriction>`);
    expect(xml).toContain(`Recipient="${recipient}"`);
  });
});
