import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startOidcIssuer } from '../../local/oidc-issuer';
import { parseServerArguments, startLocalServer, type RunningLocalServer } from '../../local/server';
import {
  fromTokenDelegation, TokenDelegationError, type DelegationFetch, type TokenDelegationOptions,
} from '../../packages/credential-provider/src';
import { exampleTemplateFile } from '../support/example-template-file';
import { loadBundledHandler, withoutLogs } from '../support/handler-harness';

/**
 * The credential provider in Node.js against the local command (the example app's template, the bundled
 * handler, the loopback STS and S3): alice's credentials sign her S3 requests and reach only her
 * prefix, and each way an exchange can fail reaches the app as a TokenDelegationError with the
 * endpoint's own status and error: an expired token, a token from another issuer, a refused role or
 * duration, an endpoint that is down, and a 503 that the provider retries.
 */

let local: RunningLocalServer;
let bucket: string;

beforeAll(async () => {
  local = await startLocalServer(parseServerArguments(['--template', exampleTemplateFile(), '--port', '0']), (env) => withoutLogs(loadBundledHandler(env)));
  bucket = local.testBed!.buckets[0].name;
}, 120_000);

afterAll(async () => {
  await local?.close();
});

/** alice's id token from the dev token route, as an app gets one from its identity provider. */
async function devIdToken(user = 'alice'): Promise<string> {
  const response = await fetch(`${local.server.origin}/dev/token?sub=${user}`);
  return ((await response.json()) as { id_token: string }).id_token;
}

/** The global fetch, counting the requests it makes. */
function countingFetch(): { fetch: DelegationFetch; readonly count: number } {
  const counter = {
    count: 0,
    fetch: ((url, request) => {
      counter.count++;
      return fetch(url, request);
    }) as DelegationFetch,
  };
  return counter;
}

function s3With(credentials: ReturnType<typeof fromTokenDelegation>): S3Client {
  return new S3Client({ region: 'us-east-1', endpoint: local.testBed!.s3!.endpoint, forcePathStyle: true, credentials });
}

async function rejection(work: Promise<unknown>): Promise<TokenDelegationError> {
  try {
    await work;
  } catch (error) {
    expect(error).toBeInstanceOf(TokenDelegationError);
    return error as TokenDelegationError;
  }
  throw new Error('expected a rejection');
}

test('alice\'s provider signs her S3 requests: she puts and lists under users/alice/, is denied on users/bob/, with one exchange', async () => {
  const requests = countingFetch();
  const issuedBefore = local.testBed!.sts.issued.length;
  const credentials = fromTokenDelegation({ endpoint: local.server.url, idToken: () => devIdToken('alice'), fetch: requests.fetch });
  // Two clients share the provider and start at once: one exchange between them.
  const [first, second] = [s3With(credentials), s3With(credentials)];
  await Promise.all([
    first.send(new PutObjectCommand({ Bucket: bucket, Key: 'users/alice/node.txt', Body: 'from node' })),
    second.send(new PutObjectCommand({ Bucket: bucket, Key: 'users/alice/node-2.txt', Body: 'from node too' })),
  ]);
  const listed = await first.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'users/alice/' }));
  expect(listed.Contents?.map((object) => object.Key)).toEqual(['users/alice/node-2.txt', 'users/alice/node.txt']);
  const denied = await first.send(new PutObjectCommand({ Bucket: bucket, Key: 'users/bob/x.txt', Body: 'x' })).then(() => 'allowed', (error: Error) => error.name);
  expect(denied).toBe('AccessDenied');
  expect(requests.count).toBe(1);
  expect(local.testBed!.sts.issued.length - issuedBefore).toBe(1);
  // The answer's Subject comes along: the prefix the role policy grants is users/<subject>/.
  expect((await credentials()).subject).toBe('alice');
  first.destroy();
  second.destroy();
});

