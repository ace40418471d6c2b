/** How a delegation request ended: the `Outcome` dimension of the handler's metric and the `error` of its answer. */
export enum DelegationOutcome {
  /** Credentials were issued. */
  ISSUED = 'issued',
  /** 400: a malformed request (or 405/413/415 for the method, size or content type). */
  INVALID_REQUEST = 'invalid_request',
  /** 400: a `grant_type` other than the JWT bearer grant. */
  UNSUPPORTED_GRANT_TYPE = 'unsupported_grant_type',
  /** 401: the id token was refused (signature, issuer, audience, times, type). */
  INVALID_TOKEN = 'invalid_token',
  /** 403: the token is valid but the subject, role, tags or origin are not allowed, or STS refused the assertion. */
  ACCESS_DENIED = 'access_denied',
  /** 503: the issuer's JWKS, KMS or STS was unreachable or throttling. */
  TEMPORARILY_UNAVAILABLE = 'temporarily_unavailable',
  /** 500: a bug or a configuration error (e.g. STS refused the call's parameters). */
  SERVER_ERROR = 'server_error',
}
