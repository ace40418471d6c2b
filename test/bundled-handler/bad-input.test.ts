import { generateKeyPairSync } from 'node:crypto';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { exportJWK } from 'jose';
import { generateForeignKey, startOidcIssuer, type JwksFault, type LocalOidcIssuer } from '../../local/oidc-issuer';
import { startKmsStub, startStsStub, type KmsStub, type StsStub } from '../support/aws-stubs';
import {
  ADMIN_ROLE_ARN,
  APP_ORIGIN,
  CLIENT_ID,
  KMS_KEY_ARN,
  PROVIDER_ARN,
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
 * Every class of bad input of SECURITY.md against the bundled handler: each case must be refused with the
 * expected status and error code before any KMS signature or STS call, and leave no token in the logs.
 */

const GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** eduPersonAffiliation from the claim `affiliation`, so that mapped attribute values reach the checks. */
const SAML_ATTRIBUTES = JSON.stringify([{ name: 'urn:oid:1.3.6.1.4.1.5923.1.1.1.1', claim: 'affiliation', required: false }]);
const kmsKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });

let issuer: LocalOidcIssuer;
let sts: StsStub;
let kms: KmsStub;
let handler: DelegationHandler;
let restoreAws: () => void;

/** What a case sends: the event, and the token inside it (which must never reach a log). */
interface Attempt {
  readonly event: APIGatewayProxyEvent;
  readonly token?: string;
}

interface BadInput {
  readonly name: string;
  readonly attempt: () => Promise<Attempt>;
  readonly status: number;
  readonly error: string;
  /** The reason logged for the refusal, so a case cannot pass by failing for some other reason. */
  readonly reason: string;
  /** Run against a freshly started handler (empty JWKS cache) while the issuer's JWKS misbehaves so. */
  readonly jwksFault?: JwksFault;
}

function legacyBody(token: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ client_id: CLIENT_ID, grant_type: GRANT_TYPE, id_token: token, target: CLIENT_ID, api_type: 'aws', ...extra });
}

function legacy(token: string, extra: Record<string, unknown> = {}): Attempt {
  return { event: apiGatewayEvent({ headers: { 'Content-Type': 'application/json' }, body: legacyBody(token, extra) }), token };
}

function bearer(token: string, body?: Record<string, unknown>): Attempt {
  return {
    event: apiGatewayEvent({
      headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    }),
    token,
  };
}

const goodToken = () => issuer.sign();
const withClaims = (claims: Record<string, unknown>) => () => issuer.sign(claims).then((token) => bearer(token));
const nowSeconds = () => Math.floor(Date.now() / 1000);
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

