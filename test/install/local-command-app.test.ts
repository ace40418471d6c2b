import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { outputUntil } from '../support/child-output';

/**
 * What a new user does: a brand-new CDK app installs the package from its tarball (npm pack of this
 * repository, compiled), synthesizes its own stack, and runs `npx cdk-token-delegation local` on that
 * template; the README's local-server lines (both request forms) get credentials from it. Offline:
 * the app's own aws-cdk-lib, constructs and iam-simulate are this repository's, linked in.
 */

const REPO = join(__dirname, '..', '..');
const NPM_QUIET = ['--offline', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'];
let app: string;
let work: string;
let running: ChildProcess | undefined;

const APP_JS = `
const { App, Stack } = require('aws-cdk-lib');
const { JwtIssuer, TokenDelegation } = require('cdk-token-delegation');

const app = new App({ outdir: 'cdk.out' });
const stack = new Stack(app, 'FreshStack');
new TokenDelegation(stack, 'Files', {
  issuers: [JwtIssuer.oidc({ issuerUrl: 'https://fresh-tenant.eu.auth0.com/', audiences: ['FRESH_CLIENT_ID'] })],
  userPrefix: 'home/',
  allowedOrigins: ['http://localhost:5173'],
});
app.synth();
`;

function linkFromRepo(name: string): void {
  const target = join(app, 'node_modules', name);
  mkdirSync(join(target, '..'), { recursive: true });
  symlinkSync(join(REPO, 'node_modules', name), target, 'dir');
}

/** The local command as the app runs it: `npx cdk-token-delegation local …`, with no node_modules/.bin of this repository on PATH. */
function command(args: readonly string[]): ChildProcess {
  const path = (process.env.PATH ?? '').split(delimiter).filter((entry) => !entry.includes('node_modules'));
  return spawn('npx', ['--offline', '--no-install', 'cdk-token-delegation', 'local', ...args], {
    cwd: app,
    env: { ...process.env, PATH: [dirname(process.execPath), ...path].join(delimiter), npm_config_yes: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so stopping it also stops the node process npx starts.
    detached: true,
  });
}


/** The README's local-server shell block: the one that asks the dev token route for alice's token and exchanges it in both forms. */
function readmeLocalBlock(): string {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```bash\n([\s\S]*?)```/g)].map((match) => match[1]);
  const block = blocks.find((text) => text.includes('/dev/token?sub=alice') && text.includes('grant_type'));
  if (!block) throw new Error('The README has no bash block with the dev token route');
  return block;
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'fresh-app-'));
  if (!existsSync(join(REPO, 'lib', 'index.js')) || !existsSync(join(REPO, 'assets', 'cli', 'index.js'))) {
    execFileSync('npx', ['projen', 'compile'], { cwd: REPO, stdio: 'ignore' });
  }
  execFileSync('npm', ['pack', '--pack-destination', work, ...NPM_QUIET], { cwd: REPO, stdio: 'ignore' });
  const tarball = join(work, readdirSync(work).find((name) => name.endsWith('.tgz'))!);
  app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'fresh-app', private: true }));
  writeFileSync(join(app, 'app.js'), APP_JS);
  // The package has no dependencies; its peers are the app's own CDK (linked in, as a CDK app has them).
  execFileSync('npm', ['install', '--legacy-peer-deps', ...NPM_QUIET, tarball], { cwd: app, stdio: 'ignore' });
  linkFromRepo('aws-cdk-lib');
  linkFromRepo('constructs');
  execFileSync('node', ['app.js'], { cwd: app, stdio: 'ignore' });
}, 240_000);

