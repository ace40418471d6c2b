import type { APIGatewayProxyEvent } from 'aws-lambda';
import { DelegationError } from './errors';
import { RequestHeaders } from './headers';
import { parseStrictJsonObject, type StrictJsonError } from './strict-json';
import type { DelegationRequest } from './types';
import { MAX_ID_TOKEN_CHARS } from '../../src/contract/delegation-environment';
import { isBase64OneLine } from '../../src/contract/formats';

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
/**
 * `Bearer 1*SP token` (RFC 6750 2.1), the scheme in any case (RFC 9110 11.1: auth schemes are
 * case-insensitive, and refusing `bearer` would break conforming clients), and nothing before the scheme
 * or after the token. The per-token WAF rate limit keys on this header after LOWERCASE and
 * COMPRESS_WHITE_SPACE (src/private/rate-limit-web-acl.ts), which map every spelling accepted here of one
 * token to one key; trailing white space (which RFC 9110 5.5 puts outside a field value, and which WAF
 * would not remove) is therefore refused rather than ignored, so no spelling earns a rate-limit key of its own.
 */
const BEARER_AUTHORIZATION = /^Bearer +(\S+)$/i;
/** Field names echoed in error descriptions: letters and underscores only, so no token fragment is ever quoted. */
const SAFE_FIELD_NAME = /^[A-Za-z_]{1,32}$/;

type BodyKind = 'json' | 'form';

export interface ParseRequestOptions {
  /** Largest accepted body after base64 decoding, in bytes. @default 16384 */
  readonly maxBodyBytes?: number;
}

/**
 * Parses `POST /delegation` strictly into a {@link DelegationRequest}: either the Auth0 legacy body
 * (JSON or form) or `Authorization: Bearer <id_token>` with an optional JSON body. Anything unexpected
 * is refused with a DelegationError whose description never contains the token. `headers` are the
 * event's, passed in when the caller has read them already.
 */
export function parseDelegationRequest(
  event: APIGatewayProxyEvent,
  options: ParseRequestOptions = {},
  headers: RequestHeaders = RequestHeaders.of(event),
): DelegationRequest {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (event.httpMethod !== 'POST') {
    throw DelegationError.methodNotAllowed('method_not_allowed', 'Only POST is supported');
  }
  if (hasQueryParameters(event)) {
    throw DelegationError.badRequest('query_string', 'Query parameters are not accepted; send the token in the body or the Authorization header');
  }
  refuseRepeatedHeaders(headers);
  const body = decodeBody(event, maxBodyBytes);
  const authorization = headers.get('authorization');
  const fields = body === '' ? undefined : parseBody(body, bodyKindOf(headers.get('content-type')));

  if (authorization !== undefined) {
    return parseBearerRequest(authorization, fields);
  }
  if (fields === undefined) {
    throw DelegationError.badRequest('missing_token', 'Missing request body or Authorization header');
  }
  return parseLegacyRequest(fields.values);
}

function hasQueryParameters(event: APIGatewayProxyEvent): boolean {
  const single = event.queryStringParameters ?? {};
  const multi = event.multiValueQueryStringParameters ?? {};
  return Object.keys(single).length > 0 || Object.keys(multi).length > 0;
}

/** Refuses a repeated Authorization or Content-Type, which could be read differently by different layers. */
function refuseRepeatedHeaders(headers: RequestHeaders): void {
  for (const name of ['authorization', 'content-type']) {
    if (headers.repeated(name)) {
      throw DelegationError.badRequest('duplicate_header', `The ${name === 'authorization' ? 'Authorization' : 'Content-Type'} header must appear once`);
    }
  }
}

