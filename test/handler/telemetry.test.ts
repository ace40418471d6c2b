import { generateKeyPairSync, randomBytes } from 'node:crypto';
import * as fc from 'fast-check';
import { coldStartFailureLine, describeError, levelFor, requestLogLine, scrubSecrets, scrubValue } from '../../lambda/delegation/telemetry';

const base64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');

function compactJws(header: object, payload: object, signature: Buffer = randomBytes(256)): string {
  return `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}.${signature.toString('base64url')}`;
}

const realisticToken = compactJws(
  { alg: 'RS256', kid: 'key-1', typ: 'JWT' },
  { iss: 'https://tenant.auth0.com/', sub: 'auth0|5f7c8ec7c33c6c004bbafe82', aud: 'client', iat: 1700000000, exp: 1700003600 },
);

/** Characters that can stand next to a secret in a log message without being part of it. */
const separator = fc.constantFrom(' ', '"', '\'', ':', ',', '(', ')', '\n', '\t', '<', '>', '[', ']', '{', '}', '|', '&', ';');

describe('scrubSecrets', () => {
  test.each([
    ['a compact JWS', `token ${realisticToken} refused`],
    ['a JWS with alg none and an empty signature', `token ${base64url('{"alg":"none"}')}.${base64url('{"sub":"a"}')}. refused`],
    ['a JWS whose header has whitespace', `${base64url('{ "alg" : "HS256" }')}.${base64url('{"x":1}')}.c2lnbmF0dXJl`],
    ...[' ', '\t', '\n', '\r', ' \r\n\t  '].map((space): [string, string] => [
      `a JWS whose header starts with ${JSON.stringify(space)}`,
      `token ${base64url(`${space}{"alg":"none","typ":"JWT"}`)}.${base64url('{"sub":"alice","admin":true}')}. refused`,
    ]),
    ['a JWE (five segments)', `${base64url('{"alg":"RSA-OAEP","enc":"A256GCM"}')}.${randomBytes(32).toString('base64url')}.iv.${randomBytes(40).toString('base64url')}.tag`],
    ['a JWS glued to a dotted prefix', `host.example.com.${realisticToken}`],
    ['a JWS glued to a word', `Bearer${realisticToken}`],
    ['a SAML Response', '<samlp:Response ID="_1"><saml:Issuer>x</saml:Issuer><saml:NameID>alice</saml:NameID></samlp:Response>'],
    ['an unprefixed Assertion', 'parse failed at <Assertion ID="_1"><NameID>alice</NameID></Assertion>'],
    ['a base64 SAML Response', Buffer.from('<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_abc"></samlp:Response>').toString('base64')],
    ['a session token', `token=IQoJb3JpZ2luX2Vj${randomBytes(300).toString('base64')}`],
    ['a secret access key', 'SecretAccessKey=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'],
    ['a secret access key without digits', 'secret "abcdefghijABCDEFGHIJabcdefghijABCDEFGHIJ" leaked'],
    ['an access key id', 'AccessKeyId ASIAIOSFODNN7EXAMPLE'],
    ['a PEM private key', generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()],
    ['a cut-off PEM key', '-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA'],
  ])('removes %s', (_name, text) => {
    const scrubbed = scrubSecrets(text);
    expect(scrubbed).toMatch(/\[redacted:[a-z]+\]/);
    for (const secretPart of text.match(/[A-Za-z0-9+/_-]{16,}/g) ?? []) {
      if (!['IQoJb3JpZ2luX2Vj', 'SecretAccessKey', 'AccessKeyId'].includes(secretPart)) {
        expect(scrubbed).not.toContain(secretPart);
      }
    }
  });

  test.each([
    'https://tenant.auth0.com/',
    'https://eyeglass.example.com/',
    'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEfGhI',
    'https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0',
    'arn:aws:iam::123456789012:role/delegation/TokenDelegationUserRole',
    'arn:aws:iam::123456789012:saml-provider/TokenDelegation',
    'auth0|5f7c8ec7c33c6c004bbafe82',
    'google-oauth2|113015401123457192604',
    'tenant:auth0|123',
    'c0a8e9d2-1b3f-4e5a-9f7d-0123456789ab',
    'sts_IDPRejectedClaim',
    'jwt_expired',
    'sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    'DELEGATION_ISSUERS[0].jwksUri: must be an https URL',
  ])('keeps %s', (text) => {
    expect(scrubSecrets(text)).toBe(text);
  });

  test('property: a compact JWS with any JSON header, payload and signature never survives, wherever it sits', () => {
    fc.assert(fc.property(
      fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
      fc.string({ maxLength: 16 }),
      fc.uint8Array({ minLength: 1, maxLength: 200 }),
      fc.uint8Array({ maxLength: 300 }),
      fc.string({ maxLength: 30 }), separator, separator, fc.string({ maxLength: 30 }),
      // JSON allows white space before the header's object, and JSON.parse (so jose) reads such a header.
      fc.string({ unit: fc.constantFrom(' ', '\t', '\n', '\r'), maxLength: 6 }),
      (headerExtra, alg, payload, signature, before, left, right, after, leading) => {
        const header = base64url(`${leading}${JSON.stringify({ alg, ...headerExtra })}`);
        const token = `${header}.${Buffer.from(payload).toString('base64url')}.${Buffer.from(signature).toString('base64url')}`;
        const scrubbed = scrubSecrets(`${before}${left}${token}${right}${after}`);
        expect(scrubbed).not.toContain(token);
        expect(scrubbed).not.toContain(`${header}.`);
      },
    ), { numRuns: 300 });
  });

  test('property: any 40-character base64 secret and any long base64 blob never survive', () => {
    const base64Char = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/');
    fc.assert(fc.property(
      fc.string({ unit: base64Char, minLength: 40, maxLength: 40 }),
      fc.uint8Array({ minLength: 200, maxLength: 800 }),
      fc.string({ maxLength: 20 }), separator, separator,
      (secret, blob, text, left, right) => {
        const token = Buffer.from(blob).toString('base64');
        const scrubbed = scrubSecrets(`${text}${left}${secret}${right}${token}${left}`);
        expect(scrubbed).not.toContain(secret);
        expect(scrubbed).not.toContain(token.slice(0, 64));
      },
    ), { numRuns: 300 });
  });
});