afterEach(async () => {
  if (running?.pid !== undefined && running.exitCode === null) {
    const exited = new Promise((resolve) => running!.once('exit', resolve));
    process.kill(-running.pid, 'SIGTERM');
    await exited;
  }
  running = undefined;
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test('the package ships the command and the handler, and none of the repository\'s sources', () => {
  const installed = join(app, 'node_modules', 'cdk-token-delegation');
  const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
  expect(manifest.bin).toEqual({ 'cdk-token-delegation': 'assets/cli/index.js' });
  expect(manifest.dependencies ?? {}).toEqual({});
  expect(Object.keys(manifest.peerDependencies)).toEqual(['aws-cdk-lib', 'constructs']);
  expect(readFileSync(join(installed, 'assets', 'cli', 'index.js'), 'utf8').startsWith('#!/usr/bin/env node')).toBe(true);
  expect(existsSync(join(installed, 'assets', 'lambda', 'delegation', 'index.js'))).toBe(true);
  for (const repositoryOnly of ['local', 'examples', 'lambda', 'src', 'test']) {
    expect(existsSync(join(installed, repositoryOnly))).toBe(false);
  }
  // iam-simulate (AGPL) is loaded from the user's installation, never bundled: none of its code is in the command.
  const bundle = readFileSync(join(installed, 'assets', 'cli', 'index.js'), 'utf8');
  expect(['ImplicitlyDenied', 'IamServiceAuthorizer'].filter((marker) => bundle.includes(marker))).toEqual([]);
});

test('without iam-simulate the command still signs the users in, and says how to get the table with the same arguments', async () => {
  const result = await outputUntil(command(['--template', 'cdk.out/FreshStack.template.json', '--port', '0', '--once']), () => false);
  expect(result.code).toBe(0);
  expect(result.output).toMatch(/^alice +signed in -> HTTP 200, role FilesUserRole\w+, saml:sub = alice$/m);
  expect(result.output).toContain('\n  npx --yes -p @cloud-copilot/iam-simulate cdk-token-delegation local --template cdk.out/FreshStack.template.json --port 0 --once\n');
  expect(result.output).not.toContain('\nrequest ');
});

test('a template that is not there is named with what to do', async () => {
  const result = await outputUntil(command(['--template', 'cdk.out/Missing.template.json']), () => false);
  expect(result.code).toBe(1);
  expect(result.output).toContain('Cannot read cdk.out/Missing.template.json: run "cdk synth" first');
});

describe('with iam-simulate next to it', () => {
  beforeAll(() => {
    linkFromRepo('@cloud-copilot');
  });

  test('serves the app\'s template, prints its table for home/, and the README\'s curl lines get credentials', async () => {
    const started = Date.now();
    running = command(['--template', 'cdk.out/FreshStack.template.json', '--port', '0']);
    const { output } = await outputUntil(running, (text) => text.includes('Press Ctrl+C to stop.'));
    const startupMs = Date.now() - started;
    process.stdout.write(`The fresh app's command printed, ready after ${startupMs} ms:\n${output}`);

    expect(output).toContain('client id FRESH_CLIENT_ID');
    expect(output).toMatch(/alice +signed in -> HTTP 200, role FilesUserRole\w+, saml:sub = alice/);
    expect(output).toContain('forged token (another key) -> HTTP 401 invalid_token, no STS call');
    const table = output.slice(output.indexOf('request '), output.indexOf('\n\nIn a second terminal'));
    expect(table.split('\n').map((line) => /^(.+?) {2,}(\S+) {2,}(\S+)$/.exec(line)!.slice(1))).toEqual([
      ['request', 'alice', 'bob'],
      ['PutObject    home/alice/notes.txt', 'allowed', 'denied'],
      ['GetObject    home/alice/notes.txt', 'allowed', 'denied'],
      ['DeleteObject home/alice/notes.txt', 'allowed', 'denied'],
      ['ListBucket   home/alice/ (prefix)', 'allowed', 'denied'],
      ['PutObject    home/bob/notes.txt', 'denied', 'allowed'],
      ['GetObject    home/bob/notes.txt', 'denied', 'allowed'],
      ['DeleteObject home/bob/notes.txt', 'denied', 'allowed'],
      ['ListBucket   home/bob/ (prefix)', 'denied', 'allowed'],
      ['GetObject    home/alicex/notes.txt', 'denied', 'denied'],
      ['ListBucket   home/ (prefix)', 'denied', 'denied'],
    ]);

    const origin = /Delegation endpoint: (http:\/\/127\.0\.0\.1:\d+)\/delegation/.exec(output)![1];
    const script = readmeLocalBlock()
      .split('\n')
      // The first line of the block starts the server (already running here, in its "first terminal").
      .filter((line) => !line.startsWith('npx ') && !line.startsWith('npm run'))
      .join('\n')
      .replaceAll('http://127.0.0.1:8787', origin)
      .replace(/^CLIENT_ID=\S+/m, 'CLIENT_ID=FRESH_CLIENT_ID');
    const shell = spawnSync('bash', ['-euo', 'pipefail', '-c', script], { encoding: 'utf8', timeout: 60_000 });
    expect(shell.stderr).toBe('');
    expect(shell.status).toBe(0);
    const answers = shell.stdout.trim().split(/\n(?=\{)/).map((text) => JSON.parse(text) as Record<string, any>);
    expect(answers).toHaveLength(2);
    for (const answer of answers) {
      expect(answer.Credentials.AccessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
      expect(answer.Subject).toBe('alice');
    }
    // Pretty-printed, as the README promises.
    expect(shell.stdout).toContain('\n    "Credentials": {\n');
  }, 120_000);
});
