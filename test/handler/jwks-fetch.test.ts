import { createPublicKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { errors, generateKeyPair, exportJWK, SignJWT, decodeProtectedHeader } from 'jose';
import { buildSelfSignedCertificate } from '../../lambda/certificate/certificate';
import { MAX_JWKS_BYTES, fetchJwks } from '../../lambda/delegation/jwks-fetch';
import { createRemoteKeySet } from '../../lambda/delegation/remote-key-set';
import { PemSigner } from '../../lambda/shared/pem-signer';

/** What the remote key set passes to its fetch. */
function joseInit(timeoutMs = 1000) {
  return {
    signal: AbortSignal.timeout(timeoutMs),
    headers: { 'user-agent': 'jose/test', 'accept': 'application/json, application/jwk-set+json' },
  };
}

const JWKS = { keys: [{ kty: 'RSA', kid: 'k1', n: 'AQAB', e: 'AQAB' }] };

interface Received {
  readonly method?: string;
  readonly url?: string;
  readonly headers: IncomingHttpHeaders;
}

let server: Server;
let base: string;
const received: Received[] = [];
let respond: (request: IncomingMessage, response: ServerResponse) => void;

beforeAll(async () => {
  server = createServer((request, response) => {
    received.push({ method: request.method, url: request.url, headers: request.headers });
    respond(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  received.length = 0;
});

describe('fetchJwks (the remote key set\'s fetch, on node:http)', () => {
  test('GETs the URL with the given headers and hands back status and JSON, a UTF-8 BOM dropped as fetch does', async () => {
    respond = (_request, response) => response.writeHead(200, { 'Content-Type': 'application/json' }).end(`\uFEFF${JSON.stringify(JWKS)}`);
    const response = await fetchJwks(`${base}/jwks.json?v=1`, joseInit());

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(JWKS);
    expect(received).toHaveLength(1);
    expect(received[0].method).toBe('GET');
    expect(received[0].url).toBe('/jwks.json?v=1');
    expect(received[0].headers['user-agent']).toBe('jose/test');
    expect(received[0].headers.accept).toBe('application/json, application/jwk-set+json');
  });

  test('answers a redirect as it came and never follows it', async () => {
    respond = (request, response) => (request.url === '/jwks.json'
      ? response.writeHead(302, { Location: `${base}/elsewhere.json` }).end()
      : response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(JWKS)));
    const response = await fetchJwks(`${base}/jwks.json`, joseInit());

    expect(response.status).toBe(302);
    expect(received.map((request) => request.url)).toEqual(['/jwks.json']);
  });

  test('a body that is not JSON fails in json(), where jose expects it', async () => {
    respond = (_request, response) => response.writeHead(200).end('<html>not json');
    const response = await fetchJwks(`${base}/jwks.json`, joseInit());

    await expect(response.json()).rejects.toThrow(SyntaxError);
  });

  test('the timeout ends a request that gets no answer, with the signal\'s TimeoutError', async () => {
    respond = () => undefined;
    const started = Date.now();
    const error = await fetchJwks(`${base}/jwks.json`, joseInit(150)).catch((caught: unknown) => caught) as Error;

    expect(error.name).toBe('TimeoutError');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  test('the timeout also ends a body that stalls', async () => {
    respond = (_request, response) => {
      response.writeHead(200, { 'Content-Type': 'application/json' });
      response.write('{"keys":[');
    };
    const started = Date.now();
    const error = await fetchJwks(`${base}/jwks.json`, joseInit(150)).catch((caught: unknown) => caught) as Error;

    expect(error.name).toBe('TimeoutError');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  test('a body cut off by the server is an error, not a short key set', async () => {
    respond = (request, response) => {
      response.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '1000' });
      response.write('{"keys":[', () => request.socket.destroy());
    };
    await expect(fetchJwks(`${base}/jwks.json`, joseInit())).rejects.toThrow();
  });

  test('a key set over the size limit is refused while it streams, one at the limit is read', async () => {
    const padded = (bytes: number) => {
      const json = JSON.stringify({ ...JWKS, padding: '' });
      return json.replace('"padding":""', `"padding":"${'x'.repeat(bytes - json.length)}"`);
    };
    respond = (_request, response) => response.writeHead(200, { 'Content-Type': 'application/json' }).end(padded(MAX_JWKS_BYTES));
    expect(await (await fetchJwks(`${base}/jwks.json`, joseInit())).json()).toMatchObject(JWKS);

    let sent = 0;
    respond = (request, response) => {
      response.writeHead(200, { 'Content-Type': 'application/json' });
      const chunk = 'x'.repeat(64 * 1024);
      const more = () => {
        while (!request.socket.destroyed && sent < 1024 * MAX_JWKS_BYTES) {
          sent += chunk.length;
          if (!response.write(chunk)) return void response.once('drain', more);
        }
        response.end();
      };
      more();
    };
    await expect(fetchJwks(`${base}/jwks.json`, joseInit(5000))).rejects.toThrow(/JWKS larger than/);
    // Refused as the limit was crossed: the server got rid of little more than the sockets' buffers, not its 256 MiB.
    expect(sent).toBeLessThan(128 * MAX_JWKS_BYTES);
  });

  test('a refused connection is an error', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    await expect(fetchJwks(`http://127.0.0.1:${port}/jwks.json`, joseInit())).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  test('https: a certificate no trusted authority issued is refused', async () => {
    const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const keyPem = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const certificate = await buildSelfSignedCertificate({
      subjectPublicKeyInfoDer: new Uint8Array(createPublicKey(keyPem).export({ type: 'spki', format: 'der' })),
      commonName: '127.0.0.1',
      signer: new PemSigner(keyPem),
    });
    const tlsServer = createHttpsServer({ key: keyPem, cert: new X509Certificate(certificate.der).toString() }, (_request, response) => {
      response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(JWKS));
    });
    await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
    try {
      const url = `https://127.0.0.1:${(tlsServer.address() as AddressInfo).port}/jwks.json`;
      await expect(fetchJwks(url, joseInit())).rejects.toMatchObject({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    } finally {
      tlsServer.closeAllConnections();
      await new Promise<void>((resolve) => tlsServer.close(() => resolve()));
    }
  });

  test('through the remote key set: a stalled JWKS becomes JWKSTimeout, a non-200 answer a JOSEError', async () => {
    respond = (_request, response) => {
      response.writeHead(200, { 'Content-Type': 'application/json' });
      response.write('{"keys":[');
    };
    const header = { alg: 'RS256', kid: 'k1' };
    const stalled = createRemoteKeySet(`${base}/jwks.json`, { timeoutMs: 150, cooldownMs: 30_000, cacheMaxAgeMs: 600_000, fetch: fetchJwks });
    await expect(stalled(header, TOKEN)).rejects.toBeInstanceOf(errors.JWKSTimeout);

    respond = (_request, response) => response.writeHead(302, { Location: `${base}/elsewhere.json` }).end();
    const redirected = createRemoteKeySet(`${base}/jwks.json`, { timeoutMs: 1000, cooldownMs: 30_000, cacheMaxAgeMs: 600_000, fetch: fetchJwks });
    await expect(redirected(header, TOKEN)).rejects.toThrow('Expected 200 OK from the JSON Web Key Set HTTP response');
    expect(received.map((request) => request.url)).toEqual(['/jwks.json', '/jwks.json']);
    expect(received[0].headers).toMatchObject({ 'accept': 'application/json, application/jwk-set+json', 'user-agent': 'cdk-token-delegation' });
  });
});

/** A JWT's flattened parts as `jwtVerify` hands them to a key resolver. */
const TOKEN = { payload: '', signature: '' };

describe('createRemoteKeySet: jose\'s remote key set semantics without undici', () => {
  let clock: number;
  let keys: Array<Record<string, unknown>>;
  let status: number;
  let body: (() => string) | undefined;
  const options = { timeoutMs: 1000, cooldownMs: 30_000, cacheMaxAgeMs: 600_000, fetch: fetchJwks };

  async function publicJwk(kid: string) {
    const { publicKey } = await generateKeyPair('RS256', { extractable: true });
    return { ...await exportJWK(publicKey), kid, alg: 'RS256', use: 'sig' };
  }

  beforeEach(() => {
    clock = 1_000_000;
    jest.spyOn(Date, 'now').mockImplementation(() => clock);
    status = 200;
    body = undefined;
    respond = (_request, response) => response.writeHead(status, { 'Content-Type': 'application/json' }).end(body ? body() : JSON.stringify({ keys }));
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  test('fetches on first use, then serves every kid of the set from the cache until it is older than cacheMaxAge', async () => {
    keys = [await publicJwk('a'), await publicJwk('b')];
    const keySet = createRemoteKeySet(`${base}/jwks.json`, options);
    expect(keySet.fresh).toBe(false);
    expect(keySet.jwks()).toBeUndefined();

    await keySet({ alg: 'RS256', kid: 'a' }, TOKEN);
    await keySet({ alg: 'RS256', kid: 'b' }, TOKEN);
    clock += options.cacheMaxAgeMs - 1;
    await keySet({ alg: 'RS256', kid: 'a' }, TOKEN);
    expect(received).toHaveLength(1);
    expect(keySet.fresh).toBe(true);
    expect(keySet.jwks()?.keys.map((key) => key.kid)).toEqual(['a', 'b']);

    clock += 1;
    expect(keySet.fresh).toBe(false);
    await keySet({ alg: 'RS256', kid: 'a' }, TOKEN);
    expect(received).toHaveLength(2);
  });

  test('concurrent first requests share one fetch', async () => {
    keys = [await publicJwk('a')];
    const keySet = createRemoteKeySet(`${base}/jwks.json`, options);
    await Promise.all(Array.from({ length: 5 }, () => keySet({ alg: 'RS256', kid: 'a' }, TOKEN)));
    expect(received).toHaveLength(1);
  });

  test('an unknown kid fetches again once the cooldown has passed, and finds a key published since', async () => {
    keys = [await publicJwk('a')];
    const keySet = createRemoteKeySet(`${base}/jwks.json`, options);
    await keySet({ alg: 'RS256', kid: 'a' }, TOKEN);
    keys = [...keys, await publicJwk('new')];

    // Within the cooldown: no fetch, the kid is unknown.
    clock += options.cooldownMs - 1;
    await expect(keySet({ alg: 'RS256', kid: 'new' }, TOKEN)).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
    expect(received).toHaveLength(1);

    clock += 1;
    await expect(keySet({ alg: 'RS256', kid: 'new' }, TOKEN)).resolves.toBeDefined();
    expect(received).toHaveLength(2);
    // Just fetched: a kid still unknown is refused without another fetch.
    await expect(keySet({ alg: 'RS256', kid: 'other' }, TOKEN)).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
    expect(received).toHaveLength(2);
  });

  test('a body that is no key set is JWKSInvalid, one that is no JSON a JOSEError; neither is cached', async () => {
    const keySet = createRemoteKeySet(`${base}/jwks.json`, options);
    body = () => JSON.stringify({ keys: 'none' });
    await expect(keySet({ alg: 'RS256', kid: 'a' }, TOKEN)).rejects.toBeInstanceOf(errors.JWKSInvalid);
    body = () => 'not json';
    await expect(keySet({ alg: 'RS256', kid: 'a' }, TOKEN)).rejects.toThrow('Failed to parse the JSON Web Key Set HTTP response as JSON');
    status = 500;
    await expect(keySet({ alg: 'RS256', kid: 'a' }, TOKEN)).rejects.toThrow('Expected 200 OK');
    expect(keySet.fresh).toBe(false);

    status = 200;
    body = undefined;
    keys = [await publicJwk('a')];
    await expect(keySet({ alg: 'RS256', kid: 'a' }, TOKEN)).resolves.toBeDefined();
    expect(received).toHaveLength(4);
  });

  test('a refetch that fails keeps the fresh set: cached kids still resolve, and the failure starts no cooldown', async () => {
    keys = [await publicJwk('a')];
    const keySet = createRemoteKeySet(`${base}/jwks.json`, options);
    await keySet({ alg: 'RS256', kid: 'a' }, TOKEN);

    clock += options.cooldownMs;
    status = 500;
    await expect(keySet({ alg: 'RS256', kid: 'new' }, TOKEN)).rejects.toThrow('Expected 200 OK');
    expect(received).toHaveLength(2);
    await expect(keySet({ alg: 'RS256', kid: 'a' }, TOKEN)).resolves.toBeDefined();
    expect(received).toHaveLength(2);
    expect(keySet.fresh).toBe(true);

    // The cooldown counts from the last fetch that succeeded, so the next unknown kid fetches again.
    status = 200;
    keys = [...keys, await publicJwk('new')];
    await expect(keySet({ alg: 'RS256', kid: 'new' }, TOKEN)).resolves.toBeDefined();
    expect(received).toHaveLength(3);
  });

  test('the key it resolves verifies a token signed by the issuer\'s key (end to end with jose)', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
    keys = [{ ...await exportJWK(publicKey), kid: 'signer', alg: 'RS256' }];
    const token = await new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'RS256', kid: 'signer' }).sign(privateKey);
    const { jwtVerify } = await import('jose');
    const keySet = createRemoteKeySet(`${base}/jwks.json`, options);
    expect(decodeProtectedHeader(token).kid).toBe('signer');
    await expect(jwtVerify(token, keySet)).resolves.toMatchObject({ payload: { sub: 'alice' } });
  });
});
