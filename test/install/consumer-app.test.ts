import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';

/**
 * The install path the README documents until the first release, as a new user takes it: pack the npm
 * package (`npx projen package:tarball`), install it into a brand-new CDK app beside aws-cdk-lib and
 * constructs, paste the README's quick start, and `cdk synth`. Each app shape is one function that
 * returns the app's source, so a shape can change without touching the rest.
 *
 * Run by `npx projen test:install` (not by the main jest run: packing re-bundles the handlers that
 * other test files load). aws-cdk-lib and constructs are installed at this repository's versions with
 * `--prefer-offline`, so after `npm ci` they come from npm's cache; the CDK CLI, ts-node and
 * TypeScript are this repository's.
 */

const ROOT = join(__dirname, '..', '..');
const BIN = join(ROOT, 'node_modules', '.bin');
const PACKAGE_NAME = 'cdk-token-delegation';
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

/** Runs a command with the Node.js that runs jest first on PATH; rejects with its output on failure. */
function run(command: string, args: readonly string[], cwd: string): Promise<Run> {
  const started = performance.now();
  const env = {
    ...process.env,
    PATH: [dirname(process.execPath), BIN, process.env.PATH ?? ''].join(delimiter),
    CDK_DISABLE_VERSION_CHECK: 'true',
    CDK_CLI_NOTICES: 'false',
  };
  return new Promise((resolve, reject) => {
    execFile(command, [...args], { cwd, env, timeout: STEP_TIMEOUT_MS, maxBuffer: 64 * 2 ** 20 }, (error, stdout, stderr) => {
      if (error) {
        reject(new CommandFailed([command, ...args].join(' '), error.code ?? error.signal ?? null, stdout, stderr));
      } else {
        resolve({ stdout, stderr, seconds: (performance.now() - started) / 1000 });
      }
    });
  });
}

function versionIn(directory: string, name: string): string {
  return JSON.parse(readFileSync(join(directory, 'node_modules', name, 'package.json'), 'utf8')).version;
}

