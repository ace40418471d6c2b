import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { outputUntil } from '../support/child-output';

/**
 * The first hour of a new user, as the README's Install section takes it before the first release: pack
 * the npm package (`npx projen package:tarball`), make a brand-new app with the real `cdk init app
 * --language typescript` of the CDK CLI in this repository's lock (TypeScript 7, tsx, its cdk.json),
 * install the tarball, write the README's quick start as the whole `lib/my-app-stack.ts`, synthesize
 * through the generated cdk.json (which type-checks with tsc first), serve the stack with `npx
 * cdk-token-delegation local --template cdk.out` with nothing else installed, and run the README's
 * exchange lines against it. Every step is timed, and the times are printed at the end.
 *
 * The app installs what `cdk init` asks for from the npm registry (`--prefer-offline`: from npm's cache
 * when it has it). Child processes get a PATH without this repository's node_modules/.bin, so nothing
 * of the repository's tree reaches the app but the tarball.
 *
 * Run by `npx projen test:install` (not by the main jest run: packing re-bundles the handlers that
 * other test files load).
 */

const ROOT = join(__dirname, '..', '..');
const BIN = join(ROOT, 'node_modules', '.bin');
const PACKAGE_NAME = 'cdk-token-delegation';
const STACK = 'MyAppStack';
/** Generous outer limits: each step takes seconds to tens of seconds; only a hang should reach them. */
const STEP_TIMEOUT_MS = 600_000;
const TEST_TIMEOUT_MS = 900_000;

interface Run {
  readonly stdout: string;
  readonly stderr: string;
  readonly seconds: number;
}

class CommandFailed extends Error {
  constructor(readonly command: string, readonly code: number | string | null, readonly stdout: string, readonly stderr: string) {
    super(`${command} failed (${code}):\n${stdout.slice(-3000)}\n${stderr.slice(-3000)}`);
  }
}

/** The environment of a new user's shell: the Node.js that runs jest, and no node_modules/.bin of this repository. */
function userEnvironment(): NodeJS.ProcessEnv {
  const path = (process.env.PATH ?? '').split(delimiter).filter((entry) => !entry.includes('node_modules'));
  // What npm, npx and projen set for this run (npm_config_*, npm_package_*, INIT_CWD) is not the user's.
  const own = Object.entries(process.env).filter(([name]) => !/^npm_|^INIT_CWD$|^PROJEN_/.test(name));
  return {
    ...Object.fromEntries(own),
    PATH: [dirname(process.execPath), ...path].join(delimiter),
    CDK_DISABLE_VERSION_CHECK: 'true',
    CDK_CLI_NOTICES: 'false',
    npm_config_prefer_offline: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
  };
}

/** Runs a command as the user would; rejects with its output on failure. */
function run(command: string, args: readonly string[], cwd: string): Promise<Run> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    execFile(command, [...args], { cwd, env: userEnvironment(), timeout: STEP_TIMEOUT_MS, maxBuffer: 64 * 2 ** 20 }, (error, stdout, stderr) => {
      if (error) {
        reject(new CommandFailed([command, ...args].join(' '), error.code ?? error.signal ?? null, stdout, stderr));
      } else {
        resolve({ stdout, stderr, seconds: (performance.now() - started) / 1000 });
      }
    });
  });
}

/** A bash script, as pasted from the README into a terminal in `cwd`. */
function shell(script: string, cwd: string): Promise<Run> {
  return run('bash', ['-euo', 'pipefail', '-c', script], cwd);
}

/** A README section's text, from its `## ` heading to the next. */
function readmeSection(heading: string): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.split(new RegExp(`^## ${heading}$`, 'm'))[1]?.split(/^## /m)[0];
  if (section === undefined) throw new Error(`README.md has no "## ${heading}" section`);
  return section;
}

/** The fenced blocks of a README section in `language` (```ts nofixture counts as ts). */
function readmeBlocks(heading: string, language: string): string[] {
  return [...readmeSection(heading).matchAll(/^```(\w+)[^\n]*\n([\s\S]*?)^```$/gm)].filter((match) => match[1] === language).map((match) => match[2]);
}

