import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { FetchImplementation } from 'jose';

/**
 * A key set larger than this is refused (the issuer is then unavailable, 503): real ones are a few KB,
 * and without a cap a misbehaving issuer could fill the function's memory within the timeout.
 */
export const MAX_JWKS_BYTES = 256 * 1024;

/**
 * The JWKS fetch handed to jose's `createRemoteJWKSet` (its `customFetch` option), on node:http(s).
 *
 * Why: the first call of the global `fetch` makes Node set up undici's HTTP client (with an llhttp parser
 * compiled from WebAssembly) on every cold start, while the AWS SDK has already loaded node:http and
 * node:https. Loading undici itself is not avoided (jose's `new Headers()` does it; its cost is in
 * docs/benchmarks.md, "Cold start"), only the client's setup on the first request.
 *
 * It does what jose relies on from `fetch` and nothing more: jose reads `status` and `json()` only and
 * refuses any status but 200. Like `fetch` with jose's `redirect: 'manual'`, a redirect is answered as
 * it came and never followed. jose's timeout signal ends the request, body included, with the signal's
 * reason (a `TimeoutError`, which jose turns into `JWKSTimeout`). Certificates are checked by node:https
 * defaults, as by `fetch`. Unlike `fetch`, a body over {@link MAX_JWKS_BYTES} ends the request with an error.
 */
export const fetchJwks: FetchImplementation = (url, { headers, signal }) => new Promise((resolve, reject) => {
  const fail = (error: unknown) => reject(signal.aborted ? signal.reason : error);
  const request = (url.startsWith('https:') ? httpsRequest : httpRequest)(url, { headers: Object.fromEntries(headers), signal }, (response: IncomingMessage) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    response.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > MAX_JWKS_BYTES) {
        request.destroy(new Error(`JWKS larger than ${MAX_JWKS_BYTES} bytes`));
      } else {
        chunks.push(chunk);
      }
    });
    response.on('error', fail);
    // TextDecoder, as `Response.json()`, drops a UTF-8 byte order mark that JSON.parse would refuse.
    response.on('end', () => resolve({
      status: response.statusCode,
      json: async () => JSON.parse(new TextDecoder().decode(Buffer.concat(chunks))),
    } as Response));
  });
  request.on('error', fail);
  request.end();
});
