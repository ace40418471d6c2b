import type { APIGatewayProxyEvent } from 'aws-lambda';
import { DelegationError } from '../../lambda/delegation/errors';
import { RequestHeaders } from '../../lambda/delegation/headers';
import { corsHeaders, errorHeaders, errorResponse, successResponse } from '../../lambda/delegation/http';

const ALLOWED = ['https://app.example.com', 'http://localhost:3000'];
const NO_STORE_HEADERS = {
  'Cache-Control': 'no-store',
  'Pragma': 'no-cache',
  'Content-Type': 'application/json',
  'X-Content-Type-Options': 'nosniff',
};

const stsResult = {
  Credentials: {
    AccessKeyId: 'ASIAEXAMPLEEXAMPLE12',
    SecretAccessKey: 'secret/key+material',
    SessionToken: 'session-token',
    Expiration: new Date('2030-01-02T03:04:05Z'),
  },
  AssumedRoleUser: { Arn: 'arn:aws:sts::123456789012:assumed-role/UserRole/auth0-123', AssumedRoleId: 'AROAEXAMPLE:auth0-123' },
  Subject: 'auth0|123',
  SubjectType: 'persistent',
  Issuer: 'https://idp.example.com/saml',
  Audience: 'https://signin.aws.amazon.com/saml',
  NameQualifier: 'qualifier=',
  SourceIdentity: 'auth0-123',
  PackedPolicySize: 6,
};

/** The Origin as the handler reads it, once per request. */
function requestOrigin(event: Pick<APIGatewayProxyEvent, 'headers' | 'multiValueHeaders'>): string | undefined {
  return RequestHeaders.of(event).origin;
}

function headersOf(headers: Record<string, string>, multi: Record<string, string[]> = {}): Pick<APIGatewayProxyEvent, 'headers' | 'multiValueHeaders'> {
  return { headers, multiValueHeaders: multi };
}

describe('successResponse', () => {
  test('returns STS fields in the shape Auth0 returned, Expiration as ISO 8601, and no-store headers', () => {
    const response = successResponse(stsResult, {});

    expect(response.statusCode).toBe(200);
    expect(response.headers).toEqual(NO_STORE_HEADERS);
    expect(JSON.parse(response.body)).toEqual({
      Credentials: {
        AccessKeyId: 'ASIAEXAMPLEEXAMPLE12',
        SecretAccessKey: 'secret/key+material',
        SessionToken: 'session-token',
        Expiration: '2030-01-02T03:04:05.000Z',
      },
      AssumedRoleUser: { Arn: 'arn:aws:sts::123456789012:assumed-role/UserRole/auth0-123', AssumedRoleId: 'AROAEXAMPLE:auth0-123' },
      Subject: 'auth0|123',
      SubjectType: 'persistent',
      Issuer: 'https://idp.example.com/saml',
      Audience: 'https://signin.aws.amazon.com/saml',
      NameQualifier: 'qualifier=',
      SourceIdentity: 'auth0-123',
    });
  });

  test('adds the CORS headers it is given', () => {
    const cors = corsHeaders('https://app.example.com', ALLOWED);
    const response = successResponse(stsResult, cors);
    expect(response.headers).toEqual({ ...NO_STORE_HEADERS, ...cors });
  });
});

describe('errorResponse', () => {
  test('answers an OAuth-style body with the error status and headers', () => {
    const error = DelegationError.unavailable('sts', 'Throttling', 2);
    const response = errorResponse(error, {});

    expect(response.statusCode).toBe(503);
    expect(response.headers).toEqual({ ...NO_STORE_HEADERS, 'Retry-After': '2' });
    expect(JSON.parse(response.body)).toEqual({ error: 'temporarily_unavailable', error_description: 'AWS STS is temporarily unavailable; retry later' });
  });

  test('every 401 carries a Bearer invalid_token challenge', () => {
    const response = errorResponse(DelegationError.invalidToken('jwt_expired', 'Token expired'), {});
    expect(response.statusCode).toBe(401);
    expect(response.headers!['WWW-Authenticate']).toBe('Bearer error="invalid_token"');
  });

  test('a 401 carries exactly one challenge, whatever the case of its name', () => {
    const headers = errorResponse(DelegationError.invalidToken('jwt_signature', 'Bad token'), {}).headers!;
    expect(Object.keys(headers).filter((name) => name.toLowerCase() === 'www-authenticate')).toEqual(['WWW-Authenticate']);
  });

  test('no other header can override the no-store and content-type headers', () => {
    const error = DelegationError.badRequest('invalid_request', 'x');
    expect(errorResponse(error, { 'Cache-Control': 'max-age=3600', 'Content-Type': 'text/html' }).headers).toMatchObject(NO_STORE_HEADERS);
  });

  test('non-401 errors carry no challenge', () => {
    const response = errorResponse(DelegationError.accessDenied('no_role', 'No'), {});
    expect(response.headers!['WWW-Authenticate']).toBeUndefined();
  });

  test('an unexpected failure is a generic 500 server_error', () => {
    const response = errorResponse(DelegationError.unexpected(), {});
    expect(response.statusCode).toBe(500);
    expect(JSON.parse(response.body)).toEqual({ error: 'server_error', error_description: 'The delegation service failed unexpectedly' });
  });
});

