import type { APIGatewayProxyEvent } from 'aws-lambda';
import { DelegationError } from '../../lambda/delegation/errors';
import { errorHeaders } from '../../lambda/delegation/http';
import { REFRESH_TOKEN_REFUSAL, hasDuplicateTopLevelKey, parseDelegationRequest } from '../../lambda/delegation/request';
import { hasProtoMember } from '../../lambda/delegation/strict-json';

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
/** Shaped like a JWS; never verified here. */
const TOKEN = `${b64url({ alg: 'RS256', kid: 'k1' })}.${b64url({ sub: 'auth0|123', iss: 'https://tenant.auth0.com/' })}.${'s'.repeat(342)}`;
const ROLE = 'arn:aws:iam::123456789012:role/delegation-user';
const PROVIDER = 'arn:aws:iam::123456789012:saml-provider/TokenDelegation';
const GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

function event(overrides: Partial<APIGatewayProxyEvent> = {}): APIGatewayProxyEvent {
  return {
    httpMethod: 'POST',
    path: '/delegation',
    resource: '/delegation',
    headers: {},
    multiValueHeaders: {},
    body: null,
    isBase64Encoded: false,
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    requestContext: {} as APIGatewayProxyEvent['requestContext'],
    ...overrides,
  };
}

function legacyFields(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    client_id: 'client-1',
    grant_type: GRANT_TYPE,
    id_token: TOKEN,
    target: 'client-1',
    api_type: 'aws',
    ...overrides,
  };
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined) delete fields[name];
  }
  return fields;
}

