import {
  createTokenDelegationProvider, TokenDelegationError, type DelegationRequest, type DelegationResponse, type TokenDelegationOptions,
} from '../../packages/credential-provider/src';

/**
 * The credential provider's behaviour with a scripted endpoint (an injected fetch) and an injected clock
 * (waits advance it; nothing sleeps): caching up to the refresh window, one exchange for concurrent
 * callers, bounded retries that follow Retry-After, the errors' shape, and what a failed refresh leaves.
 */

const ENDPOINT = 'https://delegation.example.com/v1/delegation';
const START = Date.parse('2030-01-01T00:00:00Z');
/** Looks like a JWT (three long base64url segments); never valid anywhere. */
const ID_TOKEN = 'eyJhbGciOiJSUzI1NiIsImtpZCI6InRlc3QifQ.eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vaXNzdWVyIn0.c2lnbmF0dXJlLW9mLXRoZS10ZXN0LXRva2VuLW5vdC1yZWFs';

/** The real clock, for the tests that never wait. */
const REAL_TIME = { now: Date.now, sleep: async () => undefined };

interface Answer {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

interface Recorded extends DelegationRequest {
  readonly url: string;
}

function credentialsAnswer(serial: number, lifetimeSeconds: number, now: number): Answer {
  return {
    status: 200,
    body: {
      Credentials: {
        AccessKeyId: `ASIAEXAMPLE${String(serial).padStart(9, '0')}`,
        SecretAccessKey: `secret-access-key-${serial}-abcdefghijklmnopqrstuvwxyz`,
        SessionToken: `session-token-${serial}-abcdefghijklmnopqrstuvwxyz0123456789`,
        Expiration: new Date(now + lifetimeSeconds * 1000).toISOString(),
      },
      Subject: 'alice',
      SubjectType: 'persistent',
    },
  };
}

function errorAnswer(status: number, error: string, description: string, headers: Record<string, string> = {}): Answer {
  return { status, body: { error, error_description: description }, headers };
}

/**
 * A provider against a scripted endpoint: `script` answers each request in turn (a function is called
 * with the request count and the clock); waits advance the clock and are recorded.
 */
function harness(script: Array<Answer | Error | ((clock: number) => Answer)>, options: Partial<TokenDelegationOptions> = {}) {
  const clock = { now: START };
  const requests: Recorded[] = [];
  const sleeps: number[] = [];
  let tokens = 0;
  const gates: Array<() => void> = [];
  let gated = false;
  const fetch = async (url: string, request: DelegationRequest): Promise<DelegationResponse> => {
    requests.push({ url, ...request });
    if (gated) await new Promise<void>((resolve) => gates.push(resolve));
    const next = script.shift();
    if (next === undefined) throw new Error('The script has no answer left');
    if (next instanceof Error) throw next;
    const answer = typeof next === 'function' ? next(clock.now) : next;
    const headers = new Map(Object.entries(answer.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]));
    return {
      status: answer.status,
      headers: { get: (name: string) => headers.get(name.toLowerCase()) ?? null },
      json: async () => {
        if (answer.body === undefined) throw new SyntaxError('Unexpected end of JSON input');
        return JSON.parse(JSON.stringify(answer.body));
      },
    };
  };
  const provider = createTokenDelegationProvider({
    endpoint: ENDPOINT,
    idToken: () => `${ID_TOKEN}${++tokens}`,
    fetch,
    ...options,
  }, {
    now: () => clock.now,
    sleep: async (milliseconds) => {
      sleeps.push(milliseconds);
      clock.now += milliseconds;
    },
  });
  return {
    provider,
    clock,
    requests,
    sleeps,
    /** Holds every request until `release()`, so that callers can pile up on one exchange. */
    hold: () => {
      gated = true;
    },
    /** Once a request is waiting (a bounded number of turns of the event loop), lets every held request answer. */
    release: async () => {
      for (let turn = 0; gates.length === 0 && turn < 1000; turn++) await new Promise((resolve) => setImmediate(resolve));
      expect(gates.length).toBeGreaterThan(0);
      gated = false;
      gates.splice(0).forEach((open) => open());
    },
  };
}

