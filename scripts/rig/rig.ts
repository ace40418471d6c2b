import { fork, type ChildProcess } from 'node:child_process';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import type { HandlerReply, HandlerRequest, HttpSample, KmsProcessConfig, LoadClientOptions, LoadClientResult, StsProcessConfig, StsReply } from './messages';
import { buildSelfSignedCertificate } from '../../lambda/certificate/certificate';
import { PemSigner } from '../../lambda/shared/pem-signer';
import { startOidcIssuer, type LocalOidcIssuer } from '../../local/oidc-issuer';
import { SECRET_REGISTRY_ENV } from '../../local/secret-registry';
import {
  ADMIN_ROLE_ARN,
  APP_ORIGIN,
  BUNDLE_PATH,
  CLIENT_ID,
  ENTITY_ID,
  KMS_KEY_ARN,
  PROVIDER_ARN,
  RECIPIENT,
  ROLE_ARN,
  awsTestEnvironment,
  delegationEnvironment,
} from '../../test/support/handler-harness';
import { logDirectory } from '../../test/support/secret-scan';

/**
 * The load and benchmark rig, all on 127.0.0.1: a local OIDC issuer in this process, and in child
 * processes of their own the loopback STS, optionally the loopback KMS, the bundled delegation handler
 * behind the HTTP adapter (in-memory RSA-2048 signer, or the KMS signer as deployed), and the load
 * generator. The children are TypeScript entry points bundled here with esbuild (packages stay in
 * node_modules), so they start as plain node.
 */

export const PROJECT_ROOT = join(__dirname, '..', '..');

/** The bundle task's esbuild flags for the handlers, so bundles built here compare with the shipped one. */
export const HANDLER_BUNDLE_FLAGS = {
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'cjs',
  minify: true,
  mainFields: ['module', 'main'],
  legalComments: 'none',
  logLevel: 'error',
} as const;
const NODE_MODULES = join(PROJECT_ROOT, 'node_modules');
const CHILD_ENTRIES = {
  handler: 'handler-process',
  sts: 'sts-process',
  kms: 'kms-process',
  loadClient: 'load-client',
  samlSigning: 'saml-signing-process',
  stages: 'stages-process',
  coldSubject: 'cold-subject',
  requireTimer: 'require-timer',
  fetchLoadTimer: 'fetch-load-timer',
} as const;
/** Dummy credentials of the handler's role, as Lambda puts them in the environment (KMS needs SigV4). */
const LAMBDA_CREDENTIALS = { accessKeyId: 'ASIAROLEBENCHMARK000', secretAccessKey: 'benchmark-secret-access-key-not-real' };
const READY_TIMEOUT_MS = 20_000;
const EXIT_TIMEOUT_MS = 5000;

export type ChildScripts = { readonly directory: string } & { readonly [name in keyof typeof CHILD_ENTRIES]: string };

/** Bundles the child entry points into `directory` (npm packages are left to node_modules). */
export async function buildChildScripts(directory: string): Promise<ChildScripts> {
  await build({
    entryPoints: Object.values(CHILD_ENTRIES).map((name) => join(__dirname, `${name}.ts`)),
    outdir: directory,
    bundle: true,
    packages: 'external',
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    logLevel: 'error',
  });
  const scripts = Object.fromEntries(Object.entries(CHILD_ENTRIES).map(([name, entry]) => [name, join(directory, `${entry}.js`)]));
  return { directory, ...scripts } as ChildScripts;
}

/** The environment of a child: this one's minus anything that would instrument it, plus `extra` (undefined deletes). */
export function childEnvironment(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_PATH: NODE_MODULES };
  delete env.NODE_OPTIONS;
  delete env.NODE_V8_COVERAGE;
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) {
      delete env[name];
    } else {
      env[name] = value;
    }
  }
  return env;
}

/** Where a child's stdout and stderr go: the scanned run's logs when there is a run, else `fallbackDirectory`. */
export function childLogFile(label: string, fallbackDirectory: string): string {
  const runDirectory = process.env[SECRET_REGISTRY_ENV];
  const directory = runDirectory ? logDirectory(runDirectory) : fallbackDirectory;
  mkdirSync(directory, { recursive: true });
  return join(directory, `${label}-${process.pid}-${Date.now()}.log`);
}