const MALFORMED: BadInput[] = [
  { name: 'GET instead of POST', attempt: async () => { const token = await goodToken(); return { event: apiGatewayEvent({ method: 'GET', headers: { Authorization: `Bearer ${token}` } }), token }; }, status: 405, error: 'invalid_request', reason: 'method_not_allowed' },
  { name: 'text/plain content type', attempt: async () => { const token = await goodToken(); return { event: apiGatewayEvent({ headers: { 'Content-Type': 'text/plain' }, body: legacyBody(token) }), token }; }, status: 415, error: 'invalid_request', reason: 'content_type' },
  { name: 'no content type', attempt: async () => { const token = await goodToken(); return { event: apiGatewayEvent({ body: legacyBody(token) }), token }; }, status: 415, error: 'invalid_request', reason: 'content_type' },
  { name: 'oversized body', attempt: async () => { const token = await goodToken(); return { event: apiGatewayEvent({ headers: { 'Content-Type': 'application/json' }, body: legacyBody(token, { scope: 'x'.repeat(20_000) }) }), token }; }, status: 413, error: 'invalid_request', reason: 'body_too_large' },
  { name: 'missing id_token', attempt: async () => ({ event: apiGatewayEvent({ headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ client_id: CLIENT_ID, grant_type: GRANT_TYPE, target: CLIENT_ID, api_type: 'aws' }) }) }), status: 400, error: 'invalid_request', reason: 'missing_token' },
  { name: 'empty body and no Authorization', attempt: async () => ({ event: apiGatewayEvent({ headers: { 'Content-Type': 'application/json' } }) }), status: 400, error: 'invalid_request', reason: 'missing_token' },
  {
    name: 'id_token twice in JSON',
    attempt: async () => {
      const token = await goodToken();
      const body = `{"client_id":"${CLIENT_ID}","grant_type":"${GRANT_TYPE}","id_token":"${await issuer.sign({ sub: 'victim' })}","id_token":"${token}","target":"${CLIENT_ID}","api_type":"aws"}`;
      return { event: apiGatewayEvent({ headers: { 'Content-Type': 'application/json' }, body }), token };
    },
    status: 400,
    error: 'invalid_request',
    reason: 'duplicate_field',
  },
  {
    name: 'id_token twice in a form body',
    attempt: async () => {
      const token = await goodToken();
      const body = `grant_type=${encodeURIComponent(GRANT_TYPE)}&client_id=${CLIENT_ID}&target=${CLIENT_ID}&api_type=aws&id_token=${token}&id_token=${token}`;
      return { event: apiGatewayEvent({ headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body }), token };
    },
    status: 400,
    error: 'invalid_request',
    reason: 'duplicate_field',
  },
  { name: 'token in the query string', attempt: async () => { const token = await goodToken(); return { event: apiGatewayEvent({ query: { id_token: token }, headers: { 'Content-Type': 'application/json' }, body: legacyBody(token) }), token }; }, status: 400, error: 'invalid_request', reason: 'query_string' },
  { name: 'unknown grant_type', attempt: async () => legacy(await goodToken(), { grant_type: 'password' }), status: 400, error: 'unsupported_grant_type', reason: 'grant_type' },
  { name: 'unknown api_type', attempt: async () => legacy(await goodToken(), { api_type: 'firebase' }), status: 400, error: 'invalid_request', reason: 'api_type' },
  { name: 'unknown body field', attempt: async () => legacy(await goodToken(), { refresh_token: 'x' }), status: 400, error: 'invalid_request', reason: 'unknown_field' },
  {
    name: 'token in the Authorization header and the body',
    attempt: async () => {
      const token = await goodToken();
      return { event: apiGatewayEvent({ headers: { 'Authorization': `Bearer ${token}`, 'Content-Type': 'application/json' }, body: legacyBody(token) }), token };
    },
    status: 400,
    error: 'invalid_request',
    reason: 'token_twice',
  },
  { name: 'Basic instead of Bearer', attempt: async () => { const token = await goodToken(); return { event: apiGatewayEvent({ headers: { Authorization: `Basic ${token}` } }), token }; }, status: 400, error: 'invalid_request', reason: 'authorization_scheme' },
  { name: 'two Authorization headers', attempt: async () => { const token = await goodToken(); return { event: apiGatewayEvent({ headers: { Authorization: [`Bearer ${token}`, `Bearer ${token}`] } }), token }; }, status: 400, error: 'invalid_request', reason: 'duplicate_header' },
  { name: 'a body that is not UTF-8', attempt: async () => ({ event: apiGatewayEvent({ headers: { 'Content-Type': 'application/json' }, body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString('base64'), isBase64Encoded: true }) }), status: 400, error: 'invalid_request', reason: 'body_encoding' },
];

