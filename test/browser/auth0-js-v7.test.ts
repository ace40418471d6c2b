import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { REFRESH_TOKEN_REFUSAL } from '../../lambda/delegation/request';
import type { ProxyHandler } from '../../local/http-adapter';
import { generateForeignKey } from '../../local/oidc-issuer';
import { parseServerArguments, startLocalServer, type RunningLocalServer } from '../../local/server';
import { launchChromium } from '../support/chromium';
import { exampleTemplateFile } from '../support/example-template-file';
import { loadBundledHandler, withoutLogs } from '../support/handler-harness';

/**
 * The real auth0.js v7 (the last major with getDelegationToken) in Debian's headless Chromium against
 * the local command over TLS. auth0.js v7 has no URL option: it posts to `https://` + domain +
 * `/delegation`, so the deployed `/v1` stage has to go into `domain`; these tests prove the
 * instructions of docs/migrating-from-auth0-delegation.md and the error shape callers receive.
 */


let pageServer: Server;
let pageOrigin: string;
let local: RunningLocalServer;
let browser: Browser;
let page: Page;
let domain: string;
const handlerPaths: string[] = [];

/** The handler with its log lines dropped and the paths it was called on recorded. */
function recordingPaths(handler: ProxyHandler): ProxyHandler {
  const quiet = withoutLogs(handler);
  return (event, context) => {
    handlerPaths.push(event.path);
    return quiet(event, context);
  };
}

interface DelegationOutcome {
  readonly result?: Record<string, any>;
  readonly error?: { readonly isError: boolean; readonly message: unknown; readonly status: unknown; readonly body: Record<string, unknown> };
}

/** Calls auth0.js v7 in the page: `new Auth0({ domain, clientID })` then getDelegationToken or refreshToken. */
function delegateInPage(call: { domain: string; clientID: string; idToken?: string; refreshToken?: string }): Promise<DelegationOutcome> {
  return page.evaluate((args) => new Promise<DelegationOutcome>((resolve) => {
    const Auth0 = (globalThis as any).Auth0;
    const auth0 = new Auth0({ domain: args.domain, clientID: args.clientID, callbackURL: (globalThis as any).location.href });
    const callback = (error: any, result: any) => resolve(error
      ? { error: { isError: error instanceof Error, message: error.message, status: error.status, body: { ...error } } }
      : { result });
    if (args.refreshToken !== undefined) {
      auth0.refreshToken(args.refreshToken, callback);
    } else {
      auth0.getDelegationToken({ id_token: args.idToken, api: 'aws' }, callback);
    }
  }), call);
}

beforeAll(async () => {
  // auth0.js v7's browser build, made the way its standalone.js expects (window.Auth0).
  const bundled = await build({
    entryPoints: [join(require.resolve('auth0-js/package.json'), '..', 'standalone.js')],
    bundle: true,
    platform: 'browser',
    format: 'iife',
    write: false,
    logLevel: 'error',
    define: { global: 'window' },
    // reqwest requires xhr2 only outside browsers.
    external: ['xhr2'],
  });
  const script = bundled.outputFiles[0].contents;
  pageServer = createServer((request, response) => {
    if (request.url === '/auth0.js') {
      response.writeHead(200, { 'Content-Type': 'text/javascript' }).end(script);
    } else {
      response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end('<!doctype html><title>app</title><script src="/auth0.js"></script>');
    }
  });
  await new Promise<void>((resolve) => pageServer.listen(0, '127.0.0.1', resolve));
  pageOrigin = `http://127.0.0.1:${(pageServer.address() as AddressInfo).port}`;
  local = await startLocalServer(parseServerArguments(['--template', exampleTemplateFile(), '--port', '0', '--tls', '--origin', pageOrigin]),
    (env) => recordingPaths(loadBundledHandler(env)));
  domain = `127.0.0.1:${local.server.port}/${local.testBed!.stage}`;
  // Trust exactly the certificate the command made at start, nothing else.
  browser = await launchChromium([`--ignore-certificate-errors-spki-list=${local.tls!.spkiSha256Base64}`]);
  page = await browser.newPage();
  await page.goto(`${pageOrigin}/`);
  expect(await page.evaluate(() => typeof (globalThis as any).Auth0)).toBe('function');
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await local?.close();
  await new Promise((resolve) => pageServer?.close(resolve));
});

beforeEach(() => {
  handlerPaths.length = 0;
});

test('the command serves https with the certificate it made, and the template\'s stage is v1', () => {
  expect(local.server.origin).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  expect(local.testBed!.stage).toBe('v1');
  expect(local.banner).toContain(local.tls!.certificateFile);
});

test('getDelegationToken with domain "<host>/v1" posts the legacy body to /v1/delegation and gets STS credentials', async () => {
  const idToken = await local.testBed!.signIn('alice');
  const outcome = await delegateInPage({ domain, clientID: local.testBed!.issuers[0].audience, idToken });
  expect(outcome.error).toBeUndefined();
  expect(outcome.result!.Credentials.AccessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
  expect(typeof outcome.result!.Credentials.SessionToken).toBe('string');
  expect(outcome.result!.Subject).toBe('alice');
  expect(handlerPaths).toEqual(['/v1/delegation']);
});

test('a refused token reaches the callback as the parsed body: not an Error, err.message and err.status undefined', async () => {
  const forged = await local.testBed!.issuers[0].sign({ sub: 'alice' }, { key: await generateForeignKey() });
  const outcome = await delegateInPage({ domain, clientID: local.testBed!.issuers[0].audience, idToken: forged });
  expect(outcome.result).toBeUndefined();
  expect(outcome.error).toEqual({
    isError: false,
    message: undefined,
    status: undefined,
    body: { error: 'invalid_token', error_description: expect.any(String) },
  });
});

test('refreshToken gets the sentence that says to send a fresh id_token instead', async () => {
  const outcome = await delegateInPage({ domain, clientID: local.testBed!.issuers[0].audience, refreshToken: 'a-refresh-token-value' });
  expect(outcome.error?.body).toEqual({ error: 'invalid_request', error_description: REFRESH_TOKEN_REFUSAL });
  expect(local.testBed!.sts.issued.every((session) => session.subject !== 'a-refresh-token-value')).toBe(true);
});

test('a client id the template does not accept is refused, with the same error shape', async () => {
  const idToken = await local.testBed!.signIn('alice');
  const outcome = await delegateInPage({ domain, clientID: 'ANOTHER_CLIENT_ID', idToken });
  expect(outcome.error).toEqual({
    isError: false,
    message: undefined,
    status: undefined,
    body: { error: 'invalid_request', error_description: 'client_id is not an audience of the id_token' },
  });
});
