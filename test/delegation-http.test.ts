import type { APIGatewayProxyEvent } from 'aws-lambda';
import { corsHeaders, errorResponse, requestOrigin, serverError, successResponse } from '../lambda/delegation/http';
import { DelegationError } from '../lambda/delegation/types';

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
    const error = new DelegationError(503, 'temporarily_unavailable', 'Try later', { 'Retry-After': '2' }, 'sts_Throttling');
    const response = errorResponse(error, {});

    expect(response.statusCode).toBe(503);
    expect(response.headers).toEqual({ ...NO_STORE_HEADERS, 'Retry-After': '2' });
    expect(JSON.parse(response.body)).toEqual({ error: 'temporarily_unavailable', error_description: 'Try later' });
  });

  test('every 401 carries a Bearer invalid_token challenge', () => {
    const response = errorResponse(new DelegationError(401, 'invalid_token', 'Token expired'), {});
    expect(response.statusCode).toBe(401);
    expect(response.headers!['WWW-Authenticate']).toBe('Bearer error="invalid_token"');
  });

  test('a 401 that brings its own challenge keeps it and gets no second one', () => {
    const error = new DelegationError(401, 'invalid_token', 'Bad token', { 'www-authenticate': 'Bearer error="invalid_token", error_description="expired"' });
    const headers = errorResponse(error, {}).headers!;
    expect(headers['www-authenticate']).toBe('Bearer error="invalid_token", error_description="expired"');
    expect(headers['WWW-Authenticate']).toBeUndefined();
  });

  test('error headers cannot override the no-store and content-type headers', () => {
    const error = new DelegationError(400, 'invalid_request', 'x', { 'Cache-Control': 'max-age=3600', 'Content-Type': 'text/html' });
    expect(errorResponse(error, {}).headers).toMatchObject(NO_STORE_HEADERS);
  });

  test('non-401 errors carry no challenge', () => {
    const response = errorResponse(new DelegationError(403, 'access_denied', 'No'), {});
    expect(response.headers!['WWW-Authenticate']).toBeUndefined();
  });

  test('serverError is a generic 500 server_error', () => {
    const response = errorResponse(serverError(), {});
    expect(response.statusCode).toBe(500);
    expect(JSON.parse(response.body)).toEqual({ error: 'server_error', error_description: 'The delegation service failed unexpectedly' });
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
