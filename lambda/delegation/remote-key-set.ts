import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';

/**
 * What a key set fetch needs from the network: GET `url` with `headers`, ended by `signal`, answering
 * the status and the parsed body ({@link fetchJwks} in jwks-fetch.ts, on node:http(s)).
 */
export type KeySetFetch = (url: string, init: {
  readonly headers: Readonly<Record<string, string>>;
  readonly signal: AbortSignal;
}) => Promise<{ readonly status: number; json(): Promise<unknown> }>;

export interface RemoteKeySetOptions {
  /** Timeout of one fetch, in milliseconds. */
  readonly timeoutMs: number;
  /** Minimum time between two fetches triggered by an unknown `kid`, in milliseconds. */
  readonly cooldownMs: number;
  /** How long fetched keys are used before they are fetched again, in milliseconds. */
  readonly cacheMaxAgeMs: number;
  readonly fetch: KeySetFetch;
}

/** A key resolver for `jwtVerify` that also tells whether its keys are fresh and which they are. */
export interface RemoteKeySet extends JWTVerifyGetKey {
  /** Whether keys were fetched less than `cacheMaxAgeMs` ago. */
  readonly fresh: boolean;
  /** The keys last fetched, if any. */
  jwks(): JSONWebKeySet | undefined;
}

const HEADERS: Readonly<Record<string, string>> = {
  'accept': 'application/json, application/jwk-set+json',
  'user-agent': 'cdk-token-delegation',
};

/**
 * A remote JSON Web Key Set with jose's semantics (`createRemoteJWKSet`): keys are fetched on first use
 * and again once older than `cacheMaxAgeMs`; a `kid` not in the set triggers one more fetch unless the
 * last one is younger than `cooldownMs`; concurrent requests share one fetch; a fetch that answers
 * anything but 200, times out or is not JSON fails with jose's errors (`JWKSTimeout`, `JOSEError`), and
 * a body that is not a key set with `JWKSInvalid`. Keys are matched by jose's `createLocalJWKSet`.
 *
 * Why not jose's own: `createRemoteJWKSet` builds a WHATWG `Headers`, and the first `Headers` of a
 * Node.js process loads undici, the whole `fetch` implementation, which the handler never uses
 * otherwise; that load is a large part of the cold start (see docs/benchmarks.md, "Cold start").
 */
export function createRemoteKeySet(url: string, options: RemoteKeySetOptions): RemoteKeySet {
  let local: ReturnType<typeof createLocalJWKSet> | undefined;
  let fetchedAt = Number.NEGATIVE_INFINITY;
  let pending: Promise<void> | undefined;
  const youngerThan = (durationMs: number) => Date.now() < fetchedAt + durationMs;

  const reload = (): Promise<void> => {
    pending ??= fetchKeySet(url, options).then((jwks) => {
      // createLocalJWKSet refuses anything that is not a key set (JWKSInvalid).
      local = createLocalJWKSet(jwks as JSONWebKeySet);
      fetchedAt = Date.now();
    }).finally(() => {
      pending = undefined;
    });
    return pending;
  };

  const resolve: JWTVerifyGetKey = async (header, token) => {
    if (local === undefined || !youngerThan(options.cacheMaxAgeMs)) {
      await reload();
    }
    try {
      return await local!(header, token);
    } catch (error) {
      if (error instanceof errors.JWKSNoMatchingKey && !youngerThan(options.cooldownMs)) {
        await reload();
        return local!(header, token);
      }
      throw error;
    }
  };
  return Object.defineProperties(resolve, {
    fresh: { get: () => local !== undefined && youngerThan(options.cacheMaxAgeMs) },
    jwks: { value: () => local?.jwks() },
  }) as RemoteKeySet;
}

async function fetchKeySet(url: string, options: RemoteKeySetOptions): Promise<unknown> {
  const response = await options.fetch(url, { headers: HEADERS, signal: AbortSignal.timeout(options.timeoutMs) }).catch((error: unknown) => {
    throw (error as Error | undefined)?.name === 'TimeoutError' ? new errors.JWKSTimeout(undefined, { cause: error }) : error;
  });
  if (response.status !== 200) {
    throw new errors.JOSEError('Expected 200 OK from the JSON Web Key Set HTTP response');
  }
  try {
    return await response.json();
  } catch (cause) {
    throw new errors.JOSEError('Failed to parse the JSON Web Key Set HTTP response as JSON', { cause });
  }
}
