import { createPublicKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, customFetch, errors } from 'jose';
import { buildSelfSignedCertificate } from '../lambda/certificate/certificate';
import { MAX_JWKS_BYTES, fetchJwks } from '../lambda/delegation/jwks-fetch';
import { PemSigner } from '../lambda/shared/pem-signer';

/** What jose passes to its fetch, as `createRemoteJWKSet` builds it. */
function joseInit(timeoutMs = 1000) {
  return {
    method: 'GET' as const,
    redirect: 'manual' as const,
    signal: AbortSignal.timeout(timeoutMs),
    headers: new Headers({ 'User-Agent': 'jose/test', 'accept': 'application/json, application/jwk-set+json' }),
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

describe('fetchJwks (jose customFetch on node:http)', () => {
  test('GETs the URL with jose\'s headers and hands back status and JSON, a UTF-8 BOM dropped as fetch does', async () => {
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

  test('through jose: a stalled JWKS becomes JWKSTimeout, a non-200 answer a JOSEError', async () => {
    respond = (_request, response) => {
      response.writeHead(200, { 'Content-Type': 'application/json' });
      response.write('{"keys":[');
    };
    const stalled = createRemoteJWKSet(new URL(`${base}/jwks.json`), { timeoutDuration: 150, [customFetch]: fetchJwks });
    await expect(stalled.reload()).rejects.toBeInstanceOf(errors.JWKSTimeout);

    respond = (_request, response) => response.writeHead(302, { Location: `${base}/elsewhere.json` }).end();
    const redirected = createRemoteJWKSet(new URL(`${base}/jwks.json`), { [customFetch]: fetchJwks });
    await expect(redirected.reload()).rejects.toThrow('Expected 200 OK from the JSON Web Key Set HTTP response');
    expect(received.map((request) => request.url)).toEqual(['/jwks.json', '/jwks.json']);
  });
});
