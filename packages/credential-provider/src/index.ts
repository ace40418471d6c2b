/**
 * An AWS SDK v3 credential provider for a cdk-token-delegation endpoint (`POST /delegation`): it
 * exchanges the signed-in user's id token for short-lived AWS credentials, caches them until shortly
 * before they expire, shares one exchange between concurrent callers and retries the answers that say
 * "try again later". No runtime dependency: it needs a global `fetch` (browsers, Node.js 20+, React
 * Native) or one passed in. The types are written out here, so the package needs no AWS SDK package to
 * type-check; they are structurally the SDK's `AwsCredentialIdentity` and `AwsCredentialIdentityProvider`.
 */

/**
 * What the provider resolves to: an AWS SDK v3 `AwsCredentialIdentity` with its expiration, and the
 * user's id as AWS sees it (as `fromCognitoIdentityPool` adds the `identityId`).
 */
export interface TokenDelegationCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expiration: Date;
  /** The answer's `Subject`, the role policy's `${saml:sub}`: the user's objects live under `<userPrefix><subject>/`. */
  readonly subject: string;
}

/**
 * An AWS SDK v3 credential provider (`AwsCredentialIdentityProvider`): give it to any client as
 * `credentials`. `forceRefresh` (which the SDK may pass) makes a new exchange whatever the cache holds.
 */
export type TokenDelegationCredentialProvider = (properties?: { readonly forceRefresh?: boolean }) => Promise<TokenDelegationCredentials>;

/** The part of a `fetch` answer that the provider reads. */
export interface DelegationResponse {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  json(): Promise<unknown>;
}

/** The request the provider makes. */
export interface DelegationRequest {
  readonly method: 'POST';
  readonly headers: Record<string, string>;
  readonly body?: string;
  /** An `AbortSignal` that fires after `timeoutSeconds` (typed loosely so the package needs no DOM types). */
  readonly signal?: any;
}

/** A `fetch` function; the global `fetch` is one. */
export type DelegationFetch = (url: string, request: DelegationRequest) => Promise<DelegationResponse>;

export interface TokenDelegationOptions {
  /** The deployed endpoint's URL, e.g. the construct's `endpointUrl` (`https://…/v1/delegation`). */
  readonly endpoint: string;
  /**
   * Returns the signed-in user's current id token. Called for every exchange (and every retry), so the
   * identity provider's SDK may renew the token in between.
   */
  readonly idToken: () => string | Promise<string>;
  /** A role ARN to ask for; the endpoint honours it only when the stack makes it client-selectable. */
  readonly role?: string;
  /** A session length to ask for (900 to the stack's session duration). @default the stack's session duration */
  readonly durationSeconds?: number;
  /** Credentials are renewed once they expire within this many seconds (the AWS SDK's own window is 300). @default 300 */
  readonly refreshBeforeExpirySeconds?: number;
  /** Requests per exchange when the endpoint answers 429, 502, 503 or 504. @default 3 */
  readonly maxAttempts?: number;
  /** The longest `Retry-After` the provider waits; a longer one rejects at once. @default 10 */
  readonly maxRetryAfterSeconds?: number;
  /** One request's time limit. @default 30 */
  readonly timeoutSeconds?: number;
  /** Further request headers (e.g. a WAF or API key header), or a function that returns them for each request. */
  readonly headers?: Record<string, string> | (() => Record<string, string> | Promise<Record<string, string>>);
  /** The `fetch` to use. @default globalThis.fetch */
  readonly fetch?: DelegationFetch;
}

/**
 * Why an exchange failed. The message names the HTTP status, the endpoint's `error` code and its
 * `error_description`, and never a token or a credential.
 */
export class TokenDelegationError extends Error {
  /** The HTTP status, or 0 when no answer came (network error, time limit, no id token). */
  declare readonly status: number;
  /**
   * The endpoint's `error` (`invalid_request`, `invalid_token`, `access_denied`, `temporarily_unavailable`,
   * `server_error`), or `network_error`, `timeout`, `invalid_response`, `id_token_unavailable`.
   */
  declare readonly code: string;
  /** The endpoint's `error_description`, or what went wrong on this side. */
  declare readonly description: string;
  /** Whether asking again later could succeed (429, 502, 503, 504, network errors, time limit). */
  declare readonly retryable: boolean;
  /** The endpoint's `Retry-After`, in seconds, when it sent one. */
  declare readonly retryAfterSeconds?: number;

  constructor(status: number, code: string, description: string, retryable: boolean, retryAfterSeconds?: number, cause?: unknown) {
    // A description that quotes a JWT (three base64url segments) loses it.
    const safe = description.slice(0, 500).replace(/[\w-]{16,}\.[\w-]{16,}\.[\w-]+/g, '[redacted]');
    super(`Token delegation failed: ${status ? `HTTP ${status} ` : ''}${code}: ${safe}`);
    Object.assign(this, { name: 'TokenDelegationError', status, code, description: safe, retryable, retryAfterSeconds, cause });
  }
}

/** What the provider needs from its environment; tests pass their own clock. @internal */
export interface ProviderRuntime {
  now(): number;
  sleep(milliseconds: number): Promise<void>;
}

const RETRYABLE_STATUSES = [429, 502, 503, 504];