/** The rejection of `work`, which must reject with a TokenDelegationError. */
async function rejection(work: Promise<unknown>): Promise<TokenDelegationError> {
  try {
    await work;
  } catch (error) {
    expect(error).toBeInstanceOf(TokenDelegationError);
    return error as TokenDelegationError;
  }
  throw new Error('expected a rejection');
}

describe('an exchange', () => {
  test('posts the id token as a Bearer header and resolves to the SDK\'s credential shape', async () => {
    const { provider, requests } = harness([(now) => credentialsAnswer(1, 3600, now)]);
    const credentials = await provider();
    expect(credentials).toEqual({
      accessKeyId: 'ASIAEXAMPLE000000001',
      secretAccessKey: 'secret-access-key-1-abcdefghijklmnopqrstuvwxyz',
      sessionToken: 'session-token-1-abcdefghijklmnopqrstuvwxyz0123456789',
      expiration: new Date(START + 3600_000),
      subject: 'alice',
    });
    expect(credentials.expiration).toBeInstanceOf(Date);
    expect(requests).toHaveLength(1);
    expect(requests[0].url).toBe(ENDPOINT);
    expect(requests[0].method).toBe('POST');
    expect(requests[0].headers).toEqual({ Authorization: `Bearer ${ID_TOKEN}1` });
    expect(requests[0].body).toBeUndefined();
  });

  test('sends role and durationSeconds as the JSON body, with the extra headers, only when given', async () => {
    const role = 'arn:aws:iam::123456789012:role/Editors';
    const fixed = harness([(now) => credentialsAnswer(1, 900, now)], { role, durationSeconds: 900, headers: { 'x-api-key': 'k' } });
    await fixed.provider();
    expect(fixed.requests[0].headers).toEqual({ 'x-api-key': 'k', 'Content-Type': 'application/json', 'Authorization': `Bearer ${ID_TOKEN}1` });
    expect(JSON.parse(fixed.requests[0].body!)).toEqual({ role, durationSeconds: 900 });

    let calls = 0;
    const computed = harness([(now) => credentialsAnswer(1, 900, now)], { durationSeconds: 1200, headers: async () => ({ 'x-request': String(++calls) }) });
    await computed.provider();
    expect(computed.requests[0].headers['x-request']).toBe('1');
    expect(JSON.parse(computed.requests[0].body!)).toEqual({ durationSeconds: 1200 });
  });

  test('the extra headers never replace the Authorization header', async () => {
    const { provider, requests } = harness([(now) => credentialsAnswer(1, 900, now)], { headers: { Authorization: 'Basic x' } });
    await provider();
    expect(requests[0].headers.Authorization).toBe(`Bearer ${ID_TOKEN}1`);
  });

  test('uses the global fetch when none is given', async () => {
    const original = globalThis.fetch;
    const seen: string[] = [];
    globalThis.fetch = (async (url: string) => {
      seen.push(url);
      return new Response(JSON.stringify(credentialsAnswer(1, 900, Date.now()).body), { status: 200 });
    }) as typeof fetch;
    try {
      const provider = createTokenDelegationProvider({ endpoint: ENDPOINT, idToken: () => ID_TOKEN }, REAL_TIME);
      expect((await provider()).accessKeyId).toBe('ASIAEXAMPLE000000001');
      expect(seen).toEqual([ENDPOINT]);
    } finally {
      globalThis.fetch = original;
    }
  });
});

describe('the cache', () => {
  test('answers from the cache until the refresh window (300 s by default), then exchanges with the current token', async () => {
    const { provider, clock, requests } = harness([(now) => credentialsAnswer(1, 3600, now), (now) => credentialsAnswer(2, 3600, now)]);
    const first = await provider();
    clock.now = START + (3600 - 301) * 1000;
    expect(await provider()).toBe(first);
    expect(requests).toHaveLength(1);
    clock.now = START + (3600 - 300) * 1000;
    const second = await provider();
    expect(second.accessKeyId).toBe('ASIAEXAMPLE000000002');
    expect(requests.map((request) => request.headers.Authorization)).toEqual([`Bearer ${ID_TOKEN}1`, `Bearer ${ID_TOKEN}2`]);
    // The new credentials are cached in their turn.
    expect(await provider()).toBe(second);
    expect(requests).toHaveLength(2);
  });

  test('a refresh window longer than the credentials\' life makes every call an exchange', async () => {
    const script = [(now: number) => credentialsAnswer(1, 900, now), (now: number) => credentialsAnswer(2, 900, now)];
    const { provider, requests } = harness(script, { refreshBeforeExpirySeconds: 3600 });
    expect((await provider()).accessKeyId).toBe('ASIAEXAMPLE000000001');
    expect((await provider()).accessKeyId).toBe('ASIAEXAMPLE000000002');
    expect(requests).toHaveLength(2);
  });

  test('forceRefresh exchanges whatever the cache holds', async () => {
    const { provider, requests } = harness([(now) => credentialsAnswer(1, 3600, now), (now) => credentialsAnswer(2, 3600, now)]);
    await provider();
    expect((await provider({ forceRefresh: true })).accessKeyId).toBe('ASIAEXAMPLE000000002');
    expect(requests).toHaveLength(2);
  });
});

