import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { KeySetFetch } from './remote-key-set';

/**
 * A key set larger than this is refused (the issuer is then unavailable, 503): real ones are a few KB,
 * and without a cap a misbehaving issuer could fill the function's memory within the timeout.
 */
export const MAX_JWKS_BYTES = 256 * 1024;

/**
 * The JWKS fetch of the remote key sets (remote-key-set.ts), on node:http(s).
 *
 * Why not the global `fetch`: its first call makes Node load and set up undici (its HTTP client, with an
 * llhttp parser compiled from WebAssembly), a large part of a cold start (see docs/benchmarks.md); the AWS
 * SDK has already loaded node:http and node:https.
 *
 * It does what the key set relies on and nothing more: `status` and `json()`, any status but 200 being
 * refused there. Like `fetch` with `redirect: 'manual'`, a redirect is answered as it came and never
 * followed. The timeout signal ends the request, body included, with the signal's reason (a
 * `TimeoutError`, which becomes jose's `JWKSTimeout`). Certificates are checked by node:https defaults,
 * as by `fetch`. A body over {@link MAX_JWKS_BYTES} ends the request with an error.
 */
export const fetchJwks: KeySetFetch = (url, { headers, signal }) => new Promise((resolve, reject) => {
  const fail = (error: unknown) => reject(signal.aborted ? signal.reason : error);
  const request = (url.startsWith('https:') ? httpsRequest : httpRequest)(url, { headers, signal }, (response: IncomingMessage) => {
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
      status: response.statusCode ?? 0,
      json: async () => JSON.parse(new TextDecoder().decode(Buffer.concat(chunks))) as unknown,
    }));
  });
  request.on('error', fail);
  request.end();
});
