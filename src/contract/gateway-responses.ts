/**
 * The answers API Gateway gives itself, before or instead of the handler (throttling, request
 * validation, unknown paths, integration failures), in the handler's shape: an OAuth-style JSON body
 * `{error, error_description}`, no caching, and CORS for the allowed origin.
 *
 * Import-free, so that the loopback HTTP adapter answers exactly what the deployed gateway does.
 */

/** One gateway response: API Gateway's response type, the status it answers with, and the body. */
export interface GatewayAnswer {
  /** API Gateway's `ResponseType`, e.g. `THROTTLED`. */
  readonly type: string;
  /** The status API Gateway uses for this type (kept: the body only is replaced). */
  readonly statusCode: number;
  readonly error: string;
  readonly description: string;
  /** Further headers, e.g. `Retry-After`. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** The gateway responses the endpoint sets; DEFAULT_4XX and DEFAULT_5XX cover every other type. */
export const GATEWAY_ANSWERS: Readonly<Record<string, GatewayAnswer>> = {
  THROTTLED: {
    type: 'THROTTLED',
    statusCode: 429,
    error: 'temporarily_unavailable',
    description: 'Too many requests; retry later',
    headers: { 'Retry-After': '1' },
  },
  BAD_REQUEST_BODY: {
    type: 'BAD_REQUEST_BODY',
    statusCode: 400,
    error: 'invalid_request',
    description: 'The request body does not match the delegation request (unknown field, wrong type or too long)',
  },
  MISSING_AUTHENTICATION_TOKEN: {
    type: 'MISSING_AUTHENTICATION_TOKEN',
    statusCode: 403,
    error: 'invalid_request',
    description: 'No such resource or method: the endpoint answers POST /delegation only',
  },
  REQUEST_TOO_LARGE: {
    type: 'REQUEST_TOO_LARGE',
    statusCode: 413,
    error: 'invalid_request',
    description: 'The request is too large',
  },
  WAF_FILTERED: {
    type: 'WAF_FILTERED',
    statusCode: 403,
    error: 'access_denied',
    description: 'The request was refused by the web application firewall',
  },
  INTEGRATION_TIMEOUT: {
    type: 'INTEGRATION_TIMEOUT',
    statusCode: 504,
    error: 'temporarily_unavailable',
    description: 'The delegation service did not answer in time; retry later',
    headers: { 'Retry-After': '2' },
  },
  DEFAULT_4XX: {
    type: 'DEFAULT_4XX',
    statusCode: 400,
    error: 'invalid_request',
    description: 'The request was refused',
  },
  DEFAULT_5XX: {
    type: 'DEFAULT_5XX',
    statusCode: 500,
    error: 'temporarily_unavailable',
    description: 'The delegation service is temporarily unavailable; retry later',
    headers: { 'Retry-After': '2' },
  },
};

/** The JSON body of a gateway answer (a constant: API Gateway sends it as its mapping template). */
export function gatewayAnswerBody(answer: GatewayAnswer): string {
  return JSON.stringify({ error: answer.error, error_description: answer.description });
}

/**
 * The headers of a gateway answer. A gateway response can only carry literal values (or copy a request
 * value unconditionally), so it can name one allowed origin and no more: with one allowed origin that
 * origin; with several none (a browser then sees a CORS failure for the gateway's own errors only).
 */
export function gatewayAnswerHeaders(answer: GatewayAnswer, allowedOrigins: readonly string[]): Record<string, string> {
  return {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    ...(allowedOrigins.length === 1 ? {
      'Access-Control-Allow-Origin': allowedOrigins[0],
      'Access-Control-Expose-Headers': 'Retry-After, WWW-Authenticate',
      'Vary': 'Origin',
    } : {}),
    ...answer.headers,
  };
}