describe('single flight', () => {
  test('concurrent first callers share one exchange', async () => {
    const { provider, requests, hold, release } = harness([(now) => credentialsAnswer(1, 3600, now)]);
    hold();
    const callers = Array.from({ length: 20 }, () => provider());
    // Every caller is waiting on the same request; let it answer.
    await release();
    const answers = await Promise.all(callers);
    expect(requests).toHaveLength(1);
    expect(new Set(answers).size).toBe(1);
  });

  test('concurrent callers inside the refresh window share one refresh, and a forced refresh joins it', async () => {
    const { provider, clock, requests, hold, release } = harness([(now) => credentialsAnswer(1, 900, now), (now) => credentialsAnswer(2, 900, now)]);
    await provider();
    clock.now += 700_000;
    hold();
    const callers = [provider(), provider(), provider({ forceRefresh: true }), provider()];
    await release();
    expect((await Promise.all(callers)).map((credentials) => credentials.accessKeyId)).toEqual(Array(4).fill('ASIAEXAMPLE000000002'));
    expect(requests).toHaveLength(2);
  });

  test('concurrent callers share one failure, and the next call tries again', async () => {
    const { provider, requests, hold, release } = harness([
      errorAnswer(401, 'invalid_token', 'the token has expired'),
      (now) => credentialsAnswer(1, 900, now),
    ]);
    hold();
    const callers = Array.from({ length: 5 }, () => provider().then(() => 'resolved', (error: TokenDelegationError) => error.code));
    await release();
    expect(await Promise.all(callers)).toEqual(Array(5).fill('invalid_token'));
    expect(requests).toHaveLength(1);
    expect((await provider()).accessKeyId).toBe('ASIAEXAMPLE000000001');
    expect(requests).toHaveLength(2);
  });
});

