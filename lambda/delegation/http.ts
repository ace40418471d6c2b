import type { APIGatewayProxyResult } from 'aws-lambda';
import { DelegationError } from './errors';
import type { RequestHeaders } from './headers';
import type { AssumeRoleWithSamlResult } from './sts';

/**
 * Maps results and errors to API Gateway proxy responses: JSON bodies in the shapes Auth0's `/delegation`
 * used, headers that keep credentials out of every cache, and CORS only for configured origins.
 */

/** The 200 body: STS's own shape, as Auth0 returned it. */
export interface DelegationSuccessBody {
  readonly Credentials: {
    readonly AccessKeyId: string;
    readonly SecretAccessKey: string;
    readonly SessionToken: string;
    /** ISO 8601, e.g. `2026-11-23T10:00:00.000Z`. */
    readonly Expiration: string;
  };
  readonly AssumedRoleUser: { readonly Arn: string; readonly AssumedRoleId: string };
  readonly Subject?: string;
  readonly SubjectType?: string;
  readonly Issuer?: string;
  readonly Audience?: string;
  readonly NameQualifier?: string;
  readonly SourceIdentity?: string;
}

/** The body of every error: OAuth 2.0 style. */
export interface DelegationErrorBody {
  readonly error: string;
  readonly error_description: string;
}

const BASE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'application/json',
  'Cache-Control': 'no-store',
  'Pragma': 'no-cache',
  'X-Content-Type-Options': 'nosniff',
};

/** Headers a browser script may read on a cross-origin answer besides the CORS-safelisted ones. */
const EXPOSED_HEADERS = 'Retry-After, WWW-Authenticate';

const INVALID_TOKEN_CHALLENGE = 'Bearer error="invalid_token"';

/**
 * Refuses a browser request from an origin that is not allowed before any token is verified or
 * anything signed: a form-encoded POST needs no CORS preflight, so without this check a foreign page
 * could spend KMS and STS quota although the browser would hide the answer from it. Requests without
 * an `Origin` header (servers, mobile apps) are not affected.
 */
export function assertOriginAllowed(headers: RequestHeaders, allowedOrigins: readonly string[]): void {
  if (!headers.has('origin')) {
    return;
  }
  const origin = headers.origin;
  if (origin === undefined || !allowedOrigins.includes(origin)) {
    throw DelegationError.accessDenied('origin_not_allowed', 'Requests from this origin are not allowed');
  }
}

/** CORS headers for an origin that is exactly one of the allowed ones; nothing for any other (never `*`, never credentials). */
export function corsHeaders(origin: string | undefined, allowedOrigins: readonly string[]): Record<string, string> {
  if (origin === undefined || !allowedOrigins.includes(origin)) {
    return {};
  }
  return {
    'Access-Control-Allow-Origin': origin,
    'Access-Control-Expose-Headers': EXPOSED_HEADERS,
    'Vary': 'Origin',
  };
}

function jsonResponse(statusCode: number, body: unknown, headers: Record<string, string>): APIGatewayProxyResult {
  return { statusCode, headers: { ...headers, ...BASE_HEADERS }, body: JSON.stringify(body) };
}

/** The 200 answer carrying the STS credentials. */
export function successResponse(result: AssumeRoleWithSamlResult, cors: Record<string, string>): APIGatewayProxyResult {
  const body: DelegationSuccessBody = {
    Credentials: {
      AccessKeyId: result.Credentials.AccessKeyId,
      SecretAccessKey: result.Credentials.SecretAccessKey,
      SessionToken: result.Credentials.SessionToken,
      Expiration: result.Credentials.Expiration.toISOString(),
    },
    AssumedRoleUser: { Arn: result.AssumedRoleUser.Arn, AssumedRoleId: result.AssumedRoleUser.AssumedRoleId },
    Subject: result.Subject,
    SubjectType: result.SubjectType,
    Issuer: result.Issuer,
    Audience: result.Audience,
    NameQualifier: result.NameQualifier,
    SourceIdentity: result.SourceIdentity,
  };
  return jsonResponse(200, body, cors);
}

/**
 * The headers a status demands, decided here and nowhere else: the Bearer challenge of every 401
 * (RFC 6750), `Allow` on 405 (RFC 9110), and on 503 how long to wait before retrying.
 */
export function errorHeaders(error: DelegationError): Record<string, string> {
  switch (error.status) {
    case 401:
      return { 'WWW-Authenticate': INVALID_TOKEN_CHALLENGE };
    case 405:
      return { Allow: 'POST' };
    case 503:
      return error.retryAfterSeconds === undefined ? {} : { 'Retry-After': String(error.retryAfterSeconds) };
    default:
      return {};
  }
}

/** The answer for a {@link DelegationError}: its status, the headers that status demands, and the OAuth-style body. */
export function errorResponse(error: DelegationError, cors: Record<string, string>): APIGatewayProxyResult {
  const body: DelegationErrorBody = { error: error.code, error_description: error.description };
  return jsonResponse(error.status, body, { ...cors, ...errorHeaders(error) });
}