const JWS_ATTACKS: BadInput[] = [
  { name: 'alg none', attempt: async () => bearer(issuer.unsignedToken({}, 'none')), status: 401, error: 'invalid_token', reason: 'jwt_alg' },
  { name: 'alg None', attempt: async () => bearer(issuer.unsignedToken({}, 'None')), status: 401, error: 'invalid_token', reason: 'jwt_alg' },
  { name: 'alg NONE with a signature', attempt: async () => bearer(issuer.unsignedToken({}, 'NONE', 'c2lnbmF0dXJl')), status: 401, error: 'invalid_token', reason: 'jwt_alg' },
  { name: 'HS256 keyed with the issuer\'s public key', attempt: async () => bearer(await issuer.signHmacWithPublicKey()), status: 401, error: 'invalid_token', reason: 'jwt_alg' },
  { name: 'ES256 (served by the issuer, not allowed)', attempt: async () => bearer(await issuer.sign({}, { keyIndex: 1 })), status: 401, error: 'invalid_token', reason: 'jwt_alg' },
  {
    name: 'embedded jwk header with the attacker\'s key',
    attempt: async () => {
      const key = await generateForeignKey();
      const jwk = await exportJWK(key);
      return bearer(await issuer.sign({}, { key, kid: null, header: { jwk: { kty: jwk.kty, n: jwk.n, e: jwk.e } } }));
    },
    status: 401,
    error: 'invalid_token',
    reason: 'jwt_signature',
  },
  { name: 'jku header pointing elsewhere', attempt: async () => bearer(await issuer.sign({}, { key: await generateForeignKey(), header: { jku: 'http://127.0.0.1:9/jwks.json' } })), status: 401, error: 'invalid_token', reason: 'jwt_signature' },
  { name: 'x5u header pointing elsewhere', attempt: async () => bearer(await issuer.sign({}, { key: await generateForeignKey(), header: { x5u: 'http://127.0.0.1:9/cert.pem' } })), status: 401, error: 'invalid_token', reason: 'jwt_signature' },
  { name: 'attacker key with the issuer\'s kid', attempt: async () => bearer(await issuer.sign({}, { key: await generateForeignKey() })), status: 401, error: 'invalid_token', reason: 'jwt_signature' },
  { name: 'path-traversal kid', attempt: async () => bearer(await issuer.sign({}, { key: await generateForeignKey(), kid: '../../../../etc/passwd' })), status: 401, error: 'invalid_token', reason: 'jwt_kid' },
  {
    name: 'payload altered after signing',
    attempt: async () => {
      const [header, , signature] = (await goodToken()).split('.');
      return bearer(`${header}.${b64(issuer.claims({ sub: 'someone-else' }))}.${signature}`);
    },
    status: 401,
    error: 'invalid_token',
    reason: 'jwt_signature',
  },
  { name: 'JWE (five segments)', attempt: async () => bearer(`${b64({ alg: 'RSA-OAEP', enc: 'A256GCM' })}.a2V5.aXY.Y2lwaGVy.dGFn`), status: 400, error: 'invalid_request', reason: 'token_format' },
  {
    name: 'JSON-serialized JWS',
    attempt: async () => {
      const [header, payload, signature] = (await goodToken()).split('.');
      return legacy(JSON.stringify({ payload, protected: header, signature }));
    },
    status: 400,
    error: 'invalid_request',
    reason: 'token_format',
  },
  { name: 'signature segment stripped', attempt: async () => bearer((await goodToken()).split('.').slice(0, 2).join('.')), status: 400, error: 'invalid_request', reason: 'token_format' },
  { name: 'an extra segment', attempt: async () => bearer(`${await goodToken()}.extra`), status: 400, error: 'invalid_request', reason: 'token_format' },
];

const CLAIMS: BadInput[] = [
  { name: 'a foreign issuer', attempt: withClaims({ iss: 'https://evil.example.com/' }), status: 401, error: 'invalid_token', reason: 'jwt_issuer' },
  { name: 'a look-alike issuer (trailing slash)', attempt: () => issuer.sign({ iss: `${issuer.issuer}/` }).then((token) => bearer(token)), status: 401, error: 'invalid_token', reason: 'jwt_issuer' },
  { name: 'a foreign audience', attempt: withClaims({ aud: 'another-client' }), status: 401, error: 'invalid_token', reason: 'jwt_audience' },
  { name: 'several audiences without azp', attempt: withClaims({ aud: [CLIENT_ID, 'another-client'] }), status: 401, error: 'invalid_token', reason: 'jwt_azp' },
  { name: 'an azp that is not ours', attempt: withClaims({ aud: [CLIENT_ID, 'another-client'], azp: 'another-client' }), status: 401, error: 'invalid_token', reason: 'jwt_azp' },
  { name: 'no exp', attempt: withClaims({ exp: undefined }), status: 401, error: 'invalid_token', reason: 'jwt_claim_missing' },
  { name: 'expired', attempt: () => issuer.sign({ iat: nowSeconds() - 600, exp: nowSeconds() - 300 }).then((token) => bearer(token)), status: 401, error: 'invalid_token', reason: 'jwt_expired' },
  { name: 'not valid yet (nbf)', attempt: () => issuer.sign({ nbf: nowSeconds() + 600 }).then((token) => bearer(token)), status: 401, error: 'invalid_token', reason: 'jwt_not_yet_valid' },
  { name: 'issued too long ago', attempt: () => issuer.sign({ iat: nowSeconds() - 7200, exp: nowSeconds() + 600 }).then((token) => bearer(token)), status: 401, error: 'invalid_token', reason: 'jwt_too_old' },
  { name: 'no iat', attempt: withClaims({ iat: undefined }), status: 401, error: 'invalid_token', reason: 'jwt_claim_missing' },
  { name: 'iat of the wrong type', attempt: () => issuer.sign({ iat: String(nowSeconds()) }).then((token) => bearer(token)), status: 401, error: 'invalid_token', reason: 'jwt_claim_invalid' },
  { name: 'an access token (typ at+jwt)', attempt: () => issuer.sign({}, { header: { typ: 'at+jwt' } }).then((token) => bearer(token)), status: 401, error: 'invalid_token', reason: 'jwt_typ' },
  { name: 'no sub', attempt: withClaims({ sub: undefined }), status: 401, error: 'invalid_token', reason: 'jwt_claim_missing' },
  { name: 'a client_id that is not an audience of the token', attempt: async () => legacy(await goodToken(), { client_id: 'another-client' }), status: 400, error: 'invalid_request', reason: 'client_id_mismatch' },
];

