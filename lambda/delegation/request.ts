import type { APIGatewayProxyEvent } from 'aws-lambda';
import { parseStrictJsonObject, type StrictJsonError } from './strict-json';
import { DelegationError, type DelegationRequest } from './types';
import { MAX_ID_TOKEN_CHARS } from '../../src/delegation-environment';

export { hasDuplicateTopLevelKey } from './strict-json';

/** The grant type of Auth0's legacy `/delegation` endpoint (RFC 7523 JWT bearer). */
export const JWT_BEARER_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const DEFAULT_MAX_BODY_BYTES = 16 * 1024;
/**
 * The one size limit of an id token, however it arrives (Auth0 body as JSON or form, or Bearer header), and
 * the API Gateway model's limit too. Real id tokens are 1..8 KB (Entra ID and Cognito with many groups reach
 * several KB); anything larger is refused before any parsing or key lookup.
 */
export const MAX_TOKEN_CHARS = MAX_ID_TOKEN_CHARS;
const MAX_FIELD_CHARS = 2048;

const LEGACY_REQUIRED_FIELDS = ['client_id', 'grant_type', 'id_token', 'target', 'api_type'] as const;
const LEGACY_OPTIONAL_FIELDS = ['role', 'principal', 'scope'] as const;
const BEARER_BODY_FIELDS = ['role', 'durationSeconds'] as const;
/** Compact JWS: three base64url segments; the signature may be empty so that `alg: none` reaches the verifier and is refused there with a precise reason. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const BEARER_AUTHORIZATION = /^Bearer +(\S+) *$/i;
/** Field names echoed in error descriptions: letters and underscores only, so no token fragment is ever quoted. */
const SAFE_FIELD_NAME = /^[A-Za-z_]{1,32}$/;

type BodyKind = 'json' | 'form';

export interface ParseRequestOptions {
  /** Largest accepted body after base64 decoding, in bytes. @default 16384 */
  readonly maxBodyBytes?: number;
}

function badRequest(description: string, reason = 'invalid_request'): DelegationError {
  return new DelegationError(400, 'invalid_request', description, {}, reason);
}

/**
 * Parses `POST /delegation` strictly into a {@link DelegationRequest}: either the Auth0 legacy body
 * (JSON or form) or `Authorization: Bearer <id_token>` with an optional JSON body. Anything unexpected
 * is refused with a DelegationError whose description never contains the token.
 */
export function parseDelegationRequest(event: APIGatewayProxyEvent, options: ParseRequestOptions = {}): DelegationRequest {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (event.httpMethod !== 'POST') {
    throw new DelegationError(405, 'invalid_request', 'Only POST is supported', { Allow: 'POST' }, 'method_not_allowed');
  }
  if (hasQueryParameters(event)) {
    throw badRequest('Query parameters are not accepted; send the token in the body or the Authorization header', 'query_string');
  }
  const headers = normalizeHeaders(event);
  const body = decodeBody(event, maxBodyBytes);
  const authorization = headers.get('authorization');
  const fields = body === '' ? undefined : parseBody(body, bodyKindOf(headers.get('content-type')));

  if (authorization !== undefined) {
    return parseBearerRequest(authorization, fields);
  }
  if (fields === undefined) {
    throw badRequest('Missing request body or Authorization header', 'missing_token');
  }
  return parseLegacyRequest(fields.values);
}

function hasQueryParameters(event: APIGatewayProxyEvent): boolean {
  const single = event.queryStringParameters ?? {};
  const multi = event.multiValueQueryStringParameters ?? {};
  return Object.keys(single).length > 0 || Object.keys(multi).length > 0;
}

