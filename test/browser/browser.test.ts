import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { parseServerArguments, startLocalServer, type RunningLocalServer } from '../../local/server';
import { collectingLogs, launchChromium } from '../support/chromium';
import { exampleTemplateFile } from '../support/example-template-file';
import { loadBundledHandler } from '../support/handler-harness';

/**
 * A real headless Chromium (Debian's) on loopback: a page served from an allowed origin obtains
 * credentials from the local delegation server with fetch; a page from another origin is stopped by CORS.
 */


let allowedPage: Server;
let otherPage: Server;
let allowedOrigin: string;
let otherOrigin: string;
let local: RunningLocalServer;
let browser: Browser;
const handlerLogs: string[] = [];

/** A loopback server for an empty HTML page: the origin a front end would be served from. */
async function pageServer(): Promise<{ server: Server; origin: string }> {
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end('<!doctype html><title>app</title><p>app');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function openPage(origin: string): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(`${origin}/`);
  return page;
}

interface PageFetchResult {
  readonly status?: number;
  readonly body?: Record<string, any>;
  readonly error?: string;
}

/** Runs fetch inside the page: POST /delegation with the given token, as a single-page app would. */
function fetchCredentialsInPage(page: Page, endpoint: string, idToken: string): Promise<PageFetchResult> {
  return page.evaluate(async ({ url, token }) => {
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'Authorization': `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({}),
      });
      return { status: response.status, body: await response.json() as Record<string, any> };
    } catch (error) {
      return { error: String(error) };
    }
  }, { url: endpoint, token: idToken });
}

beforeAll(async () => {
  ({ server: allowedPage, origin: allowedOrigin } = await pageServer());
  ({ server: otherPage, origin: otherOrigin } = await pageServer());
  local = await startLocalServer({ ...parseServerArguments(['--template', exampleTemplateFile(), '--port', '0', '--origin', allowedOrigin]) }, (env) => collectingLogs(loadBundledHandler(env), handlerLogs));
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await local?.close();
  await new Promise((resolve) => allowedPage?.close(resolve));
  await new Promise((resolve) => otherPage?.close(resolve));
});

test('a page on the allowed origin signs in at the dev token route and obtains credentials with fetch', async () => {
  const page = await openPage(allowedOrigin);
  const result = await page.evaluate(async (server) => {
    const { id_token: idToken } = await (await fetch(`${server}/dev/token?sub=alice`)).json() as { id_token: string };
    const response = await fetch(`${server}/delegation`, {
      method: 'POST',
      headers: { 'Authorization': `Bearer ${idToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({}),
    });
    return { status: response.status, body: await response.json() as Record<string, any>, cacheControl: response.headers.get('cache-control') };
  }, local.server.origin);
  expect(result.status).toBe(200);
  expect(result.cacheControl).toBe('no-store');
  expect(result.body.Credentials.AccessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
  expect(typeof result.body.Credentials.SecretAccessKey).toBe('string');
  expect(result.body.Subject).toBe('alice');
  expect(local.testBed!.sts.issued.some((session) => session.accessKeyId === result.body.Credentials.AccessKeyId)).toBe(true);
  const logs = handlerLogs.join('');
  expect(logs).toContain('"outcome":"issued"');
  expect(logs).not.toContain(result.body.Credentials.SecretAccessKey);
  expect(logs).not.toContain(result.body.Credentials.SessionToken);
  await page.close();
});

test('a page on another origin is refused by CORS: fetch rejects and no credentials are issued', async () => {
  const sts = local.testBed!.sts;
  const callsBefore = sts.calls.length;
  const page = await openPage(otherOrigin);
  const result = await fetchCredentialsInPage(page, local.server.url, await local.testBed!.signIn('alice'));
  expect(result.status).toBeUndefined();
  expect(result.error).toMatch(/TypeError: Failed to fetch/);
  // The preflight failed, so the browser never sent the POST.
  expect(sts.calls.length).toBe(callsBefore);
  await page.close();
});

test('the same fetch from the allowed origin with a token minted outside the page succeeds', async () => {
  const page = await openPage(allowedOrigin);
  const result = await fetchCredentialsInPage(page, local.server.url, await local.testBed!.signIn('bob'));
  expect(result.status).toBe(200);
  expect(result.body?.Subject).toBe('bob');
  await page.close();
});