const SUBJECTS: BadInput[] = [
  ...[
    ['a slash', 'alice/../bob'],
    ['a wildcard', 'alice*'],
    ['a question mark', 'alic?'],
    ['a policy variable', '${aws:username}'],
    ['whitespace', 'alice bob'],
    ['XML markup', '<alice>'],
    ['an XML entity', 'alice&amp;'],
    ['a colon (namespace collision)', 'other:alice'],
    ['a control character', 'alice\u0000'],
    ['the parent directory', '..'],
    ['more than 128 characters', 'a'.repeat(129)],
  ].map(([what, sub]): BadInput => ({ name: `a subject with ${what}`, attempt: withClaims({ sub }), status: 403, error: 'access_denied', reason: 'subject_charset' })),
  { name: 'a numeric subject', attempt: withClaims({ sub: 12345 }), status: 403, error: 'access_denied', reason: 'subject_missing' },
  { name: 'a session tag value with a pipe', attempt: withClaims({ department: 'sales|admin' }), status: 403, error: 'access_denied', reason: 'tag_invalid' },
  { name: 'a session tag value over 256 characters', attempt: withClaims({ department: 'd'.repeat(257) }), status: 403, error: 'access_denied', reason: 'tag_invalid' },
  { name: 'a session tag value that is an object', attempt: withClaims({ department: { name: 'sales' } }), status: 403, error: 'access_denied', reason: 'tag_invalid' },
  { name: 'a session tag value with XML markup', attempt: withClaims({ department: '</saml:AttributeValue><saml:AttributeValue>admin' }), status: 403, error: 'access_denied', reason: 'tag_invalid' },
  { name: 'a session tag value with U+FFFE', attempt: withClaims({ department: 'sales\uFFFE' }), status: 403, error: 'access_denied', reason: 'tag_invalid' },
  { name: 'a session tag value with a lone surrogate', attempt: withClaims({ department: 'sales\uD800' }), status: 403, error: 'access_denied', reason: 'tag_invalid' },
  // Outside XML's characters, though within the attribute rules (no control character, 1..256 characters).
  ...[
    ['U+FFFE', 'staff\uFFFE'],
    ['U+FFFF', '\uFFFFstaff'],
    ['a lone high surrogate', 'staff\uD800'],
    ['a lone low surrogate', '\uDC00'],
    ['a reversed surrogate pair', 'staff\uDC00\uD800'],
  ].flatMap(([what, value]): BadInput[] => [
    { name: `a SAML attribute value with ${what}`, attempt: withClaims({ affiliation: value }), status: 403, error: 'access_denied', reason: 'claim_not_xml' },
    { name: `a SAML attribute array member with ${what}`, attempt: withClaims({ affiliation: ['member', value] }), status: 403, error: 'access_denied', reason: 'claim_not_xml' },
  ]),
];

