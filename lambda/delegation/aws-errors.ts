/**
 * Turns whatever an AWS SDK call threw (a modeled service error, an unmodeled error code, a network
 * failure or a timeout) into a short, log-safe description, so STS and KMS failures can be mapped to
 * HTTP answers without ever echoing the service's message.
 */
export interface AwsFailure {
  /** The service's error code without the `Exception` suffix (`IDPRejectedClaim`), or `timeout`, `network`, `unknown`. */
  readonly code: string;
  /** STS or KMS asked us to slow down. */
  readonly throttled: boolean;
  /** Likely to pass on its own soon: throttling, 5xx, timeouts and network failures. */
  readonly transient: boolean;
}

const THROTTLING_CODES = new Set([
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'LimitExceededException',
]);

const TIMEOUT_NAMES = new Set(['AbortError', 'TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED']);

/** Seconds a client should wait after a transient failure, and after one an operator has to fix. */
export const RETRY_AFTER_TRANSIENT_SECONDS = 2;
export const RETRY_AFTER_PERSISTENT_SECONDS = 30;

interface SdkErrorShape {
  readonly name?: unknown;
  readonly code?: unknown;
  readonly $fault?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: unknown };
}

function asShape(error: unknown): SdkErrorShape {
  return typeof error === 'object' && error !== null ? error as SdkErrorShape : {};
}

/** Keeps a code usable as a log field and metric reason: word characters only, bounded length. */
function safeCode(value: string): string {
  const cleaned = value.replace(/[^A-Za-z0-9_]/g, '').slice(0, 64);
  return cleaned.length > 0 ? cleaned : 'unknown';
}

/** Classifies an error thrown by an AWS SDK v3 client after its own retries gave up. */
export function classifyAwsFailure(error: unknown): AwsFailure {
  const shape = asShape(error);
  const name = typeof shape.name === 'string' ? shape.name : '';
  const nodeCode = typeof shape.code === 'string' ? shape.code : '';
  const status = typeof shape.$metadata?.httpStatusCode === 'number' ? shape.$metadata.httpStatusCode : undefined;

  if (NETWORK_CODES.has(nodeCode)) {
    return { code: 'network', throttled: false, transient: true };
  }
  if (TIMEOUT_NAMES.has(name) || nodeCode === 'ETIMEDOUT') {
    return { code: 'timeout', throttled: false, transient: true };
  }
  const isServiceError = shape.$fault === 'client' || shape.$fault === 'server' || status !== undefined;
  if (!isServiceError && shape.$metadata !== undefined) {
    // The SDK gave up without any HTTP answer (it may wrap the socket error and lose its code).
    return { code: 'network', throttled: false, transient: true };
  }
  if (!isServiceError || name.length === 0 || name === 'Error') {
    return { code: 'unknown', throttled: false, transient: false };
  }
  const throttled = THROTTLING_CODES.has(name) || status === 429;
  const transient = throttled || shape.$fault === 'server' || (status !== undefined && status >= 500);
  return { code: safeCode(name.replace(/Exception$/, '')), throttled, transient };
}

/** How long a client should wait after `failure`: briefly when it is likely to pass on its own, longer when an operator has to act. */
export function retryAfterSecondsFor(failure: AwsFailure): number {
  return failure.transient ? RETRY_AFTER_TRANSIENT_SECONDS : RETRY_AFTER_PERSISTENT_SECONDS;
}

/** Bounds of an AWS SDK client of the handler. */
export interface AwsClientOptions {
  readonly region: string;
  /** @default 3 */
  readonly maxAttempts?: number;
  /** Milliseconds to open a connection. @default 1000 */
  readonly connectionTimeoutMs?: number;
  /** Milliseconds one attempt may take (the default is the client's own). */
  readonly requestTimeoutMs?: number;
}

/** The client configuration every AWS call of the handler shares: standard jittered retries and bounded timeouts. */
export function boundedClientConfig(options: AwsClientOptions, defaultRequestTimeoutMs: number) {
  return {
    region: options.region,
    maxAttempts: options.maxAttempts ?? 3,
    retryMode: 'standard',
    requestHandler: {
      connectionTimeout: options.connectionTimeoutMs ?? 1000,
      requestTimeout: options.requestTimeoutMs ?? defaultRequestTimeoutMs,
      throwOnRequestTimeout: true,
    },
  };
}
