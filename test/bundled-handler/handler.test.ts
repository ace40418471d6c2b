import { generateKeyPairSync } from 'node:crypto';
import { awsSessionNameFor } from '../../lambda/delegation/claims';
import { startOidcIssuer, type LocalOidcIssuer } from '../../local/oidc-issuer';
import { startKmsStub, startStsStub, type KmsStub, type StsStub } from '../support/aws-stubs';
import {
  ADMIN_ROLE_ARN,
  APP_ORIGIN,
  CLIENT_ID,
  ENTITY_ID,
  KMS_KEY_ARN,
  PROVIDER_ARN,
  RECIPIENT,
  ROLE_ARN,
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

const pemKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const kmsKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PEM = pemKeys.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const SUBJECT = 'auth0|5f7c8ec7c33c6c004bbafe82';
const SESSION_NAME = awsSessionNameFor(SUBJECT);
const NO_STORE = {
  'Cache-Control': 'no-store',
  'Pragma': 'no-cache',
  'Content-Type': 'application/json',
  'X-Content-Type-Options': 'nosniff',
};

let issuer: LocalOidcIssuer;
let sts: StsStub;
let kms: KmsStub;

beforeAll(async () => {
  issuer = await startOidcIssuer({ audience: CLIENT_ID, subject: SUBJECT });
  sts = await startStsStub();
  kms = await startKmsStub({ keyId: KMS_KEY_ARN, privateKey: kmsKeys.privateKey });
});

afterAll(async () => {
  await Promise.all([issuer.close(), sts.close(), kms.close()]);
});

beforeEach(() => {
  sts.reset();
  kms.reset();
});

function bearerEvent(token: string, body?: Record<string, unknown>, headers: Record<string, string> = {}) {
  return apiGatewayEvent({
    headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}), ...headers },
    body: body ? JSON.stringify(body) : undefined,
  });
}

function legacyJsonEvent(token: string, extra: Record<string, string> = {}) {
  return apiGatewayEvent({
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ client_id: CLIENT_ID, grant_type: GRANT_TYPE, id_token: token, target: CLIENT_ID, api_type: 'aws', ...extra }),
  });
}

function legacyFormEvent(token: string) {
  return apiGatewayEvent({
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: GRANT_TYPE, client_id: CLIENT_ID, target: CLIENT_ID, api_type: 'aws', id_token: token }).toString(),
  });
}

/** Runs one request and returns the response, its parsed body and its single log line. */
async function invoke(handler: DelegationHandler, event = bearerEvent(''), context = lambdaContext()) {
  const { result, output, lines } = await captureOutput(() => handler(event, context));
  expect(lines).toHaveLength(1);
  return { response: result, body: JSON.parse(result.body) as Record<string, any>, log: lines[0], output, context };
}