/** The first TypeScript block of the README's quick start, split into its imports and its body. */
function readmeQuickStart(readme: string): { imports: string; body: string } {
  const section = readme.split(/^## Quick start$/m)[1]?.split(/^## /m)[0];
  const block = section === undefined ? undefined : /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  if (block === undefined) {
    throw new Error('README.md has no ```ts block under "## Quick start"');
  }
  const imports: string[] = [];
  const body: string[] = [];
  let inImport = false;
  for (const line of block.trimEnd().split('\n')) {
    if (inImport || line.startsWith('import ')) {
      imports.push(line);
      inImport = !line.trimEnd().endsWith(';');
    } else {
      body.push(line);
    }
  }
  return { imports: imports.join('\n'), body: body.join('\n').trim() };
}

/** One stack holding everything, its constructor being the README quick start verbatim. */
function quickStartInOneStack(readme: string): string {
  const { imports, body } = readmeQuickStart(readme);
  return `import { App, CfnOutput, Duration, Stack } from 'aws-cdk-lib';
import { Construct } from 'constructs';
${imports}

class QuickStartStack extends Stack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
${body.split('\n').map((line) => `    ${line}`.trimEnd()).join('\n')}
  }
}

const app = new App();
new QuickStartStack(app, 'QuickStart');
app.synth();
`;
}

/** The identity provider in one stack; the roles, bucket and endpoint in another, which uses it. */
function identityProviderAndEndpointInTwoStacks(): string {
  return `import { App, CfnOutput, Stack, StackProps } from 'aws-cdk-lib';
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
      defaultRole: users.role,
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
}

/** A plain JavaScript app with a mistake the library refuses at synth. */
function appWithAnOriginThatHasAPath(): string {
  return `const { App, Stack } = require('aws-cdk-lib');
const { JwtIssuer, TokenDelegation } = require('${PACKAGE_NAME}');

const app = new App();
new TokenDelegation(new Stack(app, 'Refused'), 'Delegation', {
  issuers: [JwtIssuer.oidc({ issuerUrl: 'https://tenant.eu.auth0.com/', audiences: ['YOUR_CLIENT_ID'] })],
  allowedOrigins: ['https://app.example.com/login'],
});
app.synth();
`;
}

/** The app's tsconfig.json, as the README's install section writes it. */
function readmeAppTsconfig(readme: string): string {
  const match = /^echo '(\{.*\})' > tsconfig\.json$/m.exec(readme);
  if (match === null) {
    throw new Error("README.md has no `echo '{...}' > tsconfig.json` line");
  }
  JSON.parse(match[1]);
  return match[1];
}

interface Template {
  readonly Resources: Record<string, { readonly Type: string; readonly Properties?: Record<string, any> }>;
}

let appDirectory: string;
let tarball: string;
const times: Record<string, number> = {};

/** Writes `source` as the app and synthesizes it into its own output directory with the CDK CLI. */
async function synth(file: string, source: string, app: string): Promise<string> {
  writeFileSync(join(appDirectory, file), source);
  const output = join(appDirectory, `cdk.out.${file}`);
  const result = await run(join(BIN, 'cdk'), ['synth', '--app', app, '--output', output, '--quiet', '--no-notices'], appDirectory);
  times[`synth ${file}`] = result.seconds;
  return output;
}

function template(output: string, stack: string): Template {
  return JSON.parse(readFileSync(join(output, `${stack}.template.json`), 'utf8'));
}

function resourcesOfType(stackTemplate: Template, type: string): Array<{ readonly Properties?: Record<string, any> }> {
  return Object.values(stackTemplate.Resources).filter((resource) => resource.Type === type);
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** The hashes of every `index.js` among the assembly's assets: the bundled handlers, as deployed. */
function assetHandlerHashes(output: string): string[] {
  return readdirSync(output)
    .filter((entry) => entry.startsWith('asset.') && existsSync(join(output, entry, 'index.js')))
    .map((entry) => sha256(join(output, entry, 'index.js')));
}

const bundledHandlers = () => ['delegation', 'certificate'].map((name) => sha256(join(ROOT, 'assets', 'lambda', name, 'index.js')));

beforeAll(async () => {
  const packed = await run(join(BIN, 'projen'), ['package:tarball'], ROOT);
  times['package:tarball'] = packed.seconds;
  const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
  tarball = join(ROOT, 'dist', 'js', `${PACKAGE_NAME}@${version}.jsii.tgz`);
  expect(existsSync(tarball)).toBe(true);

  appDirectory = mkdtempSync(join(tmpdir(), 'cdk-token-delegation-app-'));
  writeFileSync(join(appDirectory, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }, null, 2));
  writeFileSync(join(appDirectory, 'tsconfig.json'), readmeAppTsconfig(readFileSync(join(ROOT, 'README.md'), 'utf8')));
  const installed = await run('npm', [
    'install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error',
    `aws-cdk-lib@${versionIn(ROOT, 'aws-cdk-lib')}`, `constructs@${versionIn(ROOT, 'constructs')}`, tarball,
  ], appDirectory);
  times['npm install'] = installed.seconds;
}, TEST_TIMEOUT_MS);

afterAll(() => {
  process.stderr.write(`install: ${Object.entries(times).map(([step, seconds]) => `${step} ${seconds.toFixed(1)} s`).join(', ')}\n`);
  if (appDirectory) {
    rmSync(appDirectory, { recursive: true, force: true });
  }
});

test('the packed package holds the compiled constructs and both bundled handlers, and none of the repository\'s sources', () => {
  const installed = join(appDirectory, 'node_modules', PACKAGE_NAME);
  expect(existsSync(join(installed, 'lib', 'index.js'))).toBe(true);
  expect(existsSync(join(installed, 'lib', 'index.d.ts'))).toBe(true);
  expect(existsSync(join(installed, '.jsii'))).toBe(true);
  expect(['delegation', 'certificate'].map((name) => sha256(join(installed, 'assets', 'lambda', name, 'index.js')))).toEqual(bundledHandlers());
  for (const absent of ['src', 'lambda', 'local', 'test', 'scripts', 'examples', 'rosetta', '.tools']) {
    expect({ absent, present: existsSync(join(installed, absent)) }).toEqual({ absent, present: false });
  }
});

test('the README quick start, pasted into a new app\'s stack, synthesizes with the installed package', async () => {
  const output = await synth('quick-start.ts', quickStartInOneStack(readFileSync(join(ROOT, 'README.md'), 'utf8')), 'ts-node quick-start.ts');
  const stack = template(output, 'QuickStart');
  expect(resourcesOfType(stack, 'AWS::IAM::SAMLProvider')).toHaveLength(1);
  expect(resourcesOfType(stack, 'AWS::KMS::Key')).toHaveLength(1);
  expect(resourcesOfType(stack, 'AWS::ApiGateway::RestApi')).toHaveLength(1);
  expect(resourcesOfType(stack, 'AWS::S3::Bucket')).toHaveLength(1);
  expect(resourcesOfType(stack, 'AWS::Lambda::Function').map((fn) => fn.Properties?.Runtime)).toContain('nodejs24.x');
  expect(assetHandlerHashes(output)).toEqual(expect.arrayContaining(bundledHandlers()));
}, TEST_TIMEOUT_MS);

test('the identity provider in one stack and the endpoint in another, imported by attributes, synthesize', async () => {
  const output = await synth('two-stacks.ts', identityProviderAndEndpointInTwoStacks(), 'ts-node two-stacks.ts');
  const provider = template(output, 'IdentityProvider');
  const endpoint = template(output, 'Endpoint');
  expect(resourcesOfType(provider, 'AWS::IAM::SAMLProvider')).toHaveLength(1);
  expect(resourcesOfType(provider, 'AWS::KMS::Key')).toHaveLength(1);
  expect(resourcesOfType(endpoint, 'AWS::IAM::SAMLProvider')).toHaveLength(0);
  expect(resourcesOfType(endpoint, 'AWS::KMS::Key')).toHaveLength(0);
  expect(resourcesOfType(endpoint, 'AWS::ApiGateway::RestApi')).toHaveLength(1);
  const manifest = JSON.parse(readFileSync(join(output, 'manifest.json'), 'utf8'));
  expect(manifest.artifacts.Endpoint.dependencies).toContain('IdentityProvider');
  expect(JSON.stringify(endpoint.Resources)).toContain('Fn::ImportValue');
  // The key policy names the endpoint's handler role by its fixed name, which the endpoint's stack gives it.
  expect(JSON.stringify(provider.Resources)).toContain(':role/delegation-handler');
  expect(resourcesOfType(endpoint, 'AWS::IAM::Role').map((role) => role.Properties?.RoleName)).toContain('delegation-handler');
  expect(assetHandlerHashes(output)).toEqual(expect.arrayContaining(bundledHandlers()));
}, TEST_TIMEOUT_MS);

test('a mistake in the app fails cdk synth with the library\'s own message', async () => {
  const failure = await synth('refused.js', appWithAnOriginThatHasAPath(), 'node refused.js').then(() => undefined, (error: unknown) => error);
  expect(failure).toBeInstanceOf(CommandFailed);
  expect((failure as CommandFailed).stderr).toContain("allowedOrigins: 'https://app.example.com/login' must be an exact origin");
}, TEST_TIMEOUT_MS);
