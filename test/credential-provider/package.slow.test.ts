import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { exampleTemplateFile } from '../support/example-template-file';

/**
 * The credential provider as an app gets it: `npm pack` in packages/credential-provider (its prepack
 * builds it), the tarball installed into a brand-new app (offline: the package has no dependencies), and
 * the app's CommonJS and ESM scripts using it with the AWS SDK's S3 client against the local command
 * (`node assets/cli/index.js local --template …`, as the npm package runs it). tsc checks the installed
 * declarations under node16 resolution, for `import` and `require`: alone, with no DOM or Node.js types,
 * and as the S3 client's `credentials`.
 */

const REPO = join(__dirname, '..', '..');
const PACKAGE_DIRECTORY = join(REPO, 'packages', 'credential-provider');
const PACKAGE_NAME = 'cdk-token-delegation-credentials';
const NPM_QUIET = ['--offline', '--no-audit', '--no-fund', '--loglevel=error'];
/** Each step takes seconds; only a hang reaches this. */
const STEP_TIMEOUT_MS = 300_000;

let work: string;
let app: string;
let tarball: string;
let command: ChildProcess | undefined;
let banner = '';

function run(file: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(file, [...args], { cwd, env, timeout: STEP_TIMEOUT_MS, maxBuffer: 16 * 2 ** 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} ${args.join(' ')} failed (${error.code ?? error.signal}):\n${stdout.slice(-3000)}\n${stderr.slice(-3000)}`));
      else resolve({ stdout, stderr });
    });
  });
}

/** The app's script: the README's use of the provider, with the S3 client, and what happened as JSON. */
function appScript(imports: string): string {
  return `${imports}
const [endpoint, origin, s3Endpoint, bucket, user, other] = process.argv.slice(2);

async function main() {
  let exchanges = 0;
  const countingFetch = (url, request) => {
    exchanges++;
    return fetch(url, request);
  };
  const idToken = async () => (await (await fetch(origin + '/dev/token?sub=' + user)).json()).id_token;
  const credentials = fromTokenDelegation({ endpoint, idToken, fetch: countingFetch });
  const s3 = new S3Client({ region: 'us-east-1', endpoint: s3Endpoint, forcePathStyle: true, credentials });
  const [first, second] = await Promise.all([
    credentials(),
    credentials(),
    s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'users/' + user + '/app.txt', Body: 'from the app' })),
  ]);
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'users/' + user + '/' }));
  const denied = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'users/' + other + '/app.txt', Body: 'x' }))
    .then(() => 'allowed', (error) => error.name);
  const forged = await fromTokenDelegation({ endpoint, idToken: async () => (await idToken()).slice(0, -6) + 'AAAAAA' })()
    .then(() => 'resolved', (error) => ({
      isTokenDelegationError: error instanceof TokenDelegationError,
      name: error.name, status: error.status, code: error.code, retryable: error.retryable,
    }));
  s3.destroy();
  console.log(JSON.stringify({
    exchanges,
    shared: first === second,
    subject: first.subject,
    expirationIsDate: first.expiration instanceof Date && first.expiration.getTime() > Date.now(),
    keys: (listed.Contents || []).map((object) => object.Key),
    denied,
    forged,
  }));
}

main().catch((error) => {
  console.error(error.name + ': ' + error.message);
  process.exit(1);
});
`;
}

/** A TypeScript file using the package's declarations; `withSdk` adds the S3 client. */
function typesSource(withSdk: boolean): string {
  return [
    `import { fromTokenDelegation, TokenDelegationError, type TokenDelegationCredentialProvider, type TokenDelegationOptions } from '${PACKAGE_NAME}';`,
    ...(withSdk ? ['import { S3Client, type S3ClientConfig } from \'@aws-sdk/client-s3\';'] : []),
    'const options: TokenDelegationOptions = { endpoint: \'https://example.com/v1/delegation\', idToken: async () => \'token\', refreshBeforeExpirySeconds: 600, headers: () => ({ \'x-api-key\': \'k\' }) };',
    'const provider: TokenDelegationCredentialProvider = fromTokenDelegation(options);',
    'export const expires: Promise<Date> = provider({ forceRefresh: true }).then((credentials) => credentials.expiration);',
    'export function describe(error: unknown): string | undefined {',
    '  return error instanceof TokenDelegationError ? `${error.status} ${error.code} ${error.retryable} ${error.retryAfterSeconds ?? \'\'} ${error.description}` : undefined;',
    '}',
    ...(withSdk ? [
      // The global fetch is a DelegationFetch; the provider is a client's credentials.
      'const credentials: S3ClientConfig[\'credentials\'] = fromTokenDelegation({ ...options, fetch });',
      'export const s3 = new S3Client({ region: \'eu-west-1\', credentials });',
    ] : []),
    '',
  ].join('\n');
}

/** Starts the local command on the example app's template and waits for its banner. */
async function startCommand(): Promise<void> {
  const template = exampleTemplateFile();
  command = spawn(process.execPath, [join(REPO, 'assets', 'cli', 'index.js'), 'local', '--template', template, '--port', '0'], {
    cwd: dirname(template),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    command!.stdout!.on('data', (chunk: Buffer) => {
      banner += chunk.toString('utf8');
      if (banner.includes('Press Ctrl+C to stop.')) resolve();
    });
    command!.stderr!.on('data', (chunk: Buffer) => {
      banner += chunk.toString('utf8');
    });
    command!.on('exit', (code) => reject(new Error(`the local command exited with ${code}:\n${banner}`)));
  });
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'credential-provider-package-'));
  await Promise.all([
    run('npm', ['pack', '--pack-destination', work, ...NPM_QUIET], PACKAGE_DIRECTORY),
    startCommand(),
  ]);
  tarball = join(work, readdirSync(work).find((name) => name.endsWith('.tgz'))!);
  app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'fresh-app', private: true }));
  await run('npm', ['install', ...NPM_QUIET, tarball], app);
  // The app's own AWS SDK client (this repository's, linked in: an app installs it from the registry).
  mkdirSync(join(app, 'node_modules', '@aws-sdk'), { recursive: true });
  symlinkSync(join(REPO, 'node_modules', '@aws-sdk', 'client-s3'), join(app, 'node_modules', '@aws-sdk', 'client-s3'), 'dir');
}, STEP_TIMEOUT_MS);