function decodeBody(event: APIGatewayProxyEvent, maxBodyBytes: number): string {
  const raw = event.body ?? '';
  const tooLarge = () => DelegationError.payloadTooLarge('body_too_large', `Request body exceeds ${maxBodyBytes} bytes`);
  let bytes: Buffer;
  if (event.isBase64Encoded) {
    // Checked before decoding so a huge body costs no allocation.
    if (raw.length > Math.ceil(maxBodyBytes / 3) * 4 + 4) throw tooLarge();
    if (!isBase64OneLine(raw, { allowEmpty: true })) {
      throw DelegationError.badRequest('body_encoding', 'Request body is not valid base64');
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
    throw DelegationError.badRequest('body_encoding', 'Request body is not valid UTF-8');
  }
}

/** Accepts `application/json` and `application/x-www-form-urlencoded`, with at most a UTF-8 `charset` parameter. */
function bodyKindOf(contentType: string | undefined): BodyKind {
  const unsupported = () => DelegationError.unsupportedMediaType(
    'content_type', 'Content-Type must be application/json or application/x-www-form-urlencoded (charset utf-8)',
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
      if (problem === 'duplicate_member') throw DelegationError.badRequest('duplicate_field', 'Request body repeats a field');
      if (problem === 'proto_member') throw DelegationError.badRequest('unknown_field', 'Request body has a member named __proto__');
      throw DelegationError.badRequest('body_json', problem === 'not_object' ? 'Request body must be a JSON object' : 'Request body is not valid JSON');
    }
  }
  // A prototype-less object keeps a field named `__proto__` an ordinary (and refused) field.
  const values: Record<string, unknown> = Object.create(null);
  for (const [name, value] of new URLSearchParams(body)) {
    if (Object.hasOwn(values, name)) {
      throw DelegationError.badRequest('duplicate_field', 'Request body repeats a field');
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
    throw DelegationError.badRequest('unknown_field', REFRESH_TOKEN_REFUSAL);
  }
  for (const name of Object.keys(values)) {
    if (!allowed.includes(name)) {
      throw DelegationError.badRequest('unknown_field', SAFE_FIELD_NAME.test(name) ? `Unknown field "${name}"` : 'Unknown field (name not shown)');
    }
  }
}

function optionalStringField(values: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const value = values[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '' || value.length > MAX_FIELD_CHARS) {
    throw DelegationError.badRequest('field_invalid', `Field "${name}" must be a non-empty string of at most ${MAX_FIELD_CHARS} characters`);
  }
  return value;
}

function checkToken(token: unknown): string {
  if (typeof token !== 'string' || token === '') {
    throw DelegationError.badRequest('missing_token', 'The id_token is missing or empty');
  }
  if (token.length > MAX_TOKEN_CHARS) {
    throw DelegationError.badRequest('token_too_large', `The id_token exceeds ${MAX_TOKEN_CHARS} characters`);
  }
  if (!COMPACT_JWS.test(token)) {
    throw DelegationError.badRequest('token_format', 'The id_token must be a compact JWS (three base64url segments)');
  }
  return token;
}

function parseLegacyRequest(values: Readonly<Record<string, unknown>>): DelegationRequest {
  refuseUnknownFields(values, [...LEGACY_REQUIRED_FIELDS, ...LEGACY_OPTIONAL_FIELDS]);
  const grantType = values.grant_type;
  if (grantType === undefined) {
    throw DelegationError.badRequest('missing_field', 'Field "grant_type" is required');
  }
  if (grantType !== JWT_BEARER_GRANT_TYPE) {
    throw DelegationError.unsupportedGrantType('grant_type', `grant_type must be ${JWT_BEARER_GRANT_TYPE}`);
  }
  const idToken = checkToken(values.id_token);
  // The token has its own limit (checked above); the general field limit is for the other fields.
  for (const name of LEGACY_REQUIRED_FIELDS.filter((field) => field !== 'id_token')) {
    if (optionalStringField(values, name) === undefined) {
      throw DelegationError.badRequest('missing_field', `Field "${name}" is required`);
    }
  }
  if (values.api_type !== 'aws') {
    throw DelegationError.badRequest('api_type', 'api_type must be "aws"');
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
    throw DelegationError.badRequest('authorization_scheme', 'The Authorization header must use the Bearer scheme');
  }
  const idToken = checkToken(match[1]);
  if (fields === undefined) {
    return { idToken, form: 'bearer' };
  }
  if (Object.hasOwn(fields.values, 'id_token')) {
    throw DelegationError.badRequest('token_twice', 'Send the token either in the Authorization header or in the body, not both');
  }
  if (fields.kind !== 'json') {
    throw DelegationError.unsupportedMediaType('content_type', 'With a Bearer token the body must be application/json');
  }
  refuseUnknownFields(fields.values, BEARER_BODY_FIELDS);
  const requestedRoleArn = optionalStringField(fields.values, 'role');
  const duration = fields.values.durationSeconds;
  if (duration !== undefined && (typeof duration !== 'number' || !Number.isSafeInteger(duration))) {
    throw DelegationError.badRequest('duration_type', 'durationSeconds must be an integer number of seconds');
  }
  return {
    idToken,
    form: 'bearer',
    ...(requestedRoleArn === undefined ? {} : { requestedRoleArn }),
    ...(duration === undefined ? {} : { requestedDurationSeconds: duration }),
  };
}