/** Lower-cases header names and refuses a repeated Authorization or Content-Type, which could be read differently by different layers. */
function normalizeHeaders(event: APIGatewayProxyEvent): Map<string, string> {
  const headers = new Map<string, string>();
  const counts = new Map<string, number>();
  const count = (name: string, values: number) => counts.set(name, (counts.get(name) ?? 0) + values);
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    count(lower, 1);
    headers.set(lower, value);
  }
  const multiCounts = new Map<string, number>();
  for (const [name, values] of Object.entries(event.multiValueHeaders ?? {})) {
    if (values === undefined) continue;
    const lower = name.toLowerCase();
    multiCounts.set(lower, (multiCounts.get(lower) ?? 0) + values.length);
    if (!headers.has(lower) && values.length > 0) {
      headers.set(lower, values[values.length - 1]);
    }
  }
  for (const name of ['authorization', 'content-type']) {
    if ((counts.get(name) ?? 0) > 1 || (multiCounts.get(name) ?? 0) > 1) {
      throw badRequest(`The ${name === 'authorization' ? 'Authorization' : 'Content-Type'} header must appear once`, 'duplicate_header');
    }
  }
  return headers;
}

function decodeBody(event: APIGatewayProxyEvent, maxBodyBytes: number): string {
  const raw = event.body ?? '';
  const tooLarge = () => new DelegationError(413, 'invalid_request', `Request body exceeds ${maxBodyBytes} bytes`, {}, 'body_too_large');
  let bytes: Buffer;
  if (event.isBase64Encoded) {
    // Checked before decoding so a huge body costs no allocation.
    if (raw.length > Math.ceil(maxBodyBytes / 3) * 4 + 4) throw tooLarge();
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(raw) || raw.length % 4 !== 0) {
      throw badRequest('Request body is not valid base64', 'body_encoding');
    }
    bytes = Buffer.from(raw, 'base64');
  } else {
    if (raw.length > maxBodyBytes) throw tooLarge();
    bytes = Buffer.from(raw, 'utf8');
  }
  if (bytes.length > maxBodyBytes) throw tooLarge();
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw badRequest('Request body is not valid UTF-8', 'body_encoding');
  }
}

/** Accepts `application/json` and `application/x-www-form-urlencoded`, with at most a UTF-8 `charset` parameter. */
function bodyKindOf(contentType: string | undefined): BodyKind {
  const unsupported = () => new DelegationError(
    415, 'invalid_request',
    'Content-Type must be application/json or application/x-www-form-urlencoded (charset utf-8)', {}, 'content_type',
  );
  if (contentType === undefined) throw unsupported();
  const [mediaType, ...parameters] = contentType.split(';').map((part) => part.trim());
  for (const parameter of parameters) {
    const match = /^charset=(?:"utf-8"|utf-8)$/i.exec(parameter);
    if (!match) throw unsupported();
  }
  switch (mediaType.toLowerCase()) {
    case 'application/json':
      return 'json';
    case 'application/x-www-form-urlencoded':
      return 'form';
    default:
      throw unsupported();
  }
}

interface BodyFields {
  readonly kind: BodyKind;
  readonly values: Readonly<Record<string, unknown>>;
}

function parseBody(body: string, kind: BodyKind): BodyFields {
  if (kind === 'json') {
    try {
      return { kind, values: parseStrictJsonObject(body) };
    } catch (error) {
      const problem = (error as StrictJsonError).problem;
      if (problem === 'duplicate_member') throw badRequest('Request body repeats a field', 'duplicate_field');
      throw badRequest(problem === 'not_object' ? 'Request body must be a JSON object' : 'Request body is not valid JSON', 'body_json');
    }
  }
  // A prototype-less object keeps a field named `__proto__` an ordinary (and refused) field.
  const values: Record<string, unknown> = Object.create(null);
  for (const [name, value] of new URLSearchParams(body)) {
    if (Object.hasOwn(values, name)) {
      throw badRequest('Request body repeats a field', 'duplicate_field');
    }
    values[name] = value;
  }
  return { kind, values };
}

/** What auth0.js v7's `refreshToken` (and `getDelegationToken` with a refresh token) sends instead of an id token. */
export const REFRESH_TOKEN_REFUSAL = 'refresh_token is not accepted: this endpoint exchanges only an id_token. '
  + 'Get a fresh id_token from your identity provider (for example by silent authentication) and send it as id_token '
  + 'or as Authorization: Bearer';