describe('retries', () => {
  test('a 503 with Retry-After is retried after that many seconds, with the token asked for again', async () => {
    const { provider, requests, sleeps } = harness([
      errorAnswer(503, 'temporarily_unavailable', 'the issuer\'s keys could not be fetched', { 'Retry-After': '5' }),
      (now) => credentialsAnswer(1, 900, now),
    ]);
    expect((await provider()).accessKeyId).toBe('ASIAEXAMPLE000000001');
    expect(sleeps).toEqual([5000]);
    expect(requests.map((request) => request.headers.Authorization)).toEqual([`Bearer ${ID_TOKEN}1`, `Bearer ${ID_TOKEN}2`]);
  });

  test('a 429 with an HTTP-date Retry-After waits until that date; without Retry-After, 1 s', async () => {
    const { provider, sleeps } = harness([
      (now) => errorAnswer(429, 'temporarily_unavailable', 'Too Many Requests', { 'Retry-After': new Date(now + 3000).toUTCString() }),
      errorAnswer(502, 'temporarily_unavailable', 'Internal server error'),
      (now) => credentialsAnswer(1, 900, now),
    ]);
    await provider();
    expect(sleeps).toEqual([3000, 1000]);
  });

  test('gives up after maxAttempts requests (3 by default) with the last answer', async () => {
    const busy = errorAnswer(503, 'temporarily_unavailable', 'STS is throttling', { 'Retry-After': '2' });
    const { provider, requests, sleeps } = harness([busy, busy, busy, busy]);
    const error = await rejection(provider());
    expect(requests).toHaveLength(3);
    expect(sleeps).toEqual([2000, 2000]);
    expect({ status: error.status, code: error.code, retryable: error.retryable, retryAfterSeconds: error.retryAfterSeconds })
      .toEqual({ status: 503, code: 'temporarily_unavailable', retryable: true, retryAfterSeconds: 2 });

    const once = harness([busy, busy], { maxAttempts: 1 });
    await rejection(once.provider());
    expect(once.requests).toHaveLength(1);
  });

  test('a Retry-After longer than maxRetryAfterSeconds (10 by default) rejects at once and says how long', async () => {
    const { provider, requests, sleeps } = harness([errorAnswer(503, 'temporarily_unavailable', 'later', { 'Retry-After': '60' })]);
    const error = await rejection(provider());
    expect([requests.length, sleeps, error.retryable, error.retryAfterSeconds]).toEqual([1, [], true, 60]);

    const patient = harness([errorAnswer(503, 'temporarily_unavailable', 'later', { 'Retry-After': '60' }), (now) => credentialsAnswer(1, 900, now)], { maxRetryAfterSeconds: 60 });
    await patient.provider();
    expect(patient.sleeps).toEqual([60_000]);
  });

  test.each([
    [400, 'invalid_request', 'durationSeconds must be an integer from 900 to 3600'],
    [401, 'invalid_token', 'the token has expired'],
    [403, 'access_denied', 'the requested role is not allowed'],
    [500, 'server_error', 'an internal error occurred'],
  ])('a %i rejects at once with its status, error and description, and no retry', async (status, code, description) => {
    const { provider, requests, sleeps } = harness([errorAnswer(status, code, description, status === 401 ? { 'WWW-Authenticate': 'Bearer error="invalid_token"' } : {})]);
    const error = await rejection(provider());
    expect(requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
    expect(error.name).toBe('TokenDelegationError');
    const { retryAfterSeconds, retryable } = error;
    expect({ status: error.status, code: error.code, description: error.description, retryable, retryAfterSeconds })
      .toEqual({ status, code, description, retryable: false, retryAfterSeconds: undefined });
    expect(error.message).toBe(`Token delegation failed: HTTP ${status} ${code}: ${description}`);
  });

  test('an answer that is not the contract\'s JSON still rejects with its status', async () => {
    const { provider } = harness([{ status: 403, body: undefined }, { status: 200, body: { Credentials: { AccessKeyId: 'ASIA' } } }, (now) => {
      const { Subject: _subject, ...withoutSubject } = credentialsAnswer(1, 900, now).body as Record<string, unknown>;
      return { status: 200, body: withoutSubject };
    }]);
    const refused = await rejection(provider());
    expect([refused.status, refused.code, refused.retryable]).toEqual([403, 'http_error', false]);
    const malformed = await rejection(provider());
    expect([malformed.status, malformed.code, malformed.retryable, malformed.message])
      .toEqual([200, 'invalid_response', false, 'Token delegation failed: HTTP 200 invalid_response: the answer holds no Credentials and Subject']);
    expect((await rejection(provider())).code).toBe('invalid_response');
  });

  test('a network error rejects once, as retryable, with status 0 and the cause kept', async () => {
    const cause = new TypeError('fetch failed');
    const { provider, requests, sleeps } = harness([cause]);
    const error = await rejection(provider());
    expect([requests.length, sleeps.length]).toEqual([1, 0]);
    expect({ status: error.status, code: error.code, retryable: error.retryable, cause: error.cause })
      .toEqual({ status: 0, code: 'network_error', retryable: true, cause });
    expect(error.message).toBe('Token delegation failed: network_error: the endpoint could not be reached');
  });

  test('a request that never answers ends at timeoutSeconds, aborted', async () => {
    let signal: AbortSignal | undefined;
    const provider = createTokenDelegationProvider({
      endpoint: ENDPOINT,
      idToken: () => ID_TOKEN,
      timeoutSeconds: 0.05,
      fetch: (_url, request) => {
        signal = request.signal as AbortSignal;
        return new Promise((_resolve, reject) => signal!.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))));
      },
    }, REAL_TIME);
    const error = await rejection(provider());
    expect(signal?.aborted).toBe(true);
    expect([error.status, error.code, error.retryable, error.message]).toEqual([0, 'timeout', true, 'Token delegation failed: timeout: no answer within 0.05 s']);
  });

  test('no id token, or an idToken function that throws, rejects before any request', async () => {
    for (const idToken of [() => '', () => undefined as unknown as string, async () => {
      throw new Error('login_required');
    }]) {
      const requests: unknown[] = [];
      const provider = createTokenDelegationProvider({ endpoint: ENDPOINT, idToken, fetch: async () => { requests.push(1); throw new Error('unreachable'); } },
        REAL_TIME);
      const error = await rejection(provider());
      expect([error.status, error.code, error.retryable, requests.length]).toEqual([0, 'id_token_unavailable', false, 0]);
    }
  });
});