const ESCALATION: BadInput[] = [
  { name: 'an unlisted role', attempt: async () => legacy(await goodToken(), { role: 'arn:aws:iam::123456789012:role/Administrator' }), status: 403, error: 'access_denied', reason: 'role_not_allowed' },
  { name: 'a look-alike role (case)', attempt: async () => legacy(await goodToken(), { role: ROLE_ARN.toLowerCase() }), status: 403, error: 'access_denied', reason: 'role_not_allowed' },
  { name: 'a look-alike role (trailing space)', attempt: async () => legacy(await goodToken(), { role: `${ROLE_ARN} ` }), status: 403, error: 'access_denied', reason: 'role_not_allowed' },
  { name: 'a listed role the user\'s claims do not allow', attempt: async () => legacy(await goodToken(), { role: ADMIN_ROLE_ARN }), status: 403, error: 'access_denied', reason: 'role_not_allowed' },
  { name: 'a listed role asked for with a group claim of the wrong type', attempt: async () => bearer(await issuer.sign({ groups: 'admin' }), { role: ADMIN_ROLE_ARN }), status: 403, error: 'access_denied', reason: 'role_not_allowed' },
  { name: 'another SAML provider as principal', attempt: async () => legacy(await goodToken(), { principal: PROVIDER_ARN.replace('TokenDelegation', 'Other') }), status: 403, error: 'access_denied', reason: 'principal_not_allowed' },
  { name: 'a duration below 900 s', attempt: async () => bearer(await goodToken(), { durationSeconds: 100 }), status: 400, error: 'invalid_request', reason: 'duration_out_of_range' },
  { name: 'a duration above the server maximum', attempt: async () => bearer(await goodToken(), { durationSeconds: 7200 }), status: 400, error: 'invalid_request', reason: 'duration_out_of_range' },
  { name: 'a duration as a string', attempt: async () => bearer(await goodToken(), { durationSeconds: '900' }), status: 400, error: 'invalid_request', reason: 'duration_type' },
  { name: 'a fractional duration', attempt: async () => bearer(await goodToken(), { durationSeconds: 900.5 }), status: 400, error: 'invalid_request', reason: 'duration_type' },
];

