/**
 * Every refusal the delegation endpoint answers, built in one place so that a status always comes
 * with the same OAuth `error` code and a dependency's outage always reads the same. Response headers
 * (`WWW-Authenticate`, `Retry-After`, `Allow`) follow from the status and are added by `http.ts` alone.
 */
import { DelegationOutcome } from '../../src/contract/delegation-outcome';

/** The AWS services and remote keys a request depends on; each names the `<dependency>_…` reasons of its 503s. */
export type Dependency = 'jwks' | 'kms' | 'secretsmanager' | 'sts';

/** What a client reads when a dependency fails: never the dependency's own message. */
const UNAVAILABLE_DESCRIPTIONS: Readonly<Record<Dependency, string>> = {
  jwks: 'The token issuer\'s keys cannot be fetched right now; try again later',
  kms: 'The signing service is temporarily unavailable; retry later',
  secretsmanager: 'The signing service is temporarily unavailable; retry later',
  sts: 'AWS STS is temporarily unavailable; retry later',
};

/**
 * An OAuth-style error answered to the client; nothing is issued when one is thrown. Build it with
 * the static factories, one per kind of refusal, so that status and OAuth code never drift apart
 * (the constructor stays public only so that `instanceof` checks and jest's `toThrow` accept the class).
 */
export class DelegationError extends Error {
  /** 400 `invalid_request`: the request itself is malformed or asks for something unsupported. */
  static badRequest(reason: string, description: string): DelegationError {
    return new DelegationError(400, DelegationOutcome.INVALID_REQUEST, description, reason);
  }

  /** 400 `unsupported_grant_type`: an Auth0 legacy body with another `grant_type` than JWT bearer. */
  static unsupportedGrantType(reason: string, description: string): DelegationError {
    return new DelegationError(400, DelegationOutcome.UNSUPPORTED_GRANT_TYPE, description, reason);
  }

  /** 401 `invalid_token`: the id token is not acceptable (answered with a Bearer challenge). */
  static invalidToken(reason: string, description: string): DelegationError {
    return new DelegationError(401, DelegationOutcome.INVALID_TOKEN, description, reason);
  }

  /** 403 `access_denied`: the token is valid, but this user, origin, role or principal is not allowed. */
  static accessDenied(reason: string, description: string): DelegationError {
    return new DelegationError(403, DelegationOutcome.ACCESS_DENIED, description, reason);
  }

  /** 405 `invalid_request`: any method but POST (answered with `Allow: POST`). */
  static methodNotAllowed(reason: string, description: string): DelegationError {
    return new DelegationError(405, DelegationOutcome.INVALID_REQUEST, description, reason);
  }

  /** 413 `invalid_request`: the body is larger than the endpoint accepts. */
  static payloadTooLarge(reason: string, description: string): DelegationError {
    return new DelegationError(413, DelegationOutcome.INVALID_REQUEST, description, reason);
  }

  /** 415 `invalid_request`: a body in a media type the endpoint does not read. */
  static unsupportedMediaType(reason: string, description: string): DelegationError {
    return new DelegationError(415, DelegationOutcome.INVALID_REQUEST, description, reason);
  }

  /**
   * 503 `temporarily_unavailable`: `dependency` failed with `detail` (e.g. `Throttling`, `timeout`), and the
   * client may retry after `retryAfterSeconds`. The reason is `<dependency>_<detail>`.
   */
  static unavailable(dependency: Dependency, detail: string, retryAfterSeconds: number): DelegationError {
    return new DelegationError(503, DelegationOutcome.TEMPORARILY_UNAVAILABLE, UNAVAILABLE_DESCRIPTIONS[dependency], `${dependency}_${detail}`, { retryAfterSeconds });
  }

  /**
   * 500 `server_error` for a deployment an operator must fix (e.g. STS refusing a parameter from the
   * configuration): not 403, the user is not refused; not 503, a retry cannot help. `cause` is logged,
   * never answered.
   */
  static misconfigured(reason: string, cause: unknown): DelegationError {
    return new DelegationError(500, DelegationOutcome.SERVER_ERROR, 'The delegation service is misconfigured; see its logs', reason, { cause });
  }

  /** 500 `server_error` for a bug: a generic description and nothing of the failure itself. */
  static unexpected(): DelegationError {
    return new DelegationError(500, DelegationOutcome.SERVER_ERROR, 'The delegation service failed unexpectedly', 'unexpected_error');
  }

  /** Seconds a client should wait before retrying; set on every 503. */
  readonly retryAfterSeconds?: number;

  constructor(
    /** HTTP status: 400, 401, 403, 405, 413, 415, 503 (500 only for bugs and misconfiguration). */
    readonly status: number,
    /** OAuth-style `error` code: the outcome of the request, as the handler's metric counts it. */
    readonly code: DelegationOutcome,
    /** Human-readable `error_description`; never contains a token, assertion or credential. */
    readonly description: string,
    /** Short machine-readable reason for logs and metrics, e.g. `jwt_expired`. */
    readonly reason: string,
    options: { readonly retryAfterSeconds?: number; readonly cause?: unknown } = {},
  ) {
    super(description, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DelegationError';
    if (options.retryAfterSeconds !== undefined) {
      this.retryAfterSeconds = options.retryAfterSeconds;
    }
  }
}