describe('scrubValue and describeError', () => {
  test('scrubs nested strings and keys and drops functions', () => {
    const value = scrubValue({
      outer: { list: [realisticToken, 'plain'], [realisticToken]: 1 },
      fn: () => realisticToken,
      n: 3,
      ok: true,
      nothing: null,
    });
    const text = JSON.stringify(value);
    expect(text).not.toContain(realisticToken.slice(0, 30));
    expect(value).toMatchObject({ outer: { list: ['[redacted:jwt]', 'plain'] }, n: 3, ok: true, nothing: null });
    expect((value as Record<string, unknown>).fn).toBeUndefined();
  });

  test('describeError keeps name, message, code and SDK metadata', () => {
    const error = Object.assign(new Error('boom'), { name: 'ThrottlingException', code: 'X', $fault: 'client', $metadata: { httpStatusCode: 400, requestId: 'r-1', attempts: 3 } });
    expect(describeError(error)).toMatchObject({ name: 'ThrottlingException', message: 'boom', code: 'X', fault: 'client', httpStatusCode: 400, awsRequestId: 'r-1', attempts: 3 });
    expect(describeError('a thrown string')).toEqual({ type: 'string' });
  });
});

describe('requestLogLine', () => {
  const record = {
    requestId: 'lambda-request-1',
    apiRequestId: 'api-request-1',
    form: 'bearer',
    issuer: 'https://tenant.auth0.com/',
    subject: 'auth0|123',
    roleArn: 'arn:aws:iam::123456789012:role/UserRole',
    outcome: 'issued',
    reason: 'issued',
    status: 200,
    durationMs: 42,
  };

  test('is one JSON line with the request facts and an EMF Requests count per Outcome', () => {
    const line = requestLogLine(record, 'TokenDelegation', 1_700_000_000_000);
    expect(line).not.toContain('\n');
    const parsed = JSON.parse(line);
    expect(parsed).toMatchObject({
      level: 'info',
      requestId: 'lambda-request-1',
      apiRequestId: 'api-request-1',
      issuer: 'https://tenant.auth0.com/',
      subject: 'auth0|123',
      roleArn: 'arn:aws:iam::123456789012:role/UserRole',
      outcome: 'issued',
      reason: 'issued',
      status: 200,
      durationMs: 42,
      Outcome: 'issued',
      Requests: 1,
      _aws: {
        Timestamp: 1_700_000_000_000,
        CloudWatchMetrics: [{ Namespace: 'TokenDelegation', Dimensions: [['Outcome']], Metrics: [{ Name: 'Requests', Unit: 'Count' }] }],
      },
    });
    expect(parsed.error).toBeUndefined();
  });

  test('uses the configured namespace and the error code as outcome', () => {
    const parsed = JSON.parse(requestLogLine({ ...record, outcome: 'access_denied', reason: 'sts_IDPRejectedClaim', status: 403 }, 'My/Namespace', 1));
    expect(parsed._aws.CloudWatchMetrics[0].Namespace).toBe('My/Namespace');
    expect(parsed.Outcome).toBe('access_denied');
    expect(parsed.reason).toBe('sts_IDPRejectedClaim');
  });

  test('an unexpected error is logged scrubbed, even when its message quotes a token', () => {
    const error = new Error(`could not handle ${realisticToken} for <saml:Assertion>`);
    const line = requestLogLine({ ...record, outcome: 'server_error', reason: 'unexpected_error', status: 500, error }, 'TokenDelegation', 1);
    const parsed = JSON.parse(line);
    expect(parsed.level).toBe('error');
    expect(parsed.error.message).toBe('could not handle [redacted:jwt] for [redacted:xml]');
    expect(line).not.toContain(realisticToken.split('.')[1]);
    expect(line).not.toContain('saml:Assertion');
  });

  test.each([[200, 'info'], [400, 'info'], [401, 'info'], [403, 'info'], [429, 'info'], [503, 'warn'], [500, 'error']])('status %i logs at %s', (status, level) => {
    expect(levelFor(status)).toBe(level);
  });
});

describe('coldStartFailureLine', () => {
  test('names the failure without key material', () => {
    const pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const parsed = JSON.parse(coldStartFailureLine(new Error(`DELEGATION_SIGNING_KEY_PEM: bad key ${pem}`), 0));
    expect(parsed).toMatchObject({ level: 'error', message: 'delegation handler cannot start', error: { name: 'Error', message: 'DELEGATION_SIGNING_KEY_PEM: bad key [redacted:pem]\n' } });
  });
});
