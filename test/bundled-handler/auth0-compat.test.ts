import { generateKeyPairSync } from 'node:crypto';
import { startOidcIssuer, type LocalOidcIssuer } from '../../local/oidc-issuer';
import { startStsStub, type StsStub } from '../support/aws-stubs';
import {
  APP_ORIGIN,
  CLIENT_ID,
  ENTITY_ID,
  PROVIDER_ARN,
  RECIPIENT,
  ROLE_ARN,
  apiGatewayEvent,
  awsTestEnvironment,
  captureOutput,
  delegationEnvironment,
  lambdaContext,
  loadBundledHandler,
  setEnvironment,
  type DelegationHandler,
} from '../support/handler-harness';

/**
 * Clients written for Auth0's `/delegation` keep working: a request built exactly as auth0.js v7
 * `getDelegationToken` builds it gets the credentials back in the shape Auth0 returned.
 *
 * auth0.js v7 (`Auth0.prototype.getDelegationToken`) merges `{ grant_type, client_id, target, api_type }`
 * with the caller's options (`xtend`), deletes `api`, `targetClientId` and `hasOwnProperty`, and posts the
 * result with reqwest `{ method: 'post', type: 'json', data: query, crossOrigin: true }`. reqwest sends an
 * object as `application/x-www-form-urlencoded` (its `toQueryString`: encodeURIComponent, `%20` as `+`)
 * and asks for `application/json, text/javascript`; the browser adds `Origin` to the cross-origin request.
 */

const pemKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PEM = pemKeys.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();

/** reqwest's `toQueryString` for a flat object. */
function reqwestQueryString(data: Record<string, string>): string {
  return Object.entries(data)
    .map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`)
    .join('&')
    .replace(/%20/g, '+');
}

/** The body auth0.js v7 `getDelegationToken(options)` posts, key order included. */
function auth0jsV7DelegationQuery(clientID: string, options: Record<string, string>): Record<string, string> {
  const query: Record<string, string | undefined> = {
    grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
    client_id: clientID,
    target: options.targetClientId ?? clientID,
    api_type: options.api,
    ...options,
  };
  for (const name of ['hasOwnProperty', 'targetClientId', 'api']) {
    Reflect.deleteProperty(query, name);
  }
  return Object.fromEntries(Object.entries(query).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

let issuer: LocalOidcIssuer;
let sts: StsStub;
let handler: DelegationHandler;
let restoreAws: () => void;

beforeAll(async () => {
  issuer = await startOidcIssuer({ audience: CLIENT_ID, issuerPath: '/', subject: 'google-oauth2|113015401123457192604' });
  sts = await startStsStub();
  restoreAws = setEnvironment(awsTestEnvironment({ sts: sts.endpoint }));
  handler = loadBundledHandler(delegationEnvironment(issuer, { pem: PEM }));
});

afterAll(async () => {
  restoreAws();
  await Promise.all([issuer.close(), sts.close()]);
});

beforeEach(() => sts.reset());

test('the auth0.js v7 query has the fields and order of the library', () => {
  const query = auth0jsV7DelegationQuery(CLIENT_ID, { id_token: 'T', api: 'aws', role: ROLE_ARN, principal: PROVIDER_ARN });
  expect(Object.keys(query)).toEqual(['grant_type', 'client_id', 'target', 'api_type', 'id_token', 'role', 'principal']);
  expect(reqwestQueryString(query)).toBe(
    'grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&client_id=local-client&target=local-client&api_type=aws&id_token=T'
    + `&role=${encodeURIComponent(ROLE_ARN)}&principal=${encodeURIComponent(PROVIDER_ARN)}`,
  );
});

test('getDelegationToken({ id_token, api: "aws", role, principal }) as auth0.js v7 posts it gets Auth0\'s response shape', async () => {
  const idToken = await issuer.sign();
  const body = reqwestQueryString(auth0jsV7DelegationQuery(CLIENT_ID, { id_token: idToken, api: 'aws', role: ROLE_ARN, principal: PROVIDER_ARN }));
  const event = apiGatewayEvent({
    headers: {
      'Accept': 'application/json, text/javascript',
      'Content-Type': 'application/x-www-form-urlencoded',
      'Origin': APP_ORIGIN,
      'Referer': `${APP_ORIGIN}/`,
    },
    body,
  });

  const { result: response } = await captureOutput(() => handler(event, lambdaContext()));

  expect(response.statusCode).toBe(200);
  expect(response.headers).toMatchObject({ 'Content-Type': 'application/json', 'Cache-Control': 'no-store', 'Access-Control-Allow-Origin': APP_ORIGIN });
  // reqwest with type 'json' parses the body; the app then reads delegationResult.Credentials.
  const delegationResult = JSON.parse(response.body);
  const issued = sts.calls[0].issued!;
  expect(delegationResult).toEqual({
    Credentials: {
      AccessKeyId: issued.accessKeyId,
      SecretAccessKey: issued.secretAccessKey,
      SessionToken: issued.sessionToken,
      Expiration: expect.any(String),
    },
    AssumedRoleUser: {
      AssumedRoleId: expect.stringMatching(/^AROA[A-Z0-9]+:google-oauth2_113015401123457192604/),
      Arn: expect.stringMatching(/^arn:aws:sts::123456789012:assumed-role\/TokenDelegationUserRole\/google-oauth2_113015401123457192604/),
    },
    Subject: 'google-oauth2|113015401123457192604',
    SubjectType: 'persistent',
    Issuer: ENTITY_ID,
    Audience: RECIPIENT,
    NameQualifier: expect.stringMatching(/^[A-Za-z0-9+/]{27}=$/),
    SourceIdentity: expect.stringMatching(/^google-oauth2_113015401123457192604/),
  });
  // Auth0 sent Expiration as an ISO 8601 string that `new Date` reads.
  expect(delegationResult.Credentials.Expiration).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  expect(new Date(delegationResult.Credentials.Expiration).getTime()).toBeGreaterThan(Date.now());
  expect(sts.calls[0]).toMatchObject({ roleArn: ROLE_ARN, principalArn: PROVIDER_ARN });
});

test('the JSON request of Auth0\'s /delegation documentation (no role or principal) gets the default role', async () => {
  const idToken = await issuer.sign();
  const event = apiGatewayEvent({
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ client_id: CLIENT_ID, grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', id_token: idToken, target: CLIENT_ID, api_type: 'aws' }),
  });

  const { result: response } = await captureOutput(() => handler(event, lambdaContext()));

  expect(response.statusCode).toBe(200);
  expect(JSON.parse(response.body).Credentials.SessionToken).toBe(sts.calls[0].issued!.sessionToken);
  expect(sts.calls[0].roleArn).toBe(ROLE_ARN);
});

test('an error reaches auth0.js in the OAuth shape its LoginError reads (error, error_description)', async () => {
  const idToken = await issuer.sign({ aud: 'another-client' });
  const body = reqwestQueryString(auth0jsV7DelegationQuery(CLIENT_ID, { id_token: idToken, api: 'aws' }));
  const event = apiGatewayEvent({ headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Origin': APP_ORIGIN }, body });

  const { result: response } = await captureOutput(() => handler(event, lambdaContext()));

  expect(response.statusCode).toBe(401);
  expect(response.headers).toMatchObject({ 'Access-Control-Allow-Origin': APP_ORIGIN });
  expect(JSON.parse(response.body)).toEqual({ error: 'invalid_token', error_description: expect.any(String) });
  expect(sts.callCount).toBe(0);
});