describe('a failed refresh', () => {
  test('a refusal inside the refresh window rejects and drops the cached credentials', async () => {
    const { provider, clock, requests } = harness([
      (now) => credentialsAnswer(1, 900, now),
      errorAnswer(401, 'invalid_token', 'the token has expired'),
      (now) => credentialsAnswer(2, 900, now),
    ]);
    await provider();
    clock.now += 700_000;
    expect((await rejection(provider())).code).toBe('invalid_token');
    // Nothing cached: the next call exchanges again.
    expect((await provider()).accessKeyId).toBe('ASIAEXAMPLE000000002');
    expect(requests).toHaveLength(3);
  });

  test('an outage inside the refresh window answers the still-valid credentials, and the next call tries again', async () => {
    const busy = errorAnswer(503, 'temporarily_unavailable', 'STS is unavailable', { 'Retry-After': '1' });
    const { provider, clock, requests } = harness([
      (now) => credentialsAnswer(1, 900, now), busy, busy, busy, (now) => credentialsAnswer(2, 900, now),
    ]);
    const first = await provider();
    clock.now += 700_000;
    expect(await provider()).toBe(first);
    expect(requests).toHaveLength(4);
    expect((await provider()).accessKeyId).toBe('ASIAEXAMPLE000000002');
  });

  test('never answers credentials past their expiration: an outage then rejects, and nothing stays cached', async () => {
    const busy = errorAnswer(503, 'temporarily_unavailable', 'STS is unavailable', { 'Retry-After': '1' });
    const { provider, clock, requests } = harness([
      (now) => credentialsAnswer(1, 900, now),
      busy, busy, busy,
      new TypeError('fetch failed'),
      (now) => credentialsAnswer(2, 900, now),
    ]);
    await provider();
    clock.now += 900_000;
    expect((await rejection(provider())).code).toBe('temporarily_unavailable');
    expect((await rejection(provider())).code).toBe('network_error');
    expect((await provider()).accessKeyId).toBe('ASIAEXAMPLE000000002');
    expect(requests).toHaveLength(6);
  });

  test('credentials that expire during the retries are not answered', async () => {
    const busy = errorAnswer(503, 'temporarily_unavailable', 'STS is unavailable', { 'Retry-After': '10' });
    const { provider, clock } = harness([(now) => credentialsAnswer(1, 900, now), busy, busy, busy], { maxRetryAfterSeconds: 10 });
    await provider();
    // 15 s left when the refresh starts; the two waits take 20 s.
    clock.now += 885_000;
    expect((await rejection(provider())).code).toBe('temporarily_unavailable');
  });
});

describe('errors carry nothing secret', () => {
  test('no id token or credential in any error\'s message, description or JSON, and a JWT in a description is redacted', async () => {
    const { provider, clock } = harness([
      (now) => credentialsAnswer(1, 900, now),
      errorAnswer(401, 'invalid_token', `the token ${ID_TOKEN}3 has expired`),
      errorAnswer(403, 'access_denied', 'STS refused the assertion'),
      new TypeError('fetch failed'),
    ], { refreshBeforeExpirySeconds: 3600, headers: { 'x-api-key': 'api-key-value-0123456789' } });
    const issued = await provider();
    clock.now += 1000;
    const errors = [await rejection(provider()), await rejection(provider()), await rejection(provider())];
    expect(errors[0].description).toBe('the token [redacted] has expired');
    const secrets = [ID_TOKEN, issued.secretAccessKey, issued.sessionToken, issued.accessKeyId, 'api-key-value-0123456789'];
    for (const error of errors) {
      const texts = [error.message, String(error), error.stack ?? '', error.description, JSON.stringify(error)];
      for (const secret of secrets) {
        expect(texts.filter((text) => text.includes(secret))).toEqual([]);
      }
    }
  });
});