/** Seconds from a `Retry-After` value (delay-seconds or an HTTP date), or undefined. */
function retryAfter(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value);
  const date = Date.parse(value);
  return isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}

/**
 * The provider for `options`: give it to an AWS SDK v3 client as `credentials`.
 *
 * ```ts
 * const s3 = new S3Client({ region, credentials: fromTokenDelegation({ endpoint, idToken: () => auth.getIdToken() }) });
 * ```
 */
export function fromTokenDelegation(options: TokenDelegationOptions): TokenDelegationCredentialProvider {
  return createTokenDelegationProvider(options, {
    now: () => Date.now(),
    sleep: (milliseconds) => new Promise((resolve) => setTimeout(resolve, milliseconds)),
  });
}

/** `fromTokenDelegation` with the clock and the waits given. @internal */
export function createTokenDelegationProvider(options: TokenDelegationOptions, runtime: ProviderRuntime): TokenDelegationCredentialProvider {
  const send: DelegationFetch = options.fetch ?? ((url, request) => fetch(url, request));
  const windowMs = (options.refreshBeforeExpirySeconds ?? 300) * 1000;
  const maxAttempts = options.maxAttempts ?? 3;
  const maxRetryAfterSeconds = options.maxRetryAfterSeconds ?? 10;
  const timeoutMs = (options.timeoutSeconds ?? 30) * 1000;
  const body = options.role !== undefined || options.durationSeconds !== undefined
    ? JSON.stringify({ role: options.role, durationSeconds: options.durationSeconds })
    : undefined;
  let cached: TokenDelegationCredentials | undefined;
  let pending: Promise<TokenDelegationCredentials> | undefined;

  /** One request: the credentials, or a TokenDelegationError. */
  const request = async (): Promise<TokenDelegationCredentials> => {
    let idToken: string;
    let extra: Record<string, string>;
    try {
      idToken = await options.idToken();
      extra = typeof options.headers === 'function' ? await options.headers() : options.headers ?? {};
    } catch (error) {
      throw new TokenDelegationError(0, 'id_token_unavailable', 'the idToken or headers function failed', false, undefined, error);
    }
    if (typeof idToken !== 'string' || !idToken) {
      throw new TokenDelegationError(0, 'id_token_unavailable', 'the idToken function returned no token', false);
    }
    const controller = typeof AbortController === 'function' ? new AbortController() : undefined;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller?.abort();
    }, timeoutMs);
    let status: number;
    let headers: DelegationResponse['headers'];
    let answer: any;
    try {
      const response = await send(options.endpoint, {
        method: 'POST',
        headers: { ...extra, ...(body ? { 'Content-Type': 'application/json' } : {}), Authorization: `Bearer ${idToken}` },
        body,
        signal: controller?.signal,
      });
      status = response.status;
      headers = response.headers;
      answer = await response.json().catch(() => undefined);
    } catch (error) {
      throw new TokenDelegationError(0, timedOut ? 'timeout' : 'network_error', timedOut
        ? `no answer within ${timeoutMs / 1000} s`
        : 'the endpoint could not be reached', true, undefined, error);
    } finally {
      clearTimeout(timer);
    }
    if (status === 200) {
      const credentials = answer?.Credentials;
      const expiration = new Date(credentials?.Expiration);
      if (typeof credentials?.AccessKeyId !== 'string' || typeof credentials.SecretAccessKey !== 'string'
        || typeof credentials.SessionToken !== 'string' || isNaN(expiration.getTime()) || typeof answer.Subject !== 'string') {
        throw new TokenDelegationError(200, 'invalid_response', 'the answer holds no Credentials and Subject', false);
      }
      return {
        accessKeyId: credentials.AccessKeyId,
        secretAccessKey: credentials.SecretAccessKey,
        sessionToken: credentials.SessionToken,
        expiration,
        subject: answer.Subject,
      };
    }
    throw new TokenDelegationError(
      status,
      typeof answer?.error === 'string' ? answer.error : 'http_error',
      typeof answer?.error_description === 'string' ? answer.error_description : 'the endpoint refused the exchange',
      RETRYABLE_STATUSES.includes(status),
      retryAfter(headers.get('retry-after'), runtime.now()),
    );
  };

  /** Requests until an answer that is not worth retrying, at most `maxAttempts`. */
  const exchange = async (): Promise<TokenDelegationCredentials> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await request();
      } catch (error) {
        const failure = error as TokenDelegationError;
        const waitSeconds = failure.retryAfterSeconds ?? 1;
        if (!failure.status || !failure.retryable || attempt >= maxAttempts || waitSeconds > maxRetryAfterSeconds) throw failure;
        await runtime.sleep(waitSeconds * 1000);
      }
    }
  };

  return (properties) => {
    if (!properties?.forceRefresh && cached && cached.expiration.getTime() - runtime.now() > windowMs) {
      return Promise.resolve(cached);
    }
    pending ??= exchange().then(
      (fresh) => (cached = fresh),
      (error: TokenDelegationError) => {
        // A passing outage leaves credentials that are still valid in use; nothing expired is ever kept.
        if (cached && error.retryable && cached.expiration.getTime() > runtime.now()) return cached;
        cached = undefined;
        throw error;
      },
    ).finally(() => {
      pending = undefined;
    });
    return pending;
  };
}