/** A form-encoded POST from a page of another origin: browsers send it without a CORS preflight. */
function fromOrigin(token: string, origin: string | string[]): Attempt {
  const body = new URLSearchParams({ client_id: CLIENT_ID, grant_type: GRANT_TYPE, id_token: token, target: CLIENT_ID, api_type: 'aws' }).toString();
  return { event: apiGatewayEvent({ headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Origin': origin }, body }), token };
}

const FAULTS: BadInput[] = [
  { name: 'a cross-origin form POST from a foreign page (no preflight)', attempt: async () => fromOrigin(await goodToken(), 'https://evil.example.com'), status: 403, error: 'access_denied', reason: 'origin_not_allowed' },
  { name: 'a cross-origin POST from an opaque origin', attempt: async () => fromOrigin(await goodToken(), 'null'), status: 403, error: 'access_denied', reason: 'origin_not_allowed' },
  { name: 'an allowed and a foreign Origin header together', attempt: async () => fromOrigin(await goodToken(), [APP_ORIGIN, 'https://evil.example.com']), status: 403, error: 'access_denied', reason: 'origin_not_allowed' },
  { name: 'JWKS answers 500', jwksFault: 'status-500', attempt: async () => bearer(await goodToken()), status: 503, error: 'temporarily_unavailable', reason: 'jwks_unavailable' },
  { name: 'JWKS connection reset', jwksFault: 'reset', attempt: async () => bearer(await goodToken()), status: 503, error: 'temporarily_unavailable', reason: 'jwks_unavailable' },
  { name: 'JWKS is not JSON', jwksFault: 'garbage', attempt: async () => bearer(await goodToken()), status: 503, error: 'temporarily_unavailable', reason: 'jwks_unavailable' },
  { name: 'JWKS redirects elsewhere', jwksFault: 'redirect', attempt: async () => bearer(await goodToken()), status: 503, error: 'temporarily_unavailable', reason: 'jwks_unavailable' },
  { name: 'JWKS larger than the limit', jwksFault: 'oversized', attempt: async () => bearer(await goodToken()), status: 503, error: 'temporarily_unavailable', reason: 'jwks_unavailable' },
];

const CLASSES: Array<[string, BadInput[]]> = [
  ['1. malformed requests', MALFORMED],
  ['2. JWS structure attacks', JWS_ATTACKS],
  ['3. claims', CLAIMS],
  ['4. subjects and mapped claims', SUBJECTS],
  ['5. role and tag escalation', ESCALATION],
  ['6. abuse and faults', FAULTS],
];

beforeAll(async () => {
  issuer = await startOidcIssuer({ audience: CLIENT_ID, keyAlgorithms: ['RS256', 'ES256'] });
  sts = await startStsStub();
  kms = await startKmsStub({ keyId: KMS_KEY_ARN, privateKey: kmsKeys.privateKey });
  restoreAws = setEnvironment(awsTestEnvironment({ sts: sts.endpoint, kms: kms.endpoint }, { accessKeyId: 'AKIDLOCALTESTONLY000', secretAccessKey: 'local-test-secret' }));
  handler = loadBundledHandler(delegationEnvironment(issuer, { kmsKeyArn: KMS_KEY_ARN }, { DELEGATION_SAML_ATTRIBUTES: SAML_ATTRIBUTES }));
});

afterAll(async () => {
  restoreAws();
  await Promise.all([issuer.close(), sts.close(), kms.close()]);
});

beforeEach(() => {
  sts.reset();
  kms.reset();
});

test('the table covers every class of SECURITY.md with at least 30 cases', () => {
  expect(CLASSES.every(([, cases]) => cases.length > 0)).toBe(true);
  expect(CLASSES.reduce((total, [, cases]) => total + cases.length, 0)).toBeGreaterThanOrEqual(30);
});

test('a good request passes, so the refusals below are caused by what each case changes', async () => {
  const { result } = await captureOutput(async () => handler(bearer(await goodToken()).event, lambdaContext()));
  expect(result.statusCode).toBe(200);
  expect(kms.callCount).toBe(1);
  expect(sts.callCount).toBe(1);
});

test('a mapped SAML attribute with XML characters beyond the BMP passes, so the refusals of U+FFFE and lone surrogates are about those alone', async () => {
  const token = await issuer.sign({ affiliation: ['member', 'staff \u{1F600}', 'caf\u00E9'], department: 'sales' });
  const { result } = await captureOutput(() => handler(bearer(token).event, lambdaContext()));
  expect(result.statusCode).toBe(200);
  expect(sts.calls[0].samlResponseXml).toContain('<saml:AttributeValue>staff \u{1F600}</saml:AttributeValue>');
});

describe.each(CLASSES)('class %s', (_className, cases) => {
  test.each(cases.map((badInput) => [badInput.name, badInput] as const))('%s is refused before any KMS or STS call', async (_name, badInput) => {
    const attempt = await badInput.attempt();
    let target = handler;
    if (badInput.jwksFault) {
      target = loadBundledHandler(delegationEnvironment(issuer, { kmsKeyArn: KMS_KEY_ARN }));
      issuer.setFault(badInput.jwksFault);
    }
    try {
      const { result: response, output, lines } = await captureOutput(() => target(attempt.event, lambdaContext()));
      const body = JSON.parse(response.body);

      expect({ status: response.statusCode, error: body.error, reason: lines[0]?.reason })
        .toEqual({ status: badInput.status, error: badInput.error, reason: badInput.reason });
      expect(Object.keys(body).sort()).toEqual(['error', 'error_description']);
      expect(response.headers).toMatchObject({ 'Cache-Control': 'no-store', 'Content-Type': 'application/json' });
      if (badInput.status === 401) {
        expect(response.headers!['WWW-Authenticate']).toBe('Bearer error="invalid_token"');
      }
      if (badInput.status === 503) {
        expect(response.headers!['Retry-After']).toMatch(/^\d+$/);
      }
      expect(kms.callCount).toBe(0);
      expect(sts.callCount).toBe(0);
      expect(lines).toHaveLength(1);
      if (attempt.token !== undefined) {
        expect(output).not.toContain(attempt.token);
        for (const segment of attempt.token.split('.').filter((part) => part.length >= 12)) {
          expect(output).not.toContain(segment);
          expect(body.error_description).not.toContain(segment);
        }
      }
    } finally {
      issuer.setFault('none');
    }
  });
});

test('class 6: a flood of unknown kids makes at most one JWKS fetch and no KMS or STS call', async () => {
  const fresh = loadBundledHandler(delegationEnvironment(issuer, { kmsKeyArn: KMS_KEY_ARN }));
  const fetchesBefore = issuer.jwksFetchCount;
  const statuses: number[] = [];
  const { output } = await captureOutput(async () => {
    for (let index = 0; index < 25; index++) {
      const token = await issuer.sign({}, { kid: `unknown-${index}` });
      statuses.push((await fresh(bearer(token).event, lambdaContext())).statusCode);
    }
  });

  expect(new Set(statuses)).toEqual(new Set([401]));
  expect(issuer.jwksFetchCount - fetchesBefore).toBeLessThanOrEqual(1);
  expect(kms.callCount).toBe(0);
  expect(sts.callCount).toBe(0);
  expect(output).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./);
});
