import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { parseServerArguments, startLocalServer, type RunningLocalServer } from '../../local/server';
import { collectingLogs, launchChromium } from '../support/chromium';
import { exampleTemplateFile } from '../support/example-template-file';
import { loadBundledHandler } from '../support/handler-harness';

/**
 * The browser example (examples/browser/) in Debian's headless Chromium against the local command:
 * it signs in at the dev token route, exchanges the token at the delegation endpoint, and lists and
 * uploads under its own prefix with the AWS SDK v3, against the loopback S3 that checks the SigV4
 * signature with the issued credentials and decides with the template's role policy.
 */

const EXAMPLE_DIRECTORY = join(__dirname, '..', '..', 'examples', 'browser');

let pageServer: Server;
let pageOrigin: string;
let local: RunningLocalServer;
let browser: Browser;
let bucket: string;
const handlerLogs: string[] = [];

async function openExample(): Promise<Page> {
  const page = await browser.newPage();
  const query = new URLSearchParams({ endpoint: local.server.origin, s3: local.testBed!.s3!.endpoint, bucket });
  await page.goto(`${pageOrigin}/index.html?${query}`);
  return page;
}

beforeAll(async () => {
  // The page's script, bundled as `npx projen example:browser` bundles it (kept in memory here).
  const bundled = await build({
    entryPoints: [join(EXAMPLE_DIRECTORY, 'app.ts')],
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    write: false,
    logLevel: 'warning',
  });
  const files: Record<string, { type: string; body: string | Uint8Array }> = {
    '/index.html': { type: 'text/html; charset=utf-8', body: readFileSync(join(EXAMPLE_DIRECTORY, 'index.html'), 'utf8') },
    '/app.js': { type: 'text/javascript', body: bundled.outputFiles[0].contents },
  };
  pageServer = createServer((request, response) => {
    const file = files[new URL(request.url ?? '/', 'http://localhost').pathname];
    if (!file) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'Content-Type': file.type }).end(file.body);
  });
  await new Promise<void>((resolve) => pageServer.listen(0, '127.0.0.1', resolve));
  pageOrigin = `http://127.0.0.1:${(pageServer.address() as AddressInfo).port}`;
  local = await startLocalServer(parseServerArguments(['--template', exampleTemplateFile(), '--port', '0', '--origin', pageOrigin]),
    (env) => collectingLogs(loadBundledHandler(env), handlerLogs));
  bucket = local.testBed!.buckets[0].name;
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await local?.close();
  await new Promise((resolve) => pageServer?.close(resolve));
});

test('the page signs alice in, uploads under users/alice/ and lists it, through its own buttons', async () => {
  const page = await openExample();
  await page.fill('#user', 'alice');
  await page.click('#sign-in');
  await page.waitForFunction(() => (globalThis as any).document.getElementById('status').textContent.startsWith('Signed in as alice'), undefined, { timeout: 20_000 });
  expect(await page.textContent('#prefix')).toBe('users/alice/');
  await page.fill('#name', 'hello.txt');
  await page.fill('#text', 'hello from the browser');
  await page.click('#upload');
  await page.waitForFunction(() => (globalThis as any).document.getElementById('status').textContent.startsWith('Uploaded'), undefined, { timeout: 20_000 });
  expect(await page.textContent('#status')).toBe('Uploaded users/alice/hello.txt.');
  expect(await page.$$eval('#files li', (items) => items.map((item) => item.textContent))).toEqual(['users/alice/hello.txt']);

  const stored = local.testBed!.s3!.objects.get(`${bucket}/users/alice/hello.txt`);
  expect(stored?.body.toString('utf8')).toBe('hello from the browser');
  expect(local.testBed!.s3!.calls.filter((call) => call.outcome !== 'ok')).toEqual([]);
  expect(handlerLogs.join('')).toContain('"outcome":"issued"');
  await page.close();
});

test('bob\'s session may not list or write under users/alice/ or users/, and his own prefix holds only his files', async () => {
  const page = await openExample();
  const result = await page.evaluate(async () => {
    const example = (globalThis as any).tokenDelegationExample;
    const settings = example.settingsFrom((globalThis as any).location.search);
    const bob = await example.signIn(settings, 'bob');
    const attempt = async (work: () => Promise<unknown>) => {
      try {
        return { ok: await work() };
      } catch (error) {
        return { failed: example.failureName(error) };
      }
    };
    return {
      subject: bob.subject,
      ownBefore: await attempt(() => example.listFiles(settings, bob)),
      upload: await attempt(() => example.upload(settings, bob, 'b.txt', 'b')),
      ownAfter: await attempt(() => example.listFiles(settings, bob)),
      listAlice: await attempt(() => example.listFiles(settings, bob, 'users/alice/')),
      listAll: await attempt(() => example.listFiles(settings, bob, 'users/')),
      writeAlice: await attempt(() => example.upload(settings, bob, 'x', 'x', 'users/alice/x.txt')),
      writeSibling: await attempt(() => example.upload(settings, bob, 'x', 'x', 'users/bobx/x.txt')),
    };
  });
  expect(result).toEqual({
    subject: 'bob',
    ownBefore: { ok: [] },
    upload: { ok: 'users/bob/b.txt' },
    ownAfter: { ok: ['users/bob/b.txt'] },
    listAlice: { failed: 'AccessDenied' },
    listAll: { failed: 'AccessDenied' },
    writeAlice: { failed: 'AccessDenied' },
    writeSibling: { failed: 'AccessDenied' },
  });
  expect(local.testBed!.s3!.objects.has(`${bucket}/users/alice/x.txt`)).toBe(false);
  const denied = local.testBed!.s3!.calls.filter((call) => call.outcome === 'AccessDenied');
  expect(denied.map((call) => [call.subject, call.action])).toEqual([
    ['bob', 's3:ListBucket'], ['bob', 's3:ListBucket'], ['bob', 's3:PutObject'], ['bob', 's3:PutObject'],
  ]);
  await page.close();
});

