import { fork, type ChildProcess } from 'node:child_process';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import type { HandlerReply, HandlerRequest, LoadClientOptions, LoadClientResult, StsProcessConfig, StsReply } from './messages';
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
  PROVIDER_ARN,
  RECIPIENT,
  ROLE_ARN,
  awsTestEnvironment,
  delegationEnvironment,
} from '../../test/support/handler-harness';
import { logDirectory } from '../../test/support/secret-scan';

/**
 * The load and benchmark rig, all on 127.0.0.1: a local OIDC issuer in this process, and in child
 * processes of their own the loopback STS, the bundled delegation handler behind the HTTP adapter
 * (in-memory RSA-2048 signer), and the load generator. The children are TypeScript entry points
 * bundled here with esbuild (packages stay in node_modules), so they start as plain node.
 */

export const PROJECT_ROOT = join(__dirname, '..', '..');
const NODE_MODULES = join(PROJECT_ROOT, 'node_modules');
const CHILD_ENTRIES = { handler: 'handler-process', sts: 'sts-process', loadClient: 'load-client', samlSigning: 'saml-signing-process', stages: 'stages-process' } as const;
const READY_TIMEOUT_MS = 20_000;
const EXIT_TIMEOUT_MS = 5000;

export interface ChildScripts {
  readonly directory: string;
  readonly handler: string;
  readonly sts: string;
  readonly loadClient: string;
  readonly samlSigning: string;
  readonly stages: string;
}

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
  return {
    directory,
    handler: join(directory, `${CHILD_ENTRIES.handler}.js`),
    sts: join(directory, `${CHILD_ENTRIES.sts}.js`),
    loadClient: join(directory, `${CHILD_ENTRIES.loadClient}.js`),
    samlSigning: join(directory, `${CHILD_ENTRIES.samlSigning}.js`),
    stages: join(directory, `${CHILD_ENTRIES.stages}.js`),
  };
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
    throw new Error(`loopback STS did not start: ${reply.message}`);
  }
  return { child, endpoint: reply.endpoint };
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
  const env = childEnvironment({ ...handlerEnvironment, LOAD_HANDLER_BUNDLE: BUNDLE_PATH });
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
}

export interface LoadRig {
  readonly scripts: ChildScripts;
  readonly issuer: LocalOidcIssuer;
  readonly sts: StsProcess;
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
    let handler: HandlerProcess | undefined;
    if (!options.withoutHandler) {
      handler = await startHandlerProcess(scripts, handlerEnvironment, childLogFile('handler', workDirectory), options.handlerExecArgv);
      const started = handler;
      cleanups.push(() => stopChild(started.child));
    }
    const tokens: string[] = [];
    for (let user = 0; user < options.users; user++) {
      tokens.push(await issuer.sign({ sub: `load-user-${user}` }));
    }
    return { scripts, issuer, sts, handler, handlerEnvironment, tokens, workDirectory, close };
  } catch (error) {
    await close();
    throw error;
  }
}