describe('errorHeaders', () => {
  test.each<[string, DelegationError, Record<string, string>]>([
    ['400', DelegationError.badRequest('body_json', 'x'), {}],
    ['400 unsupported_grant_type', DelegationError.unsupportedGrantType('grant_type', 'x'), {}],
    ['401', DelegationError.invalidToken('jwt_expired', 'x'), { 'WWW-Authenticate': 'Bearer error="invalid_token"' }],
    ['403', DelegationError.accessDenied('role_not_allowed', 'x'), {}],
    ['405', DelegationError.methodNotAllowed('method_not_allowed', 'x'), { Allow: 'POST' }],
    ['413', DelegationError.payloadTooLarge('body_too_large', 'x'), {}],
    ['415', DelegationError.unsupportedMediaType('content_type', 'x'), {}],
    ['500 misconfigured', DelegationError.misconfigured('sts_ValidationError_configuration', new Error('x')), {}],
    ['500 unexpected', DelegationError.unexpected(), {}],
    ['503', DelegationError.unavailable('kms', 'timeout', 2), { 'Retry-After': '2' }],
  ])('a %s gets exactly the headers its status demands', (_name, error, headers) => {
    expect(errorHeaders(error)).toEqual(headers);
  });
});

describe('corsHeaders and requestOrigin', () => {
  test('an allowed origin is echoed exactly, with Vary: Origin, never * and never credentials', () => {
    const headers = corsHeaders('https://app.example.com', ALLOWED);
    expect(headers).toEqual({
      'Access-Control-Allow-Origin': 'https://app.example.com',
      'Access-Control-Expose-Headers': 'Retry-After, WWW-Authenticate',
      'Vary': 'Origin',
    });
    expect(Object.keys(headers)).not.toContain('Access-Control-Allow-Credentials');
  });

  test.each([
    ['missing', undefined],
    ['another site', 'https://evil.example.net'],
    ['a suffix look-alike', 'https://app.example.com.evil.net'],
    ['a prefix look-alike', 'https://evilapp.example.com'],
    ['another scheme', 'http://app.example.com'],
    ['another port', 'https://app.example.com:8443'],
    ['a trailing slash', 'https://app.example.com/'],
    ['different case', 'https://APP.example.com'],
    ['null', 'null'],
    ['*', '*'],
  ])('an origin that is %s gets no CORS headers', (_name, origin) => {
    expect(corsHeaders(origin, ALLOWED)).toEqual({});
  });

  test('no allowed origins means no CORS headers at all', () => {
    expect(corsHeaders('https://app.example.com', [])).toEqual({});
  });

  test('requestOrigin reads the header case-insensitively', () => {
    expect(requestOrigin(headersOf({ origin: 'https://app.example.com' }))).toBe('https://app.example.com');
    expect(requestOrigin(headersOf({ Origin: 'https://app.example.com' }))).toBe('https://app.example.com');
    expect(requestOrigin(headersOf({}))).toBeUndefined();
    expect(requestOrigin({ headers: null as unknown as APIGatewayProxyEvent['headers'], multiValueHeaders: {} })).toBeUndefined();
  });

  test('an Origin sent twice is treated as no origin', () => {
    expect(requestOrigin(headersOf({ Origin: 'https://app.example.com', origin: 'https://evil.example.net' }))).toBeUndefined();
    expect(requestOrigin(headersOf(
      { Origin: 'https://app.example.com' },
      { Origin: ['https://evil.example.net', 'https://app.example.com'] },
    ))).toBeUndefined();
  });
});