test('the loopback S3 answers 404 for a bucket the template does not have and 403 for an unsigned request', async () => {
  const page = await openExample();
  const failures = await page.evaluate(async (s3Endpoint) => {
    const response = await fetch(`${s3Endpoint}/any-bucket/users/alice/x.txt`);
    const unsigned = await fetch(`${s3Endpoint}/${new URLSearchParams((globalThis as any).location.search).get('bucket')}/users/alice/hello.txt`);
    return { unknownBucket: response.status, unsigned: [unsigned.status, (await unsigned.text()).match(/<Code>(\w+)<\/Code>/)?.[1]] };
  }, local.testBed!.s3!.endpoint);
  expect(failures).toEqual({ unknownBucket: 404, unsigned: [403, 'AccessDenied'] });
  await page.close();
});

test('with cdk-token-delegation-credentials: concurrent first calls make one exchange, the cache serves later asks, and a refresh window longer than the credentials\' life makes a new exchange', async () => {
  const page = await openExample();
  const issuedBefore = local.testBed!.sts.issued.length;
  const result = await page.evaluate(async () => {
    const example = (globalThis as any).tokenDelegationExample;
    const settings = example.settingsFrom((globalThis as any).location.search);
    let exchanges = 0;
    // The page's fetch, counting the provider's requests to the delegation endpoint.
    const counting = (url: string, request: unknown) => {
      exchanges++;
      return fetch(url, request as RequestInit);
    };

    // Three S3 clients and two direct calls share one provider and all start at once.
    const credentials = example.credentialsFor(settings, 'alice', { fetch: counting });
    const sessions = [0, 1, 2].map(() => ({ prefix: 'users/alice/', s3: example.s3ClientFor(settings, credentials) }));
    const [listings, direct, again] = await Promise.all([
      Promise.all(sessions.map((session) => example.listFiles(settings, session))),
      credentials(),
      credentials(),
    ]);
    const concurrent = { exchanges, listed: listings.length, shared: direct === again, subject: direct.subject };
    // alice puts and lists under her prefix, and is denied on bob's: all from the cache.
    const put = await example.upload(settings, sessions[1], 'provider.txt', 'from the provider');
    const listed = await example.listFiles(settings, sessions[2]);
    const onBobs = await example.upload(settings, sessions[0], 'x', 'x', 'users/bob/x.txt').then(() => 'allowed', example.failureName);
    const cached = { exchanges, put, listed, onBobs, same: (await credentials()) === direct };

    // A refresh window of two hours, for credentials that live one: every ask is an exchange.
    exchanges = 0;
    const refreshing = example.credentialsFor(settings, 'alice', { fetch: counting, refreshBeforeExpirySeconds: 7200 });
    const first = await refreshing();
    const second = await refreshing();
    // A new client asks once and signs with the newest credentials.
    const refreshedKey = await example.upload(settings, { prefix: 'users/alice/', s3: example.s3ClientFor(settings, refreshing) }, 'refreshed.txt', 'r');
    const refreshed = {
      exchanges,
      newCredentials: first.accessKeyId !== second.accessKeyId && first.sessionToken !== second.sessionToken,
      lifeShorterThanWindow: second.expiration.getTime() - Date.now() < 7200 * 1000,
      refreshedKey,
    };
    return { concurrent, cached, refreshed };
  });
  expect(result).toEqual({
    concurrent: { exchanges: 1, listed: 3, shared: true, subject: 'alice' },
    cached: {
      exchanges: 1,
      put: 'users/alice/provider.txt',
      listed: ['users/alice/hello.txt', 'users/alice/provider.txt'],
      onBobs: 'AccessDenied',
      same: true,
    },
    refreshed: { exchanges: 3, newCredentials: true, lifeShorterThanWindow: true, refreshedKey: 'users/alice/refreshed.txt' },
  });
  // What the local command saw: four sessions issued, one for the shared provider and three for the refreshing one.
  expect(local.testBed!.sts.issued.length - issuedBefore).toBe(4);
  expect(local.testBed!.s3!.objects.get(`${bucket}/users/alice/refreshed.txt`)?.body.toString('utf8')).toBe('r');
  expect(local.testBed!.s3!.objects.has(`${bucket}/users/bob/x.txt`)).toBe(false);
  await page.close();
});