function refuseUnknownFields(values: Readonly<Record<string, unknown>>, allowed: readonly string[]): void {
  // Named before any other unknown field, so a refresh-token request always gets the sentence that says what to send.
  if ('refresh_token' in values && !allowed.includes('refresh_token')) {
    throw badRequest(REFRESH_TOKEN_REFUSAL, 'unknown_field');
  }
  for (const name of Object.keys(values)) {
    if (!allowed.includes(name)) {
      throw badRequest(SAFE_FIELD_NAME.test(name) ? `Unknown field "${name}"` : 'Unknown field (name not shown)', 'unknown_field');
    }
  }
}

function optionalStringField(values: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const value = values[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '' || value.length > MAX_FIELD_CHARS) {
    throw badRequest(`Field "${name}" must be a non-empty string of at most ${MAX_FIELD_CHARS} characters`, 'field_invalid');
  }
  return value;
}

function checkToken(token: unknown): string {
  if (typeof token !== 'string' || token === '') {
    throw badRequest('The id_token is missing or empty', 'missing_token');
  }
  if (token.length > MAX_TOKEN_CHARS) {
    throw badRequest(`The id_token exceeds ${MAX_TOKEN_CHARS} characters`, 'token_too_large');
  }
  if (!COMPACT_JWS.test(token)) {
    throw badRequest('The id_token must be a compact JWS (three base64url segments)', 'token_format');
  }
  return token;
}

function parseLegacyRequest(values: Readonly<Record<string, unknown>>): DelegationRequest {
  refuseUnknownFields(values, [...LEGACY_REQUIRED_FIELDS, ...LEGACY_OPTIONAL_FIELDS]);
  const grantType = values.grant_type;
  if (grantType === undefined) {
    throw badRequest('Field "grant_type" is required', 'missing_field');
  }
  if (grantType !== JWT_BEARER_GRANT_TYPE) {
    throw new DelegationError(400, 'unsupported_grant_type', `grant_type must be ${JWT_BEARER_GRANT_TYPE}`, {}, 'grant_type');
  }
  const idToken = checkToken(values.id_token);
  // The token has its own limit (checked above); the general field limit is for the other fields.
  for (const name of LEGACY_REQUIRED_FIELDS.filter((field) => field !== 'id_token')) {
    if (optionalStringField(values, name) === undefined) {
      throw badRequest(`Field "${name}" is required`, 'missing_field');
    }
  }
  if (values.api_type !== 'aws') {
    throw badRequest('api_type must be "aws"', 'api_type');
  }
  optionalStringField(values, 'scope');
  const requestedRoleArn = optionalStringField(values, 'role');
  const requestedPrincipalArn = optionalStringField(values, 'principal');
  return {
    idToken,
    form: 'auth0-legacy',
    clientId: values.client_id as string,
    ...(requestedRoleArn === undefined ? {} : { requestedRoleArn }),
    ...(requestedPrincipalArn === undefined ? {} : { requestedPrincipalArn }),
  };
}

function parseBearerRequest(authorization: string, fields: BodyFields | undefined): DelegationRequest {
  const match = BEARER_AUTHORIZATION.exec(authorization);
  if (!match) {
    throw badRequest('The Authorization header must use the Bearer scheme', 'authorization_scheme');
  }
  const idToken = checkToken(match[1]);
  if (fields === undefined) {
    return { idToken, form: 'bearer' };
  }
  if (Object.hasOwn(fields.values, 'id_token')) {
    throw badRequest('Send the token either in the Authorization header or in the body, not both', 'token_twice');
  }
  if (fields.kind !== 'json') {
    throw new DelegationError(415, 'invalid_request', 'With a Bearer token the body must be application/json', {}, 'content_type');
  }
  refuseUnknownFields(fields.values, BEARER_BODY_FIELDS);
  const requestedRoleArn = optionalStringField(fields.values, 'role');
  const duration = fields.values.durationSeconds;
  if (duration !== undefined && (typeof duration !== 'number' || !Number.isSafeInteger(duration))) {
    throw badRequest('durationSeconds must be an integer number of seconds', 'duration_type');
  }
  return {
    idToken,
    form: 'bearer',
    ...(requestedRoleArn === undefined ? {} : { requestedRoleArn }),
    ...(duration === undefined ? {} : { requestedDurationSeconds: duration }),
  };
}