/** The fenced blocks in `language` of a section (`## heading`) of docs/verify.md. */
function verifyDocBlocks(heading: string, language: string): string[] {
  const page = readFileSync(join(ROOT, 'docs', 'verify.md'), 'utf8');
  const section = page.split(new RegExp(`^## ${heading}$`, 'm'))[1]?.split(/^## /m)[0];
  if (section === undefined) throw new Error(`docs/verify.md has no "## ${heading}" section`);
  return [...section.matchAll(/^```(\w+)[^\n]*\n([\s\S]*?)^```$/gm)].filter((match) => match[1] === language).map((match) => match[2]);
}

/** The Install section's shell lines, without comments, in order. */
function readmeInstallLines(): string[] {
  return readmeBlocks('Install', 'bash').slice(1).join('\n').split('\n').map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'));
}


/** A command line pasted into a terminal in the app, left running in its own process group. */
function startInApp(commandLine: string): ChildProcess {
  return spawn('bash', ['-c', `exec ${commandLine}`], { cwd: appDirectory, env: userEnvironment(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    process.kill(-child.pid, 'SIGTERM');
    await exited;
  }
}

interface Template {
  readonly Resources: Record<string, { readonly Type: string; readonly Properties?: Record<string, any> }>;
}

let workDirectory: string;
let appDirectory: string;
let tarball: string;
const times: Array<[string, number]> = [];
let running: ChildProcess | undefined;

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function template(output: string, stack: string): Template {
  return JSON.parse(readFileSync(join(output, `${stack}.template.json`), 'utf8'));
}

function resourcesOfType(stackTemplate: Template, type: string): Array<{ readonly Properties?: Record<string, any> }> {
  return Object.values(stackTemplate.Resources).filter((resource) => resource.Type === type);
}

/** The hashes of every `index.js` among the assembly's assets: the bundled handlers, as deployed. */
function assetHandlerHashes(output: string): string[] {
  return readdirSync(output)
    .filter((entry) => entry.startsWith('asset.') && existsSync(join(output, entry, 'index.js')))
    .map((entry) => sha256(join(output, entry, 'index.js')));
}

const bundledHandlers = () => ['delegation', 'certificate'].map((name) => sha256(join(ROOT, 'assets', 'lambda', name, 'index.js')));

/** The README's exchange lines (Install step 5), pointed at the running command's origin. */
function readmeExchange(origin: string): string {
  const [, , exchange] = readmeBlocks('Install', 'bash');
  return exchange.replaceAll('http://127.0.0.1:8787', origin);
}

function credentialsIn(stdout: string): Array<Record<string, any>> {
  return stdout.trim().split(/\n(?=\{)/).map((text) => JSON.parse(text) as Record<string, any>);
}

beforeAll(async () => {
  const packed = await run(join(BIN, 'projen'), ['package:tarball'], ROOT);
  times.push(['pack the library (npx projen package:tarball)', packed.seconds]);
  const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
  tarball = join(ROOT, 'dist', 'js', `${PACKAGE_NAME}@${version}.jsii.tgz`);
  expect(existsSync(tarball)).toBe(true);

  // Install, step 2: `cdk init` names the app, its bin/ file and its stack after the folder.
  workDirectory = mkdtempSync(join(tmpdir(), 'first-hour-'));
  appDirectory = join(workDirectory, 'my-app');
  mkdirSync(appDirectory);
  const [mkdirLine, initLine, installLine] = readmeInstallLines().slice(1, 4);
  expect([mkdirLine, initLine, installLine]).toEqual([
    'mkdir ../my-app && cd ../my-app',
    'npx --yes aws-cdk@2 init app --language typescript',
    `npm install ../cdk-token-delegation/dist/js/${PACKAGE_NAME}@0.0.0.jsii.tgz`,
  ]);
  // The README's `npx aws-cdk@2 init` runs the newest 2.x CLI; here the one in this repository's lock, which follows it.
  const initialized = await run(join(BIN, 'cdk'), ['init', 'app', '--language', 'typescript'], appDirectory);
  times.push(['cdk init app --language typescript (with its npm install)', initialized.seconds]);
  const installed = await run('npm', ['install', '--loglevel=error', tarball], appDirectory);
  times.push(['npm install <tarball>', installed.seconds]);

  // Install, step 3: the quick start, whole, as lib/my-app-stack.ts; then `npx cdk synth --quiet`.
  const [quickStart] = readmeBlocks('Quick start', 'ts');
  writeFileSync(join(appDirectory, 'lib', 'my-app-stack.ts'), quickStart);
}, TEST_TIMEOUT_MS);

afterEach(async () => {
  await stop(running);
  running = undefined;
});

afterAll(() => {
  const lines = times.map(([step, seconds]) => `  ${seconds.toFixed(1).padStart(6)} s  ${step}`);
  process.stderr.write(`The first hour, timed (test:install):\n${lines.join('\n')}\n`);
  if (workDirectory) rmSync(workDirectory, { recursive: true, force: true });
});

describe('the package', () => {
  test('the packed package holds the compiled constructs, both bundled handlers and the command, and none of the repository\'s sources', () => {
    const installed = join(appDirectory, 'node_modules', PACKAGE_NAME);
    expect(existsSync(join(installed, 'lib', 'index.js'))).toBe(true);
    expect(existsSync(join(installed, 'lib', 'index.d.ts'))).toBe(true);
    expect(existsSync(join(installed, '.jsii'))).toBe(true);
    expect(existsSync(join(installed, 'assets', 'cli', 'index.js'))).toBe(true);
    expect(['delegation', 'certificate'].map((name) => sha256(join(installed, 'assets', 'lambda', name, 'index.js')))).toEqual(bundledHandlers());
    for (const absent of ['src', 'lambda', 'local', 'test', 'scripts', 'examples', 'rosetta', '.tools']) {
      expect({ absent, present: existsSync(join(installed, absent)) }).toEqual({ absent, present: false });
    }
    // Node.js 22 or newer, as the README says.
    expect(JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')).engines).toEqual({ node: '>= 22.0.0' });
  });
});

describe('a new app as cdk init makes it today, with the package in it', () => {
  test('is what the README describes: TypeScript 7, tsx, and a cdk.json that type-checks with tsc before it runs bin/my-app.ts', () => {
    const manifest = JSON.parse(readFileSync(join(appDirectory, 'package.json'), 'utf8'));
    expect(Object.keys(manifest.devDependencies)).toEqual(expect.arrayContaining(['typescript', 'tsx', 'aws-cdk']));
    expect(JSON.parse(readFileSync(join(appDirectory, 'node_modules', 'typescript', 'package.json'), 'utf8')).version).toMatch(/^7\./);
    expect(manifest.dependencies[PACKAGE_NAME]).toMatch(/^file:.*\.jsii\.tgz$/);
    expect(JSON.parse(readFileSync(join(appDirectory, 'cdk.json'), 'utf8')).app).toBe('npx tsc && npx tsx bin/my-app.ts');
    expect(readmeSection('Install')).toContain('a `cdk.json` whose app is `npx tsc && npx tsx bin/my-app.ts`');
    expect(readFileSync(join(appDirectory, 'bin', 'my-app.ts'), 'utf8')).toContain(`new MyAppStack(app, '${STACK}'`);
  });

  test('the README quick start, as lib/my-app-stack.ts, synthesizes through the generated cdk.json, with no error file left', async () => {
    expect(readmeInstallLines()).toContain('npx cdk synth --quiet');
    const synthesized = await run('npx', ['cdk', 'synth', '--quiet'], appDirectory);
    times.push(['npx cdk synth --quiet (tsc, then the app)', synthesized.seconds]);
    const output = join(appDirectory, 'cdk.out');
    const stack = template(output, STACK);
    expect(resourcesOfType(stack, 'AWS::IAM::SAMLProvider')).toHaveLength(1);
    expect(resourcesOfType(stack, 'AWS::KMS::Key')).toHaveLength(1);
    expect(resourcesOfType(stack, 'AWS::ApiGateway::RestApi')).toHaveLength(1);
    expect(resourcesOfType(stack, 'AWS::S3::Bucket')).toHaveLength(1);
    expect(resourcesOfType(stack, 'AWS::Lambda::Function').map((fn) => fn.Properties?.Runtime)).toContain('nodejs24.x');
    expect(Object.keys((stack as any).Outputs)).toEqual(expect.arrayContaining(['DelegationUrl', 'BucketName']));
    expect(assetHandlerHashes(output)).toEqual(expect.arrayContaining(bundledHandlers()));
    expect(existsSync(join(output, 'error.txt'))).toBe(false);
    // The Deploy section's commands name the same stack.
    expect(readmeSection('Deploy and try it')).toContain(`npx cdk deploy ${STACK} --outputs-file outputs.json`);
    expect(readmeSection('Deploy and try it')).not.toMatch(/\bMyStack\b|QuickStart/);
  }, TEST_TIMEOUT_MS);

  test('a type error in the stack fails cdk synth at tsc, before the app runs, naming the file', async () => {
    const file = join(appDirectory, 'lib', 'wrong-stack.ts');
    writeFileSync(file, [
      'import { Stack } from \'aws-cdk-lib\';',
      'import { JwtIssuer, TokenDelegation } from \'cdk-token-delegation\';',
      'export function wrong(stack: Stack) {',
      '  new TokenDelegation(stack, \'D\', { issuers: [JwtIssuer.oidc({ issuerUrl: \'https://tenant.eu.auth0.com/\', audiences: \'YOUR_CLIENT_ID\' })] });',
      '}',
      '',
    ].join('\n'));
    try {
      const failure = await run('npx', ['cdk', 'synth', '--quiet', '--output', 'cdk.out.wrong'], appDirectory).then(() => undefined, (error: unknown) => error);
      expect(failure).toBeInstanceOf(CommandFailed);
      // tsc colours its report even without a terminal.
      const report = `${(failure as CommandFailed).stdout}${(failure as CommandFailed).stderr}`.replace(/\u001b\[[0-9;]*m/g, '');
      expect(report).toMatch(/lib\/wrong-stack\.ts:4:\d+ - error TS2322: Type 'string' is not assignable to type 'string\[\]'/);
      expect(existsSync(join(appDirectory, 'cdk.out.wrong', `${STACK}.template.json`))).toBe(false);
    } finally {
      rmSync(file);
    }
  }, TEST_TIMEOUT_MS);
});

describe('npx cdk-token-delegation verify in that app, before the policy evaluator is installed', () => {
  test('says how to run it with the evaluator, and the line it prints, which the CI step of docs/verify.md runs, checks the stack', async () => {
    expect(existsSync(join(appDirectory, 'node_modules', '@cloud-copilot'))).toBe(false);
    const failure = await run('npx', ['cdk-token-delegation', 'verify', '--template', 'cdk.out'], appDirectory).then(() => undefined, (error: unknown) => error);
    expect(failure).toBeInstanceOf(CommandFailed);
    expect((failure as CommandFailed).code).toBe(2);
    const suggestion = /^ {2}(npx --yes -p @cloud-copilot\/iam-simulate cdk-token-delegation verify .*)$/m.exec((failure as CommandFailed).stderr)?.[1];
    expect(suggestion).toBe('npx --yes -p @cloud-copilot/iam-simulate cdk-token-delegation verify --template cdk.out');
    const [ciStep] = verifyDocBlocks('In CI', 'yaml');
    const ciLines = [...ciStep.matchAll(/^\s*- run: (.+)$/gm)].map((match) => match[1]);
    expect(ciLines).toEqual(['npx cdk synth --quiet', suggestion]);
    const pasted = await shell(suggestion!, appDirectory);
    times.push(['the printed npx -p iam-simulate verify line', pasted.seconds]);
    expect(pasted.stdout).toMatch(/^Per-user isolation holds: no user reaches another user's data in [\d,]+ decisions \(315 actions of s3, dynamodb, kms; 1 role; 5 users; /);
    expect(existsSync(join(appDirectory, 'node_modules', '@cloud-copilot'))).toBe(false);
  }, TEST_TIMEOUT_MS);
});

describe('npx cdk-token-delegation local in that app', () => {
  test('with nothing else installed, serves the stack, and the README\'s exchange lines get credentials for a dev user', async () => {
    const [serveLine] = readmeInstallLines().filter((line) => line.startsWith('npx cdk-token-delegation local'));
    expect(serveLine).toBe('npx cdk-token-delegation local --template cdk.out');
    expect(existsSync(join(appDirectory, 'node_modules', '@cloud-copilot'))).toBe(false);
    const started = performance.now();
    running = startInApp(`${serveLine} --port 0`);
    const { output } = await outputUntil(running, (text) => text.includes('Press Ctrl+C to stop.'));
    times.push(['npx cdk-token-delegation local --template cdk.out (until ready)', (performance.now() - started) / 1000]);
    process.stdout.write(`The first-hour app's command printed:\n${output}`);
    expect(output).toMatch(new RegExp(`^Template: +cdk\\.out/${STACK}\\.template\\.json +\\(stack ${STACK}, `, 'm'));
    expect(output).toMatch(/^alice +signed in -> HTTP 200, role DelegationUserRole\w+, saml:sub = alice$/m);
    expect(output).toContain('No permission table: it evaluates your policies with @cloud-copilot/iam-simulate');

    const origin = /^Delegation endpoint: (http:\/\/127\.0\.0\.1:\d+)\/delegation/m.exec(output)![1];
    const exchanged = await shell(readmeExchange(origin), appDirectory);
    times.push(['first credential (the README\'s two exchange lines)', exchanged.seconds]);
    expect(exchanged.stderr).toBe('');
    const [answer] = credentialsIn(exchanged.stdout);
    expect(answer.Subject).toBe('alice');
    expect(answer.Credentials.AccessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(answer.AssumedRoleUser.Arn).toMatch(/^arn:aws:sts::123456789012:assumed-role\/DelegationUserRole\w+\/alice$/);
  }, TEST_TIMEOUT_MS);

  test('the line it prints for the permission table works when pasted: the table, with alice\'s prefix hers alone', async () => {
    const first = startInApp('npx cdk-token-delegation local --template cdk.out --port 0');
    const { output } = await outputUntil(first, (text) => text.includes('Press Ctrl+C to stop.'));
    await stop(first);
    const suggestion = /^ {2}(npx --yes -p @cloud-copilot\/iam-simulate cdk-token-delegation local .*)$/m.exec(output)?.[1];
    expect(suggestion).toBe('npx --yes -p @cloud-copilot/iam-simulate cdk-token-delegation local --template cdk.out --port 0');
    const started = performance.now();
    running = startInApp(suggestion!);
    const pasted = await outputUntil(running, (text) => text.includes('Press Ctrl+C to stop.'));
    times.push(['the printed npx -p iam-simulate line (until ready)', (performance.now() - started) / 1000]);
    expect(pasted.output).toContain('What each signed-in user may do under the template\'s policies (evaluated with iam-simulate):');
    expect(pasted.output).toMatch(/^PutObject {4}users\/alice\/notes\.txt +allowed +denied$/m);
    expect(pasted.output).toMatch(/^GetObject {4}users\/bob\/notes\.txt +denied +allowed$/m);
    expect(pasted.output).toMatch(/^Loopback S3: +http:\/\/127\.0\.0\.1:\d+ +\(path-style; bucket delegationbucket\w+;/m);
    // Nothing was added to the app.
    expect(existsSync(join(appDirectory, 'node_modules', '@cloud-copilot'))).toBe(false);
  }, TEST_TIMEOUT_MS);

  test('the other way it names, iam-simulate added to the app, gives the table too', async () => {
    const added = await run('npm', ['install', '--save-dev', '--loglevel=error', '@cloud-copilot/iam-simulate'], appDirectory);
    times.push(['npm install --save-dev @cloud-copilot/iam-simulate', added.seconds]);
    const once = await run('npx', ['cdk-token-delegation', 'local', '--template', 'cdk.out', '--port', '0', '--once'], appDirectory);
    expect(once.stdout).toMatch(/^PutObject {4}users\/alice\/notes\.txt +allowed +denied$/m);
    expect(once.stdout).not.toContain('No permission table');
  }, TEST_TIMEOUT_MS);
});

describe('the isolation check in the app\'s own jest test and CI, with iam-simulate in the app', () => {
  const mistake = `import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { JwtIssuer, TokenDelegation } from '${PACKAGE_NAME}';
import { verifyIsolation, type IsolationReport } from '${PACKAGE_NAME}/verify';

test('bucket.grantRead(role) gives every user everyone\\'s objects, and the report names the statement', async () => {
  const stack = new Stack(new App(), 'Mistake');
  const delegation = new TokenDelegation(stack, 'Delegation', {
    issuers: [JwtIssuer.oidc({ issuerUrl: 'https://tenant.eu.auth0.com/', audiences: ['YOUR_CLIENT_ID'] })],
  });
  delegation.bucket.grantRead(delegation.role);
  const report: IsolationReport = await verifyIsolation(Template.fromStack(stack).toJSON());
  expect(report.holds).toBe(false);
  expect(report.breaches[0].allowedBy[0].policy).toMatch(/^DelegationUserRoleDefaultPolicy/);
  expect(report.breaches[0].fix).toContain('grantUserPrefix');
}, 60_000);
`;

  test('the jest test of docs/verify.md, and one with a mistake, type-check with the app\'s tsc and pass with its jest', async () => {
    expect(existsSync(join(appDirectory, 'node_modules', '@cloud-copilot', 'iam-simulate'))).toBe(true);
    const [documented] = verifyDocBlocks('In a jest test', 'ts');
    expect(documented).toContain('from \'cdk-token-delegation/verify\'');
    const files = [join(appDirectory, 'test', 'isolation.test.ts'), join(appDirectory, 'test', 'isolation-mistake.test.ts')];
    writeFileSync(files[0], documented);
    writeFileSync(files[1], mistake);
    try {
      // The app's tsconfig (NodeNext) resolves cdk-token-delegation/verify through the package's exports, with its declarations.
      const typed = await run('npx', ['tsc'], appDirectory);
      expect(typed.stdout).toBe('');
      const tested = await run('npx', ['jest', '--ci', 'test/isolation'], appDirectory);
      times.push(['the app\'s jest: the isolation tests', tested.seconds]);
      expect(tested.stderr).toMatch(/Tests: +2 passed, 2 total/);
    } finally {
      for (const file of files) rmSync(file);
    }
  }, TEST_TIMEOUT_MS);

  test('npx cdk-token-delegation verify --template cdk.out, as CI runs it with the evaluator in the app: exit 0 and its summary', async () => {
    const verified = await run('npx', ['cdk-token-delegation', 'verify', '--template', 'cdk.out'], appDirectory);
    times.push(['npx cdk-token-delegation verify --template cdk.out', verified.seconds]);
    process.stdout.write(`The first-hour app's isolation check printed:\n${verified.stdout}`);
    expect(verified.stdout).toMatch(/^Per-user isolation holds: .*\.\n$/);
  }, TEST_TIMEOUT_MS);

  test('bucket.grantRead(role): cdk synth warns with the id to acknowledge, and verify exits 1 naming the statement', async () => {
    const source = `const { App, Stack } = require('aws-cdk-lib');
const { JwtIssuer, TokenDelegation } = require('${PACKAGE_NAME}');

const app = new App();
const delegation = new TokenDelegation(new Stack(app, 'Mistake'), 'Delegation', {
  issuers: [JwtIssuer.oidc({ issuerUrl: 'https://tenant.eu.auth0.com/', audiences: ['YOUR_CLIENT_ID'] })],
});
delegation.bucket.grantRead(delegation.role);
app.synth();
`;
    writeFileSync(join(appDirectory, 'mistake.js'), source);
    const output = join(appDirectory, 'cdk.out.mistake');
    const synthesized = await run('npx', ['cdk', 'synth', '--app', 'node mistake.js', '--output', output, '--quiet'], appDirectory);
    // As the CDK CLI in the lock prints a warning: the message, the construct, and the id to acknowledge.
    expect(synthesized.stderr).toMatch(/^WARNING Mistake\/Delegation\/UserRole gives every signed-in user alike s3:.*\* on the bucket Mistake\/Delegation\/Bucket .*acknowledgeWarning\('cdk-token-delegation:grantReachesEveryUser', '<why>'\)/m);
    expect(synthesized.stderr).toMatch(/^ +Mistake\/Delegation\/UserRole\/DefaultPolicy aws-cdk-lib\.aws_iam\.Policy$/m);
    const failure = await run('npx', ['cdk-token-delegation', 'verify', '--template', output], appDirectory).then(() => undefined, (error: unknown) => error);
    expect(failure).toBeInstanceOf(CommandFailed);
    expect((failure as CommandFailed).code).toBe(1);
    // The app's aws-cdk-lib (the newest, as cdk init installs it) writes the grant's actions in its own order.
    expect((failure as CommandFailed).stdout).toMatch(/^Allowed to Mistake\/DelegationUserRole\w+ by DelegationUserRoleDefaultPolicy\w+, statement \d+ \(no Sid\): Allow s3:Get\S+\*, /m);
    expect((failure as CommandFailed).stdout).toMatch(/^ {2}fix: Give per-user access with role\.grantUserPrefix\(bucket, \{ prefix \}\)/m);
  }, TEST_TIMEOUT_MS);
});

describe('other shapes of app, in the same new app', () => {
  /** The identity provider in one stack; the roles, bucket and endpoint in another, which uses it. */
  const twoStacks = `import { App, CfnOutput, Stack, StackProps } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import {
  DelegationEndpoint, DelegationIdentityProvider, DelegationIdentityProviderAttributes, DelegationRole, JwtIssuer, UserPrefixAccess,
} from '${PACKAGE_NAME}';

const HANDLER_ROLE_NAME = 'delegation-handler';

class IdentityProviderStack extends Stack {
  public readonly attributes: DelegationIdentityProviderAttributes;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const identityProvider = new DelegationIdentityProvider(this, 'IdentityProvider');
    // The endpoint lives elsewhere: its handler role, by its fixed name, may sign.
    identityProvider.allowSigningBy(this.formatArn({ service: 'iam', region: '', resource: 'role', resourceName: HANDLER_ROLE_NAME }));
    this.attributes = {
      samlProviderArn: identityProvider.samlProvider.samlProviderArn,
      entityId: identityProvider.entityId,
      signingKeyArn: identityProvider.signingKey.keyArn,
      signingCertificate: identityProvider.signingCertificate,
    };
  }
}

interface EndpointStackProps extends StackProps {
  readonly identityProvider: DelegationIdentityProviderAttributes;
}

class EndpointStack extends Stack {
  constructor(scope: Construct, id: string, props: EndpointStackProps) {
    super(scope, id, props);
    const identityProvider = DelegationIdentityProvider.fromDelegationIdentityProviderAttributes(this, 'IdentityProvider', props.identityProvider);
    const bucket = new s3.Bucket(this, 'Bucket');
    const users = new DelegationRole(this, 'Users', { identityProvider });
    users.grantUserPrefix(bucket, { prefix: 'users/', access: UserPrefixAccess.READ_WRITE });
    const endpoint = new DelegationEndpoint(this, 'Endpoint', {
      identityProvider,
      issuers: [JwtIssuer.oidc({ issuerUrl: 'https://tenant.eu.auth0.com/', audiences: ['YOUR_CLIENT_ID'] })],
      defaultRole: users,
      allowedOrigins: ['https://app.example.com'],
      handlerRoleName: HANDLER_ROLE_NAME,
    });
    new CfnOutput(this, 'DelegationUrl', { value: endpoint.url });
  }
}

const app = new App();
const provider = new IdentityProviderStack(app, 'IdentityProvider');
new EndpointStack(app, 'Endpoint', { identityProvider: provider.attributes });
app.synth();
`;

  /** A plain JavaScript app with a mistake the library refuses at synth. */
  const originWithAPath = `const { App, Stack } = require('aws-cdk-lib');
const { JwtIssuer, TokenDelegation } = require('${PACKAGE_NAME}');

const app = new App();
new TokenDelegation(new Stack(app, 'Refused'), 'Delegation', {
  issuers: [JwtIssuer.oidc({ issuerUrl: 'https://tenant.eu.auth0.com/', audiences: ['YOUR_CLIENT_ID'] })],
  allowedOrigins: ['https://app.example.com/login'],
});
app.synth();
`;

  async function synth(file: string, source: string, app: string): Promise<string> {
    writeFileSync(join(appDirectory, file), source);
    const output = join(appDirectory, `cdk.out.${file}`);
    const result = await run('npx', ['cdk', 'synth', '--app', app, '--output', output, '--quiet'], appDirectory);
    times.push([`synth ${file}`, result.seconds]);
    return output;
  }

  test('the identity provider in one stack and the endpoint in another, imported by attributes, synthesize', async () => {
    const output = await synth('two-stacks.ts', twoStacks, 'npx tsx two-stacks.ts');
    const provider = template(output, 'IdentityProvider');
    const endpoint = template(output, 'Endpoint');
    expect(resourcesOfType(provider, 'AWS::IAM::SAMLProvider')).toHaveLength(1);
    expect(resourcesOfType(provider, 'AWS::KMS::Key')).toHaveLength(1);
    expect(resourcesOfType(endpoint, 'AWS::IAM::SAMLProvider')).toHaveLength(0);
    expect(resourcesOfType(endpoint, 'AWS::KMS::Key')).toHaveLength(0);
    expect(resourcesOfType(endpoint, 'AWS::ApiGateway::RestApi')).toHaveLength(1);
    const manifest = JSON.parse(readFileSync(join(output, 'manifest.json'), 'utf8'));
    expect(manifest.artifacts.Endpoint.dependencies).toContain('IdentityProvider');
    // A reference to the other stack: an export, or with the cross-stack flag cdk init now sets, its output.
    expect(JSON.stringify(endpoint.Resources)).toMatch(/Fn::ImportValue|Fn::GetStackOutput/);
    // The key policy names the endpoint's handler role by its fixed name, which the endpoint's stack gives it.
    expect(JSON.stringify(provider.Resources)).toContain(':role/delegation-handler');
    expect(resourcesOfType(endpoint, 'AWS::IAM::Role').map((role) => role.Properties?.RoleName)).toContain('delegation-handler');
    expect(assetHandlerHashes(output)).toEqual(expect.arrayContaining(bundledHandlers()));
  }, TEST_TIMEOUT_MS);

  test('a mistake in the app fails cdk synth with the library\'s own message', async () => {
    const failure = await synth('refused.js', originWithAPath, 'node refused.js').then(() => undefined, (error: unknown) => error);
    expect(failure).toBeInstanceOf(CommandFailed);
    expect((failure as CommandFailed).stderr).toContain("allowedOrigins: 'https://app.example.com/login' must be an exact origin");
  }, TEST_TIMEOUT_MS);
});