describe('with the PEM signer and no AWS credentials in the environment', () => {
  let restoreAws: () => void;
  let handler: DelegationHandler;

  beforeAll(() => {
    restoreAws = setEnvironment(awsTestEnvironment({ sts: sts.endpoint }));
    handler = loadBundledHandler(delegationEnvironment(issuer, { pem: PEM }));
  });
  afterAll(() => restoreAws());

  test('bearer form: 200 with the STS credentials in Auth0\'s shape after one unsigned STS call', async () => {
    const token = await issuer.sign();
    const { response, body, log, output, context } = await invoke(handler, bearerEvent(token));

    expect(response.statusCode).toBe(200);
    expect(response.headers).toEqual(NO_STORE);
    expect(sts.callCount).toBe(1);
    expect(kms.callCount).toBe(0);
    const call = sts.calls[0];
    expect(call.headers.authorization).toBeUndefined();
    expect(call.params).toMatchObject({ Action: 'AssumeRoleWithSAML', RoleArn: ROLE_ARN, PrincipalArn: PROVIDER_ARN, DurationSeconds: '3600' });

    expect(Object.keys(body).sort()).toEqual(['AssumedRoleUser', 'Audience', 'Credentials', 'Issuer', 'NameQualifier', 'SourceIdentity', 'Subject', 'SubjectType']);
    expect(body.Credentials).toEqual({
      AccessKeyId: call.issued!.accessKeyId,
      SecretAccessKey: call.issued!.secretAccessKey,
      SessionToken: call.issued!.sessionToken,
      Expiration: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
    expect(Date.parse(body.Credentials.Expiration) - Date.now()).toBeGreaterThan(3500_000);
    expect(body.AssumedRoleUser).toEqual({
      Arn: `arn:aws:sts::123456789012:assumed-role/TokenDelegationUserRole/${SESSION_NAME}`,
      AssumedRoleId: expect.stringMatching(new RegExp(`^AROA[A-Z0-9]+:${SESSION_NAME.replace(/[.+]/g, '\\$&')}$`)),
    });
    expect(body).toMatchObject({
      Subject: SUBJECT,
      SubjectType: 'persistent',
      Issuer: ENTITY_ID,
      Audience: RECIPIENT,
      SourceIdentity: SESSION_NAME,
    });

    // The assertion is signed by the configured key.
    expect(samlSignatureVerifies(call.samlResponseXml, pemKeys.publicKey)).toBe(true);
    expect(samlSignatureVerifies(call.samlResponseXml, kmsKeys.publicKey)).toBe(false);
    expect(call.samlResponseXml).toContain(`<saml:AttributeValue>${ROLE_ARN},${PROVIDER_ARN}</saml:AttributeValue>`);

    expect(log).toMatchObject({
      level: 'info',
      requestId: context.awsRequestId,
      apiRequestId: expect.stringMatching(/^api-/),
      form: 'bearer',
      issuer: issuer.issuer,
      subject: SUBJECT,
      roleArn: ROLE_ARN,
      outcome: 'issued',
      reason: 'issued',
      status: 200,
      durationMs: expect.any(Number),
      Outcome: 'issued',
      Requests: 1,
      _aws: { CloudWatchMetrics: [{ Namespace: 'TokenDelegationTest', Dimensions: [['Outcome']], Metrics: [{ Name: 'Requests', Unit: 'Count' }] }] },
    });
    const secrets = [token, call.issued!.secretAccessKey, call.issued!.sessionToken, call.issued!.accessKeyId, call.samlAssertion.slice(0, 40)];
    for (const secret of secrets) {
      expect(output).not.toContain(secret);
    }
  });

  test('Auth0 legacy JSON form naming an allowed role and our principal: 200 for that role', async () => {
    const token = await issuer.sign({ groups: ['admin'] });
    const { response } = await invoke(handler, legacyJsonEvent(token, { role: ADMIN_ROLE_ARN, principal: PROVIDER_ARN }));

    expect(response.statusCode).toBe(200);
    expect(sts.calls[0].roleArn).toBe(ADMIN_ROLE_ARN);
  });

  test('a shorter session asked for in the bearer body reaches STS as DurationSeconds', async () => {
    const token = await issuer.sign({ department: 'R+D @Lab' });
    const { response, body } = await invoke(handler, bearerEvent(token, { durationSeconds: 900 }));

    expect(response.statusCode).toBe(200);
    expect(sts.calls[0].params.DurationSeconds).toBe('900');
    expect(Date.parse(body.Credentials.Expiration) - Date.now()).toBeLessThan(900_000);
    expect(sts.calls[0].samlResponseXml).toContain('PrincipalTag:department" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri"><saml:AttributeValue>R+D @Lab</saml:AttributeValue>');
  });

  test('CORS: an allowed Origin is echoed with Vary, on success and on errors alike', async () => {
    const token = await issuer.sign();
    const ok = await invoke(handler, bearerEvent(token, undefined, { Origin: APP_ORIGIN }));
    expect(ok.response.headers).toEqual({ ...NO_STORE, 'Access-Control-Allow-Origin': APP_ORIGIN, 'Access-Control-Expose-Headers': 'Retry-After, WWW-Authenticate', 'Vary': 'Origin' });

    const refused = await invoke(handler, bearerEvent(`${token}x`, undefined, { origin: APP_ORIGIN }));
    expect(refused.response.statusCode).toBe(401);
    expect(refused.response.headers).toMatchObject({ 'Access-Control-Allow-Origin': APP_ORIGIN, 'WWW-Authenticate': 'Bearer error="invalid_token"' });
  });

  test.each(['https://evil.example.net', 'https://app.example.com.evil.net', 'http://app.example.com', 'null'])('CORS: Origin %s gets no CORS headers and is refused before anything is signed', async (origin) => {
    const token = await issuer.sign();
    const { response, body, log } = await invoke(handler, bearerEvent(token, undefined, { Origin: origin }));
    expect(response.statusCode).toBe(403);
    expect(body.error).toBe('access_denied');
    expect(log).toMatchObject({ reason: 'origin_not_allowed' });
    expect(response.headers).toEqual(NO_STORE);
    expect(sts.callCount).toBe(0);
  });

  test('CORS: requests without an Origin header (servers, mobile apps) are served', async () => {
    const { response } = await invoke(handler, bearerEvent(await issuer.sign()));
    expect(response.statusCode).toBe(200);
  });

  test('STS IDPRejectedClaim: 403 access_denied, one STS call, reason logged, STS message not passed on', async () => {
    sts.replyWith({ status: 400, code: 'IDPRejectedClaim', message: 'Token included in request contains invalid claims' });
    const { response, body, log } = await invoke(handler, bearerEvent(await issuer.sign()));

    expect(response.statusCode).toBe(403);
    expect(body).toEqual({ error: 'access_denied', error_description: 'AWS STS refused to issue credentials for this user and role' });
    expect(response.headers).toEqual(NO_STORE);
    expect(sts.callCount).toBe(1);
    expect(log).toMatchObject({ level: 'info', outcome: 'access_denied', reason: 'sts_IDPRejectedClaim', status: 403, Outcome: 'access_denied' });
  });

  test('STS 5xx: retried up to three calls in all, then 503 with Retry-After', async () => {
    sts.replyWith(...Array(5).fill({ status: 500, code: 'InternalFailure' }));
    const { response, body, log } = await invoke(handler, bearerEvent(await issuer.sign()));

    expect(response.statusCode).toBe(503);
    expect(body.error).toBe('temporarily_unavailable');
    expect(response.headers).toEqual({ ...NO_STORE, 'Retry-After': '2' });
    expect(sts.callCount).toBe(3);
    expect(log).toMatchObject({ level: 'warn', reason: 'sts_InternalFailure', status: 503 });
  });

  test('a slow STS is given up when the Lambda\'s time runs out, leaving time to answer 503', async () => {
    sts.replyWith({ delayMs: 5000 });
    const startedAt = Date.now();
    const { response, log } = await invoke(handler, bearerEvent(await issuer.sign()), lambdaContext(1100));

    expect(Date.now() - startedAt).toBeLessThan(1000);
    expect(response.statusCode).toBe(503);
    expect(log.reason).toBe('sts_timeout');
    expect(sts.callCount).toBe(1);
  });

  test('an unexpected failure answers a generic 500 and logs the error without the token', async () => {
    const token = await issuer.sign();
    const event = apiGatewayEvent({ headers: { Authorization: `Bearer ${token}` } });
    Object.defineProperty(event, 'httpMethod', { get: () => { throw new TypeError(`cannot read ${token}`); } });
    const { response, body, log, output } = await invoke(handler, event);

    expect(response.statusCode).toBe(500);
    expect(body).toEqual({ error: 'server_error', error_description: 'The delegation service failed unexpectedly' });
    expect(response.headers).toEqual(NO_STORE);
    expect(log).toMatchObject({ level: 'error', outcome: 'server_error', reason: 'unexpected_error', error: { name: 'TypeError', message: 'cannot read [redacted:jwt]' } });
    expect(output).not.toContain(token.split('.')[1]);
    expect(sts.callCount).toBe(0);
  });

  test('the warm path reuses the cached JWKS: many requests, one key fetch', async () => {
    const warm = loadBundledHandler(delegationEnvironment(issuer, { pem: PEM }));
    const fetchesBefore = issuer.jwksFetchCount;
    const token = await issuer.sign();
    for (let index = 0; index < 10; index++) {
      const { response } = await invoke(warm, bearerEvent(token));
      expect(response.statusCode).toBe(200);
    }
    expect(issuer.jwksFetchCount - fetchesBefore).toBe(1);
    expect(sts.callCount).toBe(10);
  });
});

describe('with the KMS signer', () => {
  let restoreAws: () => void;
  let handler: DelegationHandler;

  beforeAll(() => {
    restoreAws = setEnvironment(awsTestEnvironment({ sts: sts.endpoint, kms: kms.endpoint }, { accessKeyId: 'AKIDLOCALTESTONLY000', secretAccessKey: 'local-test-secret' }));
    handler = loadBundledHandler(delegationEnvironment(issuer, { kmsKeyArn: KMS_KEY_ARN }));
  });
  afterAll(() => restoreAws());

  test.each([
    ['bearer', bearerEvent],
    ['Auth0 legacy form-encoded', legacyFormEvent],
  ])('%s request: 200, one SigV4-signed kms:Sign of a SHA-256 digest, assertion verifies with the KMS key', async (_form, makeEvent) => {
    const { response, body, output } = await invoke(handler, makeEvent(await issuer.sign()));

    expect(response.statusCode).toBe(200);
    expect(body.Credentials.AccessKeyId).toBe(sts.calls[0].issued!.accessKeyId);
    expect(kms.callCount).toBe(1);
    expect(kms.calls[0]).toMatchObject({
      operation: 'Sign',
      signed: true,
      body: { KeyId: KMS_KEY_ARN, MessageType: 'DIGEST', SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256' },
    });
    expect(Buffer.from(String(kms.calls[0].body.Message), 'base64')).toHaveLength(32);
    expect(sts.callCount).toBe(1);
    expect(samlSignatureVerifies(sts.calls[0].samlResponseXml, kmsKeys.publicKey)).toBe(true);
    expect(output).not.toContain(body.Credentials.SecretAccessKey);
  });

  test('KMS throttling: three KMS calls, then 503 with Retry-After and no STS call', async () => {
    kms.replyWith(...Array(5).fill({ status: 400, code: 'ThrottlingException' }));
    const { response, body, log } = await invoke(handler, bearerEvent(await issuer.sign()));

    expect(response.statusCode).toBe(503);
    expect(body).toEqual({ error: 'temporarily_unavailable', error_description: 'The signing service is temporarily unavailable; retry later' });
    expect(response.headers).toEqual({ ...NO_STORE, 'Retry-After': '2' });
    expect(kms.callCount).toBe(3);
    expect(sts.callCount).toBe(0);
    expect(log).toMatchObject({ level: 'warn', reason: 'kms_Throttling', status: 503 });
  });

  test('KMS internal errors are retried, then 503', async () => {
    kms.replyWith(...Array(3).fill({ status: 500, code: 'KMSInternalException' }));
    const { response, log } = await invoke(handler, bearerEvent(await issuer.sign()));

    expect(response.statusCode).toBe(503);
    expect(kms.callCount).toBe(3);
    expect(log.reason).toBe('kms_KMSInternal');
  });

  test.each([
    ['AccessDeniedException', 'kms_AccessDenied'],
    ['KMSInvalidStateException', 'kms_KMSInvalidState'],
    ['DisabledException', 'kms_Disabled'],
    ['NotFoundException', 'kms_NotFound'],
  ])('KMS %s (the operator\'s to fix): 503 with a long Retry-After, one KMS call, no STS call, never 500', async (code, reason) => {
    kms.replyWith({ status: 400, code, message: `arn detail for ${code}` });
    const { response, body, log } = await invoke(handler, bearerEvent(await issuer.sign()));

    expect(response.statusCode).toBe(503);
    expect(body.error).toBe('temporarily_unavailable');
    expect(JSON.stringify(body)).not.toContain('arn detail');
    expect(response.headers!['Retry-After']).toBe('30');
    expect(kms.callCount).toBe(1);
    expect(sts.callCount).toBe(0);
    expect(log.reason).toBe(reason);
  });

  test('a KMS signature that does not arrive within the time budget is given up with 503', async () => {
    kms.replyWith({ delayMs: 5000 });
    const startedAt = Date.now();
    const { response, log } = await invoke(handler, bearerEvent(await issuer.sign()), lambdaContext(1100));

    expect(Date.now() - startedAt).toBeLessThan(1000);
    expect(response.statusCode).toBe(503);
    expect(log.reason).toBe('kms_timeout');
    expect(sts.callCount).toBe(0);
  });
});

describe('cold start', () => {
  let restoreAws: () => void;

  beforeAll(() => {
    restoreAws = setEnvironment(awsTestEnvironment({ sts: sts.endpoint }));
  });
  afterAll(() => restoreAws());

  interface ColdStartFailure {
    readonly message: string;
    readonly output: string;
    readonly lines: Array<Record<string, any>>;
  }

  async function coldStartFailure(overrides: Record<string, string | undefined>): Promise<ColdStartFailure> {
    let message = '';
    const { output, lines } = await captureOutput(async () => {
      try {
        loadBundledHandler(delegationEnvironment(issuer, { pem: PEM }, overrides));
      } catch (error) {
        message = (error as Error).message;
      }
    });
    return { message, output, lines };
  }

  test.each([
    ['a missing DELEGATION_ISSUERS', { DELEGATION_ISSUERS: undefined }, 'DELEGATION_ISSUERS: is required'],
    ['an issuer without https', { DELEGATION_ISSUERS: JSON.stringify([{ issuer: 'http://idp.example.com/', jwksUri: 'https://idp.example.com/jwks', audiences: ['a'], algorithms: ['RS256'], subjectClaim: 'sub', namespace: '', maxTokenAgeSeconds: 60, clockToleranceSeconds: 0 }]) }, 'DELEGATION_ISSUERS[0].issuer: must be an https URL'],
    ['a role list that is not JSON', { DELEGATION_ROLES: '{roles' }, 'DELEGATION_ROLES: is not valid JSON'],
    ['an allowed origin with a wildcard', { DELEGATION_ALLOWED_ORIGINS: '["*"]' }, 'DELEGATION_ALLOWED_ORIGINS[0]: must be an exact origin'],
    ['a missing AWS_REGION', { AWS_REGION: undefined }, 'AWS_REGION: is required'],
  ])('%s fails the cold start with a clear message, logged as one JSON line', async (_name, overrides, expected) => {
    const { message, lines } = await coldStartFailure(overrides);

    expect(message).toContain(expected);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'error', message: 'delegation handler cannot start', error: { message: expect.stringContaining(expected) } });
  });

  test('a too small PEM key fails the cold start without any key material in the message or log', async () => {
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const { message, output } = await coldStartFailure({ DELEGATION_SIGNING_KEY_PEM: weak });

    expect(message).toBe('DELEGATION_SIGNING_KEY_PEM: is not a key the PEM signer can open: Signing key must be RSA of at least 2048 bits, got 1024');
    const keyBody = weak.split('\n')[1];
    expect(output).not.toContain(keyBody);
    expect(message).not.toContain(keyBody);
  });
});