test('an expired id token: 401 invalid_token at once, not retryable', async () => {
  const requests = countingFetch();
  const now = Math.floor(Date.now() / 1000);
  const expired = await local.testBed!.issuers[0].sign({ sub: 'alice', iat: now - 7200, exp: now - 3600 });
  const error = await rejection(fromTokenDelegation({ endpoint: local.server.url, idToken: () => expired, fetch: requests.fetch })());
  expect([error.status, error.code, error.description, error.retryable, requests.count]).toEqual([401, 'invalid_token', 'The token has expired', false, 1]);
  expect(error.message).not.toContain(expired);
});

test('a token from an issuer the stack does not trust: 401 invalid_token', async () => {
  const foreign = await startOidcIssuer({ audience: local.testBed!.issuers[0].audience });
  try {
    const token = await foreign.sign({ sub: 'alice' });
    const error = await rejection(fromTokenDelegation({ endpoint: local.server.url, idToken: () => token })());
    expect([error.status, error.code, error.description, error.retryable]).toEqual([401, 'invalid_token', 'The token issuer is not accepted', false]);
    expect(error.message).not.toContain(token);
  } finally {
    await foreign.close();
  }
});

test('a role the stack does not let clients choose: 403 access_denied; a duration under 900 s: 400 invalid_request', async () => {
  const options: TokenDelegationOptions = { endpoint: local.server.url, idToken: () => devIdToken('alice') };
  const role = await rejection(fromTokenDelegation({ ...options, role: 'arn:aws:iam::123456789012:role/SomeoneElses' })());
  expect([role.status, role.code, role.retryable]).toEqual([403, 'access_denied', false]);
  const duration = await rejection(fromTokenDelegation({ ...options, durationSeconds: 60 })());
  expect([duration.status, duration.code, duration.retryable]).toEqual([400, 'invalid_request', false]);
});

test('an endpoint that is down: network_error, retryable, with the cause', async () => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
  const error = await rejection(fromTokenDelegation({ endpoint: `http://127.0.0.1:${port}/delegation`, idToken: () => devIdToken('alice') })());
  expect([error.status, error.code, error.retryable]).toEqual([0, 'network_error', true]);
  // Node's fetch rejects with a TypeError whose own cause is the refused connection.
  expect((error.cause as Error).name).toBe('TypeError');
  expect(((error.cause as Error).cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
});

describe('behind a proxy that answers 503 once', () => {
  let proxy: Server;
  let proxyUrl: string;
  const seen: number[] = [];

  /** The request's body, read whole. */
  async function bodyOf(request: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  beforeAll(async () => {
    proxy = createServer((request, response) => {
      void (async () => {
        const body = await bodyOf(request);
        if (seen.length === 0) {
          seen.push(503);
          response.writeHead(503, { 'Content-Type': 'application/json', 'Retry-After': '1' })
            .end(JSON.stringify({ error: 'temporarily_unavailable', error_description: 'The token issuer\'s keys could not be fetched' }));
          return;
        }
        const answer = await fetch(local.server.url, {
          method: 'POST',
          headers: { 'Authorization': request.headers.authorization ?? '', 'Content-Type': request.headers['content-type'] ?? 'application/json' },
          body: body.length > 0 ? body : undefined,
        });
        seen.push(answer.status);
        response.writeHead(answer.status, { 'Content-Type': 'application/json' }).end(await answer.text());
      })();
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/delegation`;
  });

  afterAll(async () => {
    await new Promise((resolve) => proxy?.close(resolve));
  });

  test('the provider waits the Retry-After, asks again with a fresh token, and resolves', async () => {
    let tokens = 0;
    const credentials = await fromTokenDelegation({
      endpoint: proxyUrl,
      idToken: () => {
        tokens++;
        return devIdToken('alice');
      },
    })();
    expect(seen).toEqual([503, 200]);
    expect(tokens).toBe(2);
    expect(credentials.accessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(credentials.expiration.getTime()).toBeGreaterThan(Date.now());
  });
});