afterAll(async () => {
  if (command && command.exitCode === null) {
    const exited = new Promise((resolve) => command!.once('exit', resolve));
    command.kill('SIGTERM');
    await exited;
  }
  if (work) rmSync(work, { recursive: true, force: true });
});

test('the tarball holds the two builds, their declarations, the README and the license, and no dependency', async () => {
  const { stdout } = await run('tar', ['-tzf', tarball], work);
  expect(stdout.trim().split('\n').sort()).toEqual([
    'package/LICENSE', 'package/README.md', 'package/dist/index.cjs', 'package/dist/index.d.cts', 'package/dist/index.d.mts',
    'package/dist/index.mjs', 'package/package.json',
  ]);
  const manifest = JSON.parse(readFileSync(join(app, 'node_modules', PACKAGE_NAME, 'package.json'), 'utf8'));
  expect(manifest.name).toBe(PACKAGE_NAME);
  expect(manifest.dependencies ?? {}).toEqual({});
  expect(manifest.peerDependencies ?? {}).toEqual({});
  const declarations = readFileSync(join(app, 'node_modules', PACKAGE_NAME, 'dist', 'index.d.mts'), 'utf8');
  expect(declarations).not.toMatch(/^import /m);
  expect(declarations).not.toContain('createTokenDelegationProvider');
});

test.each([
  ['CommonJS', 'app.cjs', 'const { fromTokenDelegation, TokenDelegationError } = require(\'cdk-token-delegation-credentials\');\nconst { ListObjectsV2Command, PutObjectCommand, S3Client } = require(\'@aws-sdk/client-s3\');'],
  ['ESM', 'app.mjs', 'import { fromTokenDelegation, TokenDelegationError } from \'cdk-token-delegation-credentials\';\nimport { ListObjectsV2Command, PutObjectCommand, S3Client } from \'@aws-sdk/client-s3\';'],
])('from %s: one exchange for concurrent first calls, her prefix only, and a forged token refused', async (_format, file, imports) => {
  writeFileSync(join(app, file), appScript(imports));
  const endpoint = /Delegation endpoint: (http:\/\/127\.0\.0\.1:\d+\/delegation)/.exec(banner)![1];
  const s3Endpoint = /Loopback S3: +(http:\/\/127\.0\.0\.1:\d+)/.exec(banner)![1];
  const bucketName = /bucket (\S+);/.exec(banner)![1];
  const user = file === 'app.cjs' ? 'alice' : 'bob';
  const other = user === 'alice' ? 'bob' : 'alice';
  const env = { PATH: process.env.PATH, HOME: work, AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent', AWS_EC2_METADATA_DISABLED: 'true' };
  const { stdout } = await run(process.execPath, [file, endpoint, new URL(endpoint).origin, s3Endpoint, bucketName, user, other], app, env);
  expect(JSON.parse(stdout)).toEqual({
    exchanges: 1,
    shared: true,
    subject: user,
    expirationIsDate: true,
    keys: [`users/${user}/app.txt`],
    denied: 'AccessDenied',
    forged: { isTokenDelegationError: true, name: 'TokenDelegationError', status: 401, code: 'invalid_token', retryable: false },
  });
}, STEP_TIMEOUT_MS);

test('tsc accepts the declarations for import and require: alone (no DOM, no Node.js types) and as the S3 client\'s credentials', async () => {
  const compilerOptions = { module: 'node16', moduleResolution: 'node16', target: 'es2022', strict: true, noEmit: true, types: [] };
  writeFileSync(join(app, 'bare.mts'), typesSource(false));
  writeFileSync(join(app, 'bare.cts'), typesSource(false));
  writeFileSync(join(app, 'tsconfig.bare.json'), JSON.stringify({ compilerOptions: { ...compilerOptions, lib: ['es2022'], skipLibCheck: false }, files: ['bare.mts', 'bare.cts'] }));
  writeFileSync(join(app, 'sdk.mts'), typesSource(true));
  writeFileSync(join(app, 'sdk.cts'), typesSource(true));
  writeFileSync(join(app, 'tsconfig.sdk.json'), JSON.stringify({ compilerOptions: { ...compilerOptions, lib: ['es2022', 'dom'], skipLibCheck: true }, files: ['sdk.mts', 'sdk.cts'] }));
  const tsc = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
  for (const project of ['tsconfig.bare.json', 'tsconfig.sdk.json']) {
    const { stdout } = await run(process.execPath, [tsc, '-p', project], app);
    expect(stdout).toBe('');
  }
  // And a wrong use is an error: the credentials have no `accessKey`.
  writeFileSync(join(app, 'wrong.mts'), `${typesSource(false)}export const wrong: Promise<string> = provider().then((credentials) => credentials.accessKey);\n`);
  writeFileSync(join(app, 'tsconfig.wrong.json'), JSON.stringify({ compilerOptions: { ...compilerOptions, lib: ['es2022'] }, files: ['wrong.mts'] }));
  await expect(run(process.execPath, [tsc, '-p', 'tsconfig.wrong.json'], app)).rejects.toThrow(/Property 'accessKey' does not exist/);
}, STEP_TIMEOUT_MS);