function jsonEvent(body: unknown, headers: Record<string, string> = {}): APIGatewayProxyEvent {
  return event({ headers: { 'Content-Type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

function formEvent(body: string, headers: Record<string, string> = {}): APIGatewayProxyEvent {
  return event({ headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body });
}

function bearerEvent(body?: unknown, headers: Record<string, string> = {}): APIGatewayProxyEvent {
  return event({
    headers: { Authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }), ...headers },
    body: body === undefined ? null : typeof body === 'string' ? body : JSON.stringify(body),
  });
}

function failureOf(input: APIGatewayProxyEvent, options?: { maxBodyBytes?: number }): DelegationError {
  try {
    parseDelegationRequest(input, options);
  } catch (error) {
    expect(error).toBeInstanceOf(DelegationError);
    return error as DelegationError;
  }
  throw new Error('expected the request to be refused');
}

describe('Auth0 legacy body', () => {
  test('JSON body with role and principal', () => {
    const request = parseDelegationRequest(jsonEvent(legacyFields({ role: ROLE, principal: PROVIDER, scope: 'openid' })));
    expect(request).toEqual({ idToken: TOKEN, form: 'auth0-legacy', clientId: 'client-1', requestedRoleArn: ROLE, requestedPrincipalArn: PROVIDER });
  });

  test('form body, with charset and header names in any case', () => {
    const body = new URLSearchParams(legacyFields({ role: ROLE }) as Record<string, string>).toString();
    const request = parseDelegationRequest(event({ headers: { 'CONTENT-TYPE': 'Application/X-WWW-Form-Urlencoded; Charset="UTF-8"' }, body }));
    expect(request).toEqual({ idToken: TOKEN, form: 'auth0-legacy', clientId: 'client-1', requestedRoleArn: ROLE });
  });

  test('base64-encoded body (API Gateway binary media types)', () => {
    const body = Buffer.from(JSON.stringify(legacyFields())).toString('base64');
    const request = parseDelegationRequest(event({ headers: { 'content-type': 'application/json; charset=utf-8' }, body, isBase64Encoded: true }));
    expect(request.idToken).toBe(TOKEN);
    expect(request.form).toBe('auth0-legacy');
  });

  test.each<[string, Record<string, unknown>, string]>([
    ['missing id_token', legacyFields({ id_token: undefined }), 'missing_token'],
    ['empty id_token', legacyFields({ id_token: '' }), 'missing_token'],
    ['id_token not a string', legacyFields({ id_token: 42 }), 'missing_token'],
    ['missing client_id', legacyFields({ client_id: undefined }), 'missing_field'],
    ['missing target', legacyFields({ target: undefined }), 'missing_field'],
    ['missing api_type', legacyFields({ api_type: undefined }), 'missing_field'],
    ['missing grant_type', legacyFields({ grant_type: undefined }), 'missing_field'],
    ['api_type other than aws', legacyFields({ api_type: 'firebase' }), 'api_type'],
    ['role not a string', legacyFields({ role: [ROLE] }), 'field_invalid'],
    ['empty principal', legacyFields({ principal: '' }), 'field_invalid'],
    ['unknown field', legacyFields({ refresh_token: 'x' }), 'unknown_field'],
    ['durationSeconds is not part of the legacy form', legacyFields({ durationSeconds: 900 }), 'unknown_field'],
  ])('refuses %s with 400 invalid_request', (_name, fields, reason) => {
    const failure = failureOf(jsonEvent(fields));
    expect([failure.status, failure.code, failure.reason]).toEqual([400, 'invalid_request', reason]);
  });

  test.each(['password', 'urn:ietf:params:oauth:grant-type:JWT-BEARER', 'authorization_code'])('refuses grant_type %s with unsupported_grant_type', (grantType) => {
    const failure = failureOf(jsonEvent(legacyFields({ grant_type: grantType })));
    expect([failure.status, failure.code]).toEqual([400, 'unsupported_grant_type']);
  });

  test('names an unknown field in the description only when the name is plain letters', () => {
    expect(failureOf(jsonEvent(legacyFields({ durationSeconds: 900 }))).description).toBe('Unknown field "durationSeconds"');
    expect(failureOf(jsonEvent(legacyFields({ eyJhbGciOiJSUzI1NiJ9: 'x' }))).description).toBe('Unknown field (name not shown)');
  });

  test('a refresh token gets a sentence that says to send a fresh id_token instead, in every form, before any other field is named', () => {
    const REFRESH = 'v1.refresh-token-value';
    // What auth0.js v7's refreshToken() posts: no id_token, api_type auth0, scope passthrough.
    const refresh = new URLSearchParams({ grant_type: GRANT_TYPE, client_id: 'client-1', target: 'client-1', api_type: 'auth0', refresh_token: REFRESH, scope: 'passthrough' });
    const refusals = [
      failureOf(formEvent(refresh.toString())),
      failureOf(jsonEvent(legacyFields({ refresh_token: REFRESH }))),
      failureOf(jsonEvent({ scope: 'passthrough', ...legacyFields({ id_token: undefined, refresh_token: REFRESH }) })),
      failureOf(bearerEvent({ refresh_token: REFRESH })),
    ];
    for (const failure of refusals) {
      expect([failure.status, failure.code, failure.reason]).toEqual([400, 'invalid_request', 'unknown_field']);
      expect(failure.description).toBe(REFRESH_TOKEN_REFUSAL);
      expect(failure.description).not.toContain(REFRESH);
    }
    expect(REFRESH_TOKEN_REFUSAL).toMatch(/id_token/);
  });

  test('refuses a JSON body that repeats id_token, even with equal values', () => {
    const body = `{"client_id":"c","grant_type":"${GRANT_TYPE}","id_token":"${TOKEN}","target":"c","api_type":"aws","id_token":"${TOKEN}"}`;
    expect(failureOf(jsonEvent(body)).reason).toBe('duplicate_field');
  });

  test('refuses a form body that repeats a field', () => {
    const body = `${new URLSearchParams(legacyFields() as Record<string, string>)}&role=${encodeURIComponent(ROLE)}&role=${encodeURIComponent(ROLE)}`;
    expect(failureOf(formEvent(body)).reason).toBe('duplicate_field');
    expect(failureOf(formEvent(`${new URLSearchParams(legacyFields() as Record<string, string>)}&id_token=${TOKEN}`)).reason).toBe('duplicate_field');
  });

  test('a form field named __proto__ is an unknown field, not silently dropped', () => {
    const body = `${new URLSearchParams(legacyFields() as Record<string, string>)}&__proto__=x`;
    expect(failureOf(formEvent(body)).reason).toBe('unknown_field');
    expect(failureOf(jsonEvent(`{"__proto__":{"role":"x"},${JSON.stringify(legacyFields()).slice(1)}`)).reason).toBe('unknown_field');
  });

  test.each([
    ['an array', '[]'],
    ['a string', '"x"'],
    ['null', 'null'],
    ['truncated JSON', '{"id_token": "a'],
  ])('refuses a JSON body that is %s', (_name, body) => {
    expect(failureOf(jsonEvent(body)).reason).toBe('body_json');
  });
});

describe('Bearer form', () => {
  test('without a body', () => {
    expect(parseDelegationRequest(bearerEvent())).toEqual({ idToken: TOKEN, form: 'bearer' });
  });

  test('with role and durationSeconds, lower-case scheme and header name', () => {
    const request = parseDelegationRequest(event({
      headers: { 'authorization': `bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ role: ROLE, durationSeconds: 900 }),
    }));
    expect(request).toEqual({ idToken: TOKEN, form: 'bearer', requestedRoleArn: ROLE, requestedDurationSeconds: 900 });
  });

  test('an empty JSON object is accepted', () => {
    expect(parseDelegationRequest(bearerEvent({}))).toEqual({ idToken: TOKEN, form: 'bearer' });
  });

  test('headers only in multiValueHeaders are read', () => {
    const request = parseDelegationRequest(event({ multiValueHeaders: { Authorization: [`Bearer ${TOKEN}`] } }));
    expect(request.idToken).toBe(TOKEN);
  });

  test.each<[string, APIGatewayProxyEvent, number, string]>([
    ['a token both in the header and the body', bearerEvent({ id_token: TOKEN }), 400, 'token_twice'],
    ['a form body with a Bearer token', event({ headers: { 'Authorization': `Bearer ${TOKEN}`, 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'role=x' }), 415, 'content_type'],
    ['an unknown body field', bearerEvent({ role: ROLE, scope: 'openid' }), 400, 'unknown_field'],
    ['durationSeconds as a string', bearerEvent({ durationSeconds: '900' }), 400, 'duration_type'],
    ['durationSeconds with a fraction', bearerEvent({ durationSeconds: 900.5 }), 400, 'duration_type'],
    ['durationSeconds null', bearerEvent({ durationSeconds: null }), 400, 'duration_type'],
    ['a Basic Authorization header', event({ headers: { Authorization: 'Basic dXNlcjpwYXNz' } }), 400, 'authorization_scheme'],
    ['a Bearer scheme without token', event({ headers: { Authorization: 'Bearer ' } }), 400, 'authorization_scheme'],
    ['two tokens in one header', event({ headers: { Authorization: `Bearer ${TOKEN} ${TOKEN}` } }), 400, 'authorization_scheme'],
    ['white space after the token (another WAF rate-limit key for the same token)', event({ headers: { Authorization: `Bearer ${TOKEN} ` } }), 400, 'authorization_scheme'],
    ['two Authorization headers', event({ headers: { Authorization: `Bearer ${TOKEN}` }, multiValueHeaders: { Authorization: [`Bearer ${TOKEN}`, `Bearer ${TOKEN}`] } }), 400, 'duplicate_header'],
    ['Authorization headers that differ only in case', event({ headers: { Authorization: `Bearer ${TOKEN}`, authorization: `Bearer ${TOKEN}` } }), 400, 'duplicate_header'],
  ])('refuses %s', (_name, input, status, reason) => {
    const failure = failureOf(input);
    expect([failure.status, failure.reason]).toEqual([status, reason]);
  });

  test('the "both" check also applies to a form body that carries id_token', () => {
    const failure = failureOf(event({
      headers: { 'Authorization': `Bearer ${TOKEN}`, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: `id_token=${TOKEN}`,
    }));
    expect(failure.reason).toBe('token_twice');
  });
});

describe('token shape', () => {
  const header = b64url({ alg: 'RS256' });
  const payload = b64url({ sub: 'x' });
  test.each([
    ['two segments', `${header}.${payload}`],
    ['four segments', `${header}.${payload}.sig.extra`],
    ['JWE (five segments)', `${header}.key.iv.${payload}.tag`],
    ['JSON serialization', JSON.stringify({ protected: header, payload, signature: 'abc' })],
    ['padding characters', `${header}.${payload}.abc=`],
    ['standard base64 characters', `${header}.${payload}.ab+/`],
    ['an empty header segment', `.${payload}.sig`],
    ['whitespace inside', `${header}. ${payload}.sig`],
  ])('refuses %s with 400 token_format', (_name, token) => {
    const failure = failureOf(jsonEvent(legacyFields({ id_token: token })));
    expect([failure.status, failure.code, failure.reason]).toEqual([400, 'invalid_request', 'token_format']);
  });

  test('lets an empty signature through (alg none is refused by the verifier with a precise reason)', () => {
    expect(parseDelegationRequest(jsonEvent(legacyFields({ id_token: `${header}.${payload}.` }))).idToken).toBe(`${header}.${payload}.`);
  });

  test('refuses a token longer than 8 KiB in either form', () => {
    const longToken = `${header}.${'a'.repeat(8 * 1024)}.sig`;
    expect(failureOf(jsonEvent(legacyFields({ id_token: longToken }))).reason).toBe('token_too_large');
    expect(failureOf(event({ headers: { Authorization: `Bearer ${longToken}` } })).reason).toBe('token_too_large');
  });
});

describe('transport', () => {
  test.each(['GET', 'PUT', 'OPTIONS', 'post'])('refuses method %s with 405 and Allow: POST', (method) => {
    const failure = failureOf(event({ ...jsonEvent(legacyFields()), httpMethod: method }));
    expect([failure.status, errorHeaders(failure)]).toEqual([405, { Allow: 'POST' }]);
  });

  test.each<[string, Partial<APIGatewayProxyEvent>]>([
    ['id_token', { queryStringParameters: { id_token: TOKEN }, multiValueQueryStringParameters: { id_token: [TOKEN] } }],
    ['access_token', { queryStringParameters: { access_token: TOKEN } }],
    ['any parameter, even with a valid body', { multiValueQueryStringParameters: { debug: ['1'] } }],
  ])('refuses a query string (%s)', (_name, query) => {
    const failure = failureOf(event({ ...jsonEvent(legacyFields()), ...query }));
    expect([failure.status, failure.reason]).toEqual([400, 'query_string']);
  });

  test.each([
    ['text/plain', 'text/plain'],
    ['multipart', 'multipart/form-data; boundary=x'],
    ['JSON with a Latin-1 charset', 'application/json; charset=iso-8859-1'],
    ['JSON with an unknown parameter', 'application/json; profile=x'],
    ['a JSON suffix type', 'application/jwt+json'],
  ])('refuses Content-Type %s with 415', (_name, contentType) => {
    const failure = failureOf(event({ headers: { 'Content-Type': contentType }, body: JSON.stringify(legacyFields()) }));
    expect([failure.status, failure.reason]).toEqual([415, 'content_type']);
  });

  test('refuses a body without Content-Type with 415', () => {
    expect(failureOf(event({ body: JSON.stringify(legacyFields()) })).status).toBe(415);
  });

  test('refuses two Content-Type headers', () => {
    const failure = failureOf(event({ ...jsonEvent(legacyFields()), multiValueHeaders: { 'Content-Type': ['application/json', 'application/json'] } }));
    expect(failure.reason).toBe('duplicate_header');
  });

  test('refuses a request with neither body nor Authorization header', () => {
    expect(failureOf(event()).reason).toBe('missing_token');
    expect(failureOf(event({ body: '' })).reason).toBe('missing_token');
  });

  test('refuses a body over the limit with 413, plain or base64, and accepts one at the limit', () => {
    const padded = (size: number) => {
      const base = JSON.stringify(legacyFields({ scope: '' }));
      return JSON.stringify(legacyFields({ scope: 'x'.repeat(size - base.length) }));
    };
    const atLimit = padded(1024);
    expect(Buffer.byteLength(atLimit)).toBe(1024);
    expect(parseDelegationRequest(jsonEvent(atLimit), { maxBodyBytes: 1024 }).idToken).toBe(TOKEN);
    expect(failureOf(jsonEvent(padded(1025)), { maxBodyBytes: 1024 }).status).toBe(413);
    const base64 = event({ headers: { 'Content-Type': 'application/json' }, body: Buffer.from(padded(1025)).toString('base64'), isBase64Encoded: true });
    expect(failureOf(base64, { maxBodyBytes: 1024 }).status).toBe(413);
    const huge = event({ headers: { 'Content-Type': 'application/json' }, body: 'x'.repeat(17 * 1024) });
    expect(failureOf(huge).status).toBe(413);
  });

  test('counts bytes, not characters, against the limit', () => {
    const base = JSON.stringify(legacyFields({ scope: '' }));
    const body = JSON.stringify(legacyFields({ scope: 'é'.repeat(1024 - base.length) }));
    expect(body.length).toBeLessThanOrEqual(1024);
    expect(failureOf(jsonEvent(body), { maxBodyBytes: 1024 }).status).toBe(413);
  });

  test('refuses a body that is not valid base64 or not UTF-8', () => {
    expect(failureOf(event({ headers: { 'Content-Type': 'application/json' }, body: '{"a":1}', isBase64Encoded: true })).reason).toBe('body_encoding');
    const latin1 = Buffer.from('{"scope":"\xe9"}', 'latin1').toString('base64');
    expect(failureOf(event({ headers: { 'Content-Type': 'application/json' }, body: latin1, isBase64Encoded: true })).reason).toBe('body_encoding');
  });

  test('no error description ever contains the token', () => {
    const failures = [
      failureOf(jsonEvent(legacyFields({ grant_type: 'password' }))),
      failureOf(jsonEvent(legacyFields({ [TOKEN.slice(0, 20)]: TOKEN }))),
      failureOf(jsonEvent(`{"id_token":"${TOKEN}","id_token":"${TOKEN}"}`)),
      failureOf(bearerEvent({ id_token: TOKEN })),
      failureOf(event({ ...jsonEvent(legacyFields()), queryStringParameters: { id_token: TOKEN } })),
      failureOf(jsonEvent(legacyFields({ id_token: `${TOKEN}.x` }))),
    ];
    for (const failure of failures) {
      expect(failure.description).not.toContain(TOKEN.slice(0, 20));
      expect(failure.description).not.toContain(TOKEN.slice(-20));
      expect(JSON.stringify(errorHeaders(failure))).not.toContain(TOKEN.slice(0, 20));
    }
  });
});

describe('hasDuplicateTopLevelKey', () => {
  test.each<[string, boolean]>([
    ['{"a":1,"b":2}', false],
    ['{"a":1,"a":2}', true],
    ['{"a":{"a":1},"b":[{"a":2}]}', false],
    ['{"a":"\\"a\\"","\\"a\\"":1}', false],
    ['{"a":1,"\\u0061":2}', true],
    ['{"x":"a,\\"a\\":1","a":1}', false],
    ['{ "a" : [1, {"b":2}] , "a" : null }', true],
  ])('%s -> %s', (json, expected) => {
    JSON.parse(json);
    expect(hasDuplicateTopLevelKey(json)).toBe(expected);
  });
});

describe('hasProtoMember', () => {
  test.each<[string, boolean]>([
    ['{"a":1}', false],
    ['{"__proto__":1}', true],
    ['{"\\u005f_proto__":1}', true],
    ['{"a":{"b":{"__proto__":{}}}}', true],
    ['{"a":[1,{"__proto__":null}]}', true],
    ['{"a":"__proto__","b":["__proto__"]}', false],
    ['{"a":"\\"__proto__\\":1"}', false],
    ['{"a":[{"b":1},"__proto__"]}', false],
    ['{ "a" : { "x" : 1 , "__proto__" : 2 } }', true],
  ])('%s -> %s', (json, expected) => {
    JSON.parse(json);
    expect(hasProtoMember(json)).toBe(expected);
  });

  test('a JSON body with a member named __proto__ inside a field is refused as an unknown field', () => {
    const body = '{"role":{"__proto__":{"durationSeconds":900}}}';
    const failure = (() => {
      try {
        parseDelegationRequest(event({ headers: { 'Authorization': `Bearer ${TOKEN}`, 'Content-Type': 'application/json' }, body }));
      } catch (error) {
        return error as DelegationError;
      }
      throw new Error('not refused');
    })();
    expect([failure.status, failure.reason]).toEqual([400, 'unknown_field']);
  });
});