/** The next IPC message of `child`; rejects when it exits first or nothing arrives in time. */
export function nextMessage<T>(child: ChildProcess, what: string, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    const onMessage = (message: unknown) => {
      cleanup();
      resolve(message as T);
    };
    const onExit = (code: number | null, signal: string | null) => {
      cleanup();
      reject(new Error(`${what}: the child process exited (${signal ?? code})`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${what}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/** Disconnects a child (each exits on disconnect) and kills it if it has not gone in time. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return;
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (child.connected) {
    child.disconnect();
  } else {
    child.kill('SIGTERM');
  }
  const timer = setTimeout(() => child.kill('SIGKILL'), EXIT_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

export function forkWithLog(script: string, env: NodeJS.ProcessEnv, logFile: string, execArgv: readonly string[] = []): ChildProcess {
  const output = openSync(logFile, 'a');
  try {
    return fork(script, [], { env, execArgv: [...execArgv], stdio: ['ignore', output, output, 'ipc'] });
  } finally {
    closeSync(output);
  }
}

export interface StsProcess {
  readonly child: ChildProcess;
  readonly endpoint: string;
}

export async function startStsProcess(scripts: ChildScripts, config: StsProcessConfig, logFile: string): Promise<StsProcess> {
  const child = forkWithLog(scripts.sts, childEnvironment({ LOAD_STS_CONFIG: JSON.stringify(config) }), logFile);
  const reply = await nextMessage<StsReply>(child, 'loopback STS', READY_TIMEOUT_MS);
  if (reply.type !== 'ready') {
    await stopChild(child);
    throw new Error(`loopback STS did not start: ${reply.type === 'error' ? reply.message : reply.type}`);
  }
  return { child, endpoint: reply.endpoint };
}

/** Starts the loopback KMS in a child process of its own. */
export async function startKmsProcess(scripts: ChildScripts, config: KmsProcessConfig, logFile: string): Promise<StsProcess> {
  const child = forkWithLog(scripts.kms, childEnvironment({ LOAD_KMS_CONFIG: JSON.stringify(config) }), logFile);
  const reply = await nextMessage<StsReply>(child, 'loopback KMS', READY_TIMEOUT_MS);
  if (reply.type !== 'ready') {
    await stopChild(child);
    throw new Error(`loopback KMS did not start: ${reply.type === 'error' ? reply.message : reply.type}`);
  }
  return { child, endpoint: reply.endpoint };
}

/** The last request a stand-in (STS or KMS child) received, to be replayed by a bare client. */
export async function sampleRequest(stand: StsProcess, what: string): Promise<HttpSample> {
  const answer = nextMessage<StsReply>(stand.child, `${what} sample`, READY_TIMEOUT_MS);
  stand.child.send({ type: 'sample-request' });
  const reply = await answer;
  if (reply.type !== 'sample-request' || !reply.sample) {
    throw new Error(`${what} has no request to sample yet`);
  }
  return reply.sample;
}

/**
 * What Lambda adds to a deployed function's environment that the SDK reads: the role's credentials
 * (session token included), the function's name and memory, the execution environment.
 */
export function lambdaRuntimeEnvironment(): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: LAMBDA_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LAMBDA_CREDENTIALS.secretAccessKey,
    AWS_SESSION_TOKEN: 'IQoJbenchmark-session-token-not-real',
    AWS_LAMBDA_FUNCTION_NAME: 'TokenDelegation-Handler',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
  };
}

export interface HandlerProcess {
  readonly child: ChildProcess;
  readonly url: string;
  readonly pid: number;
  readonly logFile: string;
  /** Sends one request and waits for its reply. */
  ask<T extends HandlerReply['type']>(request: HandlerRequest, timeoutMs?: number): Promise<Extract<HandlerReply, { type: T }>>;
}

export async function startHandlerProcess(
  scripts: ChildScripts,
  handlerEnvironment: Record<string, string | undefined>,
  logFile: string,
  execArgv: readonly string[] = [],
): Promise<HandlerProcess> {
  // The shipped bundle unless the environment names another (`LOAD_HANDLER_BUNDLE`, e.g. a variant under comparison).
  const env = childEnvironment({ LOAD_HANDLER_BUNDLE: BUNDLE_PATH, ...handlerEnvironment });
  const child = forkWithLog(scripts.handler, env, logFile, execArgv);
  const ready = await nextMessage<HandlerReply>(child, 'handler process', READY_TIMEOUT_MS);
  if (ready.type !== 'ready') {
    await stopChild(child);
    throw new Error(`handler process did not start: ${ready.type === 'error' ? ready.message : ready.type}`);
  }
  let queue: Promise<unknown> = Promise.resolve();
  const ask = <T extends HandlerReply['type']>(request: HandlerRequest, timeoutMs = 120_000) => {
    const asked = queue.then(async () => {
      const answer = nextMessage<HandlerReply>(child, `handler process (${request.type})`, timeoutMs);
      child.send(request);
      const reply = await answer;
      if (reply.type === 'error') {
        throw new Error(`handler process (${request.type}): ${reply.message}`);
      }
      return reply as Extract<HandlerReply, { type: T }>;
    });
    queue = asked.catch(() => undefined);
    return asked;
  };
  return { child, url: ready.url, pid: ready.pid, logFile, ask };
}

/** Runs the load generator in a child process and returns its summary. */
export async function runLoadClient(
  scripts: ChildScripts,
  options: LoadClientOptions,
  logFile: string,
  timeoutMs: number,
): Promise<LoadClientResult> {
  const child = forkWithLog(scripts.loadClient, childEnvironment({ LOAD_CLIENT_OPTIONS: JSON.stringify(options) }), logFile);
  try {
    return await nextMessage<LoadClientResult>(child, 'load generator', timeoutMs);
  } finally {
    await stopChild(child);
  }
}

/** Bearer requests for the given tokens, from the app's origin. */
export function bearerRequests(tokens: readonly string[]): LoadClientOptions['requests'] {
  return tokens.map((token) => ({ headers: { Authorization: `Bearer ${token}`, Origin: APP_ORIGIN } }));
}

export interface RigOptions {
  /** Which loopback STS answers (see {@link StsProcessConfig}). */
  readonly stsKind: StsProcessConfig['kind'];
  /** How many distinct users get a token. */
  readonly users: number;
  /** Node options of the handler process, e.g. `--expose-gc` or `--cpu-prof`. */
  readonly handlerExecArgv?: readonly string[];
  /** Leave the handler process out (cold-start measurements start their own). */
  readonly withoutHandler?: boolean;
  /** Also start the loopback KMS and prepare the production (KMS signer) environment. */
  readonly kms?: boolean;
  /** Which signer the rig's handler process uses. @default 'pem' */
  readonly handlerSigner?: 'pem' | 'kms';
}

export interface LoadRig {
  readonly scripts: ChildScripts;
  readonly issuer: LocalOidcIssuer;
  readonly sts: StsProcess;
  /** The loopback KMS, when started with `kms`. */
  readonly kms?: StsProcess;
  /**
   * With `kms`: the environment of a deployed handler: the KMS signer, the signing certificate, the
   * role's credentials and Lambda's own variables, AWS endpoints on loopback (test key inside: never print).
   */
  readonly kmsHandlerEnvironment?: Record<string, string | undefined>;
  /** The PEM of the RSA-2048 test key every signer here signs with (the KMS stand-in too). */
  readonly signingKeyPem: string;
  /** Undefined when started `withoutHandler`. */
  readonly handler?: HandlerProcess;
  /** `DELEGATION_*` and AWS variables of the handler (they hold the test key: never print them). */
  readonly handlerEnvironment: Record<string, string | undefined>;
  /** One valid id token per user. */
  readonly tokens: readonly string[];
  /** Where the children's output goes when no scanned run is active. */
  readonly workDirectory: string;
  close(): Promise<void>;
}

export async function startLoadRig(options: RigOptions): Promise<LoadRig> {
  const workDirectory = mkdtempSync(join(tmpdir(), 'delegation-load-'));
  const cleanups: Array<() => Promise<void> | void> = [() => rmSync(workDirectory, { recursive: true, force: true })];
  const close = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      await cleanup();
    }
  };
  try {
    const scripts = await buildChildScripts(join(workDirectory, 'children'));
    const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const signingKeyPem = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const certificate = await buildSelfSignedCertificate({
      subjectPublicKeyInfoDer: new Uint8Array(createPublicKey(signingKeyPem).export({ type: 'spki', format: 'der' })),
      commonName: 'cdk-token-delegation load test',
      signer: new PemSigner(signingKeyPem),
    });
    const issuer = await startOidcIssuer({ audience: CLIENT_ID });
    cleanups.push(() => issuer.close());
    const sts = await startStsProcess(scripts, {
      kind: options.stsKind,
      providerArn: PROVIDER_ARN,
      entityId: ENTITY_ID,
      certificateBase64: Buffer.from(certificate.der).toString('base64'),
      recipient: RECIPIENT,
      roleArns: [ROLE_ARN, ADMIN_ROLE_ARN],
    }, childLogFile('sts', workDirectory));
    cleanups.push(() => stopChild(sts.child));
    const handlerEnvironment = {
      ...awsTestEnvironment({ sts: sts.endpoint }),
      ...delegationEnvironment(issuer, { pem: signingKeyPem }),
    };
    let kms: StsProcess | undefined;
    let kmsHandlerEnvironment: Record<string, string | undefined> | undefined;
    if (options.kms || options.handlerSigner === 'kms') {
      const started = await startKmsProcess(scripts, { keyId: KMS_KEY_ARN, privateKeyPem: signingKeyPem }, childLogFile('kms', workDirectory));
      kms = started;
      cleanups.push(() => stopChild(started.child));
      kmsHandlerEnvironment = {
        ...awsTestEnvironment({ sts: sts.endpoint, kms: started.endpoint }, LAMBDA_CREDENTIALS),
        ...lambdaRuntimeEnvironment(),
        ...delegationEnvironment(issuer, { kmsKeyArn: KMS_KEY_ARN }, {
          DELEGATION_SIGNING_CERTIFICATE: Buffer.from(certificate.der).toString('base64'),
        }),
        LOAD_REFERENCE_KEY_PEM: signingKeyPem,
      };
    }
    let handler: HandlerProcess | undefined;
    if (!options.withoutHandler) {
      const environment = options.handlerSigner === 'kms' ? kmsHandlerEnvironment! : handlerEnvironment;
      handler = await startHandlerProcess(scripts, environment, childLogFile('handler', workDirectory), options.handlerExecArgv);
      const started = handler;
      cleanups.push(() => stopChild(started.child));
    }
    const tokens: string[] = [];
    for (let user = 0; user < options.users; user++) {
      tokens.push(await issuer.sign({ sub: `load-user-${user}` }));
    }
    return { scripts, issuer, sts, kms, kmsHandlerEnvironment, signingKeyPem, handler, handlerEnvironment, tokens, workDirectory, close };
  } catch (error) {
    await close();
    throw error;
  }
}
