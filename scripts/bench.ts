import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, platform, release, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { build, type Metafile } from 'esbuild';
import type { CpuRound, SamlSigningReply, SamlSigningRound, StagesReply } from './rig/messages';
import {
  PROJECT_ROOT,
  bearerRequests,
  childEnvironment,
  childLogFile,
  forkWithLog,
  nextMessage,
  runLoadClient,
  startLoadRig,
  stopChild,
  type LoadRig,
} from './rig/rig';
import { APP_ORIGIN, BUNDLE_PATH, apiGatewayEvent } from '../test/support/handler-harness';

/**
 * Benchmarks of the delegation handler, written to docs/benchmarks.md and printed. Shared machines are
 * noisy, so every figure is a ratio against a reference measured in the same run, in alternating
 * rounds, reported as the median ratio with its min–max. Run: `npm run bench`
 * (which bundles the handler first). `BENCH_ROUNDS` (default 9) sets the number of rounds.
 */

const ROUNDS = Math.max(3, Number(process.env.BENCH_ROUNDS ?? 9));
const COLD_ROUNDS = ROUNDS * 2;
const USERS = 8;
const WARM_REQUESTS_PER_ROUND = 200;
const SIGNATURES_PER_ROUND = 200;
const WARMUP_REQUESTS = 1500;
const THROUGHPUT_SECONDS = 3;
const THROUGHPUT_CONNECTIONS = 10;
const SIGNATURE_RATE_MS = 1000;
const REPORT_PATH = join(PROJECT_ROOT, 'docs', 'benchmarks.md');
/** Scopes whose packages are the AWS SDK and its Smithy runtime. */
const AWS_SDK_SCOPES = ['@aws-sdk/', '@smithy/', '@aws-crypto/', '@aws/'];

interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

function spread(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1] };
}

function fixed(value: number, digits = 2): string {
  return value.toFixed(digits);
}

function ratioText(ratio: Spread): string {
  return `**${fixed(ratio.median)}×**`;
}

function rangeText(ratio: Spread): string {
  return `${fixed(ratio.min)}–${fixed(ratio.max)}`;
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

/** One row of the summary table. */
interface Figure {
  readonly name: string;
  readonly subject: string;
  readonly reference: string;
  readonly ratio?: Spread;
  /** Shown instead of a ratio spread for exact quantities (bytes). */
  readonly exact?: string;
  readonly target: string;
  readonly met?: boolean;
  readonly method: string;
}

// ---------------------------------------------------------------- 1. warm CPU per request

interface WarmCpu {
  readonly ratio: Spread;
  readonly handlerMicros: Spread;
  readonly signatureMicros: Spread;
  readonly statuses: Readonly<Record<string, number>>;
}

async function measureWarmCpu(rig: LoadRig): Promise<WarmCpu> {
  const reply = await rig.handler!.ask<'measure-cpu'>({
    type: 'measure-cpu',
    tokens: rig.tokens,
    requests: WARM_REQUESTS_PER_ROUND,
    signatures: SIGNATURES_PER_ROUND,
    rounds: ROUNDS,
    warmupRequests: WARMUP_REQUESTS,
  }, 600_000);
  const rounds: readonly CpuRound[] = reply.rounds;
  return {
    ratio: spread(rounds.map((round) => round.handlerMicrosPerRequest / round.signatureMicrosPerSignature)),
    handlerMicros: spread(rounds.map((round) => round.handlerMicrosPerRequest)),
    signatureMicros: spread(rounds.map((round) => round.signatureMicrosPerSignature)),
    statuses: reply.statuses,
  };
}

// ---------------------------------------------------------------- stage breakdown

async function measureStages(rig: LoadRig): Promise<Array<{ stage: string; micros: Spread; ratio: Spread }>> {
  const job = { tokens: rig.tokens, iterations: 200, rounds: ROUNDS, warmup: 1000 };
  const env = childEnvironment({ ...rig.handlerEnvironment, STAGES_JOB: JSON.stringify(job) });
  const child = forkWithLog(rig.scripts.stages, env, childLogFile('stages', rig.workDirectory));
  try {
    const reply = await nextMessage<StagesReply>(child, 'stage timings', 600_000);
    if (reply.type !== 'stages') {
      throw new Error(`stage timings: ${reply.message}`);
    }
    const names = Object.keys(reply.rounds[0].micros);
    const signature = 'bare RSA-2048 signature';
    return names.map((stage) => ({
      stage,
      micros: spread(reply.rounds.map((round) => round.micros[stage])),
      ratio: spread(reply.rounds.map((round) => round.micros[stage] / round.micros[signature])),
    }));
  } finally {
    await stopChild(child);
  }
}

// ---------------------------------------------------------------- 4. throughput

interface Throughput {
  readonly ratio: Spread;
  readonly requestsPerSecond: Spread;
  readonly signaturesPerSecond: Spread;
  readonly handlerCoreShare: Spread;
  readonly p99Ms: Spread;
  readonly failures: number;
}

async function measureThroughput(rig: LoadRig): Promise<Throughput> {
  const handler = rig.handler!;
  const job = (durationSeconds: number) => ({
    url: handler.url,
    connections: THROUGHPUT_CONNECTIONS,
    durationSeconds,
    timeoutSeconds: 10,
    requests: bearerRequests(rig.tokens),
  });
  const logFile = childLogFile('load-client', rig.workDirectory);
  await runLoadClient(rig.scripts, job(THROUGHPUT_SECONDS), logFile, 60_000);
  const rates: number[] = [];
  const signatureRates: number[] = [];
  const coreShares: number[] = [];
  const p99s: number[] = [];
  let failures = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const before = await handler.ask<'cpu-usage'>({ type: 'cpu-usage' });
    const result = await runLoadClient(rig.scripts, job(THROUGHPUT_SECONDS), logFile, 60_000);
    const after = await handler.ask<'cpu-usage'>({ type: 'cpu-usage' });
    failures += result.non2xx + result.errors + result.timeouts;
    rates.push(result.ok2xx / result.durationSeconds);
    coreShares.push((after.user + after.system - before.user - before.system) / 1e6 / result.durationSeconds);
    p99s.push(result.latencyMs.p99);
    const signatures = await handler.ask<'measure-signature-rate'>({ type: 'measure-signature-rate', durationMs: SIGNATURE_RATE_MS });
    signatureRates.push(signatures.signatures / (signatures.elapsedMs / 1000));
  }
  return {
    ratio: spread(rates.map((rate, index) => rate / signatureRates[index])),
    requestsPerSecond: spread(rates),
    signaturesPerSecond: spread(signatureRates),
    handlerCoreShare: spread(coreShares),
    p99Ms: spread(p99s),
    failures,
  };
}

// ---------------------------------------------------------------- 2. cold start

interface ColdStart {
  readonly ratio: Spread;
  readonly subjectMs: Spread;
  readonly referenceMs: Spread;
  readonly bootMs: Spread;
  readonly requireMs: Spread;
  readonly firstRequestMs: Spread;
  /** Loading Node's fetch implementation in a fresh process. */
  readonly fetchLoadMs: Spread;
  /** The reference's own require() of @aws-sdk/client-sts. */
  readonly referenceRequireMs: Spread;
  /** Spawn to exit of the subject, for comparison. */
  readonly subjectExitMs: Spread;
}

const COLD_SUBJECT = `'use strict';
const started = performance.now();
const { handler } = require(process.env.COLD_BUNDLE);
const loaded = performance.now();
handler(JSON.parse(process.env.COLD_EVENT), { awsRequestId: 'cold', getRemainingTimeInMillis: () => 10000 }).then((response) => {
  process.stderr.write(JSON.stringify({ bootMs: started, requireMs: loaded - started, firstRequestMs: performance.now() - loaded, status: response.statusCode }) + '\\n');
  process.exit(response.statusCode === 200 ? 0 : 2);
}, () => process.exit(3));
`;

const COLD_REFERENCE = `'use strict';
const started = performance.now();
require(process.env.COLD_REFERENCE_MODULE);
process.stderr.write(JSON.stringify({ requireMs: performance.now() - started }) + '\\n');
process.exit(0);
`;

/** What jose's createRemoteJWKSet costs a fresh process before any request: `new Headers()` loads Node's fetch (undici). */
const FETCH_LOAD_TIMER = `'use strict';
const started = performance.now();
new Headers();
process.stderr.write(JSON.stringify({ requireMs: performance.now() - started }) + '\\n');
process.exit(0);
`;

const REQUIRE_TIMER = `'use strict';
const started = performance.now();
require(process.env.REQUIRE_TARGET);
process.stderr.write(JSON.stringify({ requireMs: performance.now() - started }) + '\\n');
process.exit(0);
`;

/**
 * Spawns `node script` and resolves with the time from spawn until its report (one JSON line on stderr)
 * arrived, the time until it exited, and the report. Lambda keeps the process after the first answer, so
 * "done" is the report, not the exit (which, right after the answer, waits for work the VM has in flight).
 */
function timedRun(script: string, env: NodeJS.ProcessEnv): Promise<{ doneMs: number; exitMs: number; report: Record<string, number> }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [script], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let doneMs: number | undefined;
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      if (doneMs === undefined && stderr.includes('\n')) {
        doneMs = performance.now() - started;
      }
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      const exitMs = performance.now() - started;
      if (code === 0 && doneMs !== undefined) {
        resolve({ doneMs, exitMs, report: JSON.parse(stderr.split('\n')[0]) as Record<string, number> });
      } else {
        reject(new Error(`${relative(PROJECT_ROOT, script)} exited with ${code}`));
      }
    });
  });
}

function writeScript(directory: string, name: string, text: string): string {
  const path = join(directory, name);
  writeFileSync(path, text);
  return path;
}

async function measureColdStart(rig: LoadRig): Promise<ColdStart> {
  const subjectScript = writeScript(rig.workDirectory, 'cold-subject.js', COLD_SUBJECT);
  const referenceScript = writeScript(rig.workDirectory, 'cold-reference.js', COLD_REFERENCE);
  const referenceEnv = childEnvironment({ COLD_REFERENCE_MODULE: require.resolve('@aws-sdk/client-sts', { paths: [PROJECT_ROOT] }) });
  const subjectEnv = (token: string) => childEnvironment({
    ...rig.handlerEnvironment,
    COLD_BUNDLE: BUNDLE_PATH,
    COLD_EVENT: JSON.stringify(apiGatewayEvent({ headers: { Authorization: `Bearer ${token}`, Origin: APP_ORIGIN } })),
  });
  const subject: number[] = [];
  const reference: number[] = [];
  const boot: number[] = [];
  const requireTimes: number[] = [];
  const firstRequest: number[] = [];
  const referenceRequire: number[] = [];
  const subjectExit: number[] = [];
  const runSubject = async (round: number) => {
    const run = await timedRun(subjectScript, subjectEnv(rig.tokens[round % rig.tokens.length]));
    subject.push(run.doneMs);
    subjectExit.push(run.exitMs);
    boot.push(run.report.bootMs);
    requireTimes.push(run.report.requireMs);
    firstRequest.push(run.report.firstRequestMs);
  };
  const runReference = async () => {
    const run = await timedRun(referenceScript, referenceEnv);
    reference.push(run.doneMs);
    referenceRequire.push(run.report.requireMs);
  };
  await runSubject(0);
  await runReference();
  subject.length = reference.length = boot.length = requireTimes.length = firstRequest.length = referenceRequire.length = subjectExit.length = 0;
  for (let round = 0; round < COLD_ROUNDS; round++) {
    // ABBA order, so neither side always runs right after the other.
    if (round % 2 === 0) {
      await runSubject(round);
      await runReference();
    } else {
      await runReference();
      await runSubject(round);
    }
  }
  const fetchTimer = writeScript(rig.workDirectory, 'fetch-load-timer.js', FETCH_LOAD_TIMER);
  const fetchLoad: number[] = [];
  for (let round = 0; round < COLD_ROUNDS; round++) {
    fetchLoad.push((await timedRun(fetchTimer, childEnvironment({}))).report.requireMs);
  }
  return {
    fetchLoadMs: spread(fetchLoad),
    referenceRequireMs: spread(referenceRequire),
    subjectExitMs: spread(subjectExit),
    ratio: spread(subject.map((ms, index) => ms / reference[index])),
    subjectMs: spread(subject),
    referenceMs: spread(reference),
    bootMs: spread(boot),
    requireMs: spread(requireTimes),
    firstRequestMs: spread(firstRequest),
  };
}

// ---------------------------------------------------------------- 3. bundle composition

interface BundleComposition {
  readonly totalBytes: number;
  readonly onDiskBytes: number;
  readonly sdkBytes: number;
  readonly restBytes: number;
  readonly glueBytes: number;
  readonly packages: ReadonlyArray<{ name: string; bytes: number; sdk: boolean }>;
}

/** `node_modules/<pkg>/…` (the innermost one) to the package name; our own files to their folder. */
function packageOf(inputPath: string): string {
  const parts = inputPath.split('node_modules/');
  if (parts.length === 1) {
    return inputPath.split('/').slice(0, 2).join('/');
  }
  const rest = parts[parts.length - 1].split('/');
  return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
}

/**
 * The AWS SDK is every package of its scopes, plus every other package that only SDK packages import
 * (its helpers, e.g. an XML parser or tslib), found from the metafile's import graph.
 */
function sdkPackages(metafile: Metafile, inputs: readonly string[]): Set<string> {
  const npmPackages = new Set(inputs.filter((input) => input.includes('node_modules/')).map(packageOf));
  const importers = new Map<string, Set<string>>();
  for (const input of inputs) {
    for (const imported of metafile.inputs[input]?.imports ?? []) {
      const [source, target] = [packageOf(input), packageOf(imported.path)];
      if (!imported.external && source !== target) {
        importers.set(target, (importers.get(target) ?? new Set()).add(source));
      }
    }
  }
  const sdk = new Set([...npmPackages].filter((name) => AWS_SDK_SCOPES.some((scope) => name.startsWith(scope))));
  for (let grew = true; grew;) {
    grew = false;
    for (const name of npmPackages) {
      const from = [...importers.get(name) ?? []];
      if (!sdk.has(name) && from.length > 0 && from.every((importer) => sdk.has(importer))) {
        sdk.add(name);
        grew = true;
      }
    }
  }
  return sdk;
}

async function measureBundle(workDirectory: string): Promise<BundleComposition> {
  const tasks = JSON.parse(readFileSync(join(PROJECT_ROOT, '.projen', 'tasks.json'), 'utf8')) as { tasks: { bundle: { steps: Array<{ exec: string }> } } };
  const exec = tasks.tasks.bundle.steps[0].exec;
  const outdir = join(workDirectory, 'bundle');
  const metafilePath = join(workDirectory, 'bundle-meta.json');
  // The bundle task's own command line, written elsewhere and with a metafile (later flags win).
  await new Promise<void>((resolve, reject) => {
    const child = spawn(`${exec} --outdir=${outdir} --metafile=${metafilePath}`, { cwd: PROJECT_ROOT, shell: true, stdio: 'inherit', env: { ...process.env, PATH: `${join(PROJECT_ROOT, 'node_modules', '.bin')}:${process.env.PATH}` } });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`esbuild exited with ${code}`))));
  });
  const metafile = JSON.parse(readFileSync(metafilePath, 'utf8')) as Metafile;
  const outputKey = Object.keys(metafile.outputs).find((key) => key.endsWith('delegation/index.js'))!;
  const output = metafile.outputs[outputKey];
  const byPackage = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
    byPackage.set(packageOf(input), (byPackage.get(packageOf(input)) ?? 0) + bytesInOutput);
  }
  const sdk = sdkPackages(metafile, Object.keys(output.inputs));
  const packages = [...byPackage].map(([name, bytes]) => ({ name, bytes, sdk: sdk.has(name) })).sort((a, b) => b.bytes - a.bytes);
  const sdkBytes = packages.filter((entry) => entry.sdk).reduce((sum, entry) => sum + entry.bytes, 0);
  const attributed = packages.reduce((sum, entry) => sum + entry.bytes, 0);
  const glueBytes = output.bytes - attributed;
  return {
    totalBytes: output.bytes,
    onDiskBytes: statSync(BUNDLE_PATH).size,
    sdkBytes,
    restBytes: output.bytes - sdkBytes,
    glueBytes,
    packages,
  };
}

// ---------------------------------------------------------------- 5. xml-crypto + xmldom

interface SamlComparison {
  readonly emitterRatio: Spread;
  readonly xmlCryptoRatio: Spread;
  readonly xmlCryptoOverEmitter: Spread;
  readonly emitterMicros: Spread;
  readonly xmlCryptoMicros: Spread;
  readonly signatureMicros: Spread;
  readonly xmlCryptoBundleBytes: number;
  readonly xmlCryptoRequireMs: Spread;
  readonly delegationRequireMs: Spread;
  readonly requireRatio: Spread;
}

async function measureSamlSigning(rig: LoadRig): Promise<Omit<SamlComparison, 'xmlCryptoBundleBytes' | 'xmlCryptoRequireMs' | 'delegationRequireMs' | 'requireRatio'>> {
  const env = childEnvironment({ SAML_SIGNING_JOB: JSON.stringify({ iterations: 200, rounds: ROUNDS }) });
  const child = forkWithLog(rig.scripts.samlSigning, env, childLogFile('saml-signing', rig.workDirectory));
  try {
    const reply = await nextMessage<SamlSigningReply>(child, 'SAML signing comparison', 600_000);
    if (reply.type !== 'saml-signing') {
      throw new Error(`SAML signing comparison: ${reply.message}`);
    }
    const rounds: readonly SamlSigningRound[] = reply.rounds;
    return {
      emitterRatio: spread(rounds.map((round) => round.emitterMicros / round.signatureMicros)),
      xmlCryptoRatio: spread(rounds.map((round) => round.xmlCryptoMicros / round.signatureMicros)),
      xmlCryptoOverEmitter: spread(rounds.map((round) => round.xmlCryptoMicros / round.emitterMicros)),
      emitterMicros: spread(rounds.map((round) => round.emitterMicros)),
      xmlCryptoMicros: spread(rounds.map((round) => round.xmlCryptoMicros)),
      signatureMicros: spread(rounds.map((round) => round.signatureMicros)),
    };
  } finally {
    await stopChild(child);
  }
}

/** xml-crypto + xmldom bundled alone with the bundle task's flags: bytes, and require time in fresh processes next to the delegation bundle's. */
async function measureXmlCryptoCost(rig: LoadRig): Promise<Pick<SamlComparison, 'xmlCryptoBundleBytes' | 'xmlCryptoRequireMs' | 'delegationRequireMs' | 'requireRatio'>> {
  const outfile = join(rig.workDirectory, 'xml-crypto-bundle', 'index.js');
  mkdirSync(join(rig.workDirectory, 'xml-crypto-bundle'), { recursive: true });
  await build({
    stdin: {
      contents: "export { SignedXml } from 'xml-crypto'; export { DOMImplementation, DOMParser, XMLSerializer } from '@xmldom/xmldom';",
      resolveDir: PROJECT_ROOT,
      loader: 'ts',
    },
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    minify: true,
    mainFields: ['module', 'main'],
    legalComments: 'none',
    logLevel: 'error',
  });
  const timer = writeScript(rig.workDirectory, 'require-timer.js', REQUIRE_TIMER);
  const xmlEnv = childEnvironment({ REQUIRE_TARGET: outfile });
  const delegationEnv = childEnvironment({ ...rig.handlerEnvironment, REQUIRE_TARGET: BUNDLE_PATH });
  const requireMs = async (env: NodeJS.ProcessEnv) => (await timedRun(timer, env)).report.requireMs;
  const xml: number[] = [];
  const delegation: number[] = [];
  await requireMs(xmlEnv);
  for (let round = 0; round < COLD_ROUNDS; round++) {
    if (round % 2 === 0) {
      xml.push(await requireMs(xmlEnv));
      delegation.push(await requireMs(delegationEnv));
    } else {
      delegation.push(await requireMs(delegationEnv));
      xml.push(await requireMs(xmlEnv));
    }
  }
  return {
    xmlCryptoBundleBytes: statSync(outfile).size,
    xmlCryptoRequireMs: spread(xml),
    delegationRequireMs: spread(delegation),
    requireRatio: spread(xml.map((ms, index) => ms / delegation[index])),
  };
}

// ---------------------------------------------------------------- report

interface Results {
  readonly date: Date;
  readonly warm: WarmCpu;
  readonly stages: Awaited<ReturnType<typeof measureStages>>;
  readonly throughput: Throughput;
  readonly cold: ColdStart;
  readonly bundle: BundleComposition;
  readonly saml: SamlComparison;
}

function figures(results: Results): Figure[] {
  const { warm, throughput, cold, bundle, saml } = results;
  return [
    {
      name: '1. Warm CPU per request',
      subject: `bundled handler, ${fixed(warm.handlerMicros.median / 1000, 2)} ms CPU`,
      reference: `one bare RSA-2048 signature, ${fixed(warm.signatureMicros.median / 1000, 2)} ms`,
      ratio: warm.ratio,
      target: '≤ 1.5×',
      met: warm.ratio.median <= 1.5,
      method: `process.cpuUsage() over ${WARM_REQUESTS_PER_ROUND} sequential handler calls vs ${SIGNATURES_PER_ROUND} signatures, alternating, ${ROUNDS} rounds after ${WARMUP_REQUESTS} warm-up calls`,
    },
    {
      name: '2. Cold start',
      subject: `fresh node: require bundle + first request, ${fixed(cold.subjectMs.median, 0)} ms`,
      reference: `fresh node: require @aws-sdk/client-sts, ${fixed(cold.referenceMs.median, 0)} ms`,
      ratio: cold.ratio,
      target: '≤ 1.3×',
      met: cold.ratio.median <= 1.3,
      method: `wall time from spawn until the child reports done (answer received / require returned), ${COLD_ROUNDS} rounds in ABBA order`,
    },
    {
      name: '3. Bundle: our code + jose',
      subject: `${bundle.restBytes.toLocaleString('en')} B (${kib(bundle.restBytes)})`,
      reference: `AWS SDK ${bundle.sdkBytes.toLocaleString('en')} B of ${bundle.totalBytes.toLocaleString('en')} B`,
      exact: kib(bundle.restBytes),
      target: '≤ 60 KB (read as KiB, as esbuild reports sizes)',
      met: bundle.restBytes <= 60 * 1024,
      method: 'esbuild metafile of the bundle task\'s own command line (bytesInOutput per input)',
    },
    {
      name: '4. Throughput, one process',
      subject: `${fixed(throughput.requestsPerSecond.median, 0)} requests/s`,
      reference: `${fixed(throughput.signaturesPerSecond.median, 0)} RSA-2048 signatures/s on one core`,
      ratio: throughput.ratio,
      target: '≥ 0.6×',
      met: throughput.ratio.median >= 0.6,
      method: `autocannon (child process, ${THROUGHPUT_CONNECTIONS} connections, ${THROUGHPUT_SECONDS} s) vs ${SIGNATURE_RATE_MS} ms of signatures in the handler process, alternating, ${ROUNDS} rounds`,
    },
    {
      name: '5a. SAML build + sign, canonical emitter',
      subject: `${fixed(saml.emitterMicros.median / 1000, 2)} ms CPU`,
      reference: `one bare RSA-2048 signature, ${fixed(saml.signatureMicros.median / 1000, 2)} ms`,
      ratio: saml.emitterRatio,
      target: '(comparison)',
      method: `CPU over 200 calls each, emitter / xml-crypto / bare signature in turn, ${ROUNDS} rounds`,
    },
    {
      name: '5b. SAML build + sign, xmldom + xml-crypto',
      subject: `${fixed(saml.xmlCryptoMicros.median / 1000, 2)} ms CPU`,
      reference: 'the same bare signature',
      ratio: saml.xmlCryptoRatio,
      target: '(comparison)',
      method: 'same rounds as 5a',
    },
    {
      name: '5c. xml-crypto + xmldom require time',
      subject: `${fixed(saml.xmlCryptoRequireMs.median, 1)} ms, ${saml.xmlCryptoBundleBytes.toLocaleString('en')} B minified`,
      reference: `require of the delegation bundle, ${fixed(saml.delegationRequireMs.median, 1)} ms`,
      ratio: saml.requireRatio,
      target: '(comparison)',
      method: `in-process require() time in fresh processes, ${COLD_ROUNDS} rounds in ABBA order; bytes from esbuild with the bundle task's flags`,
    },
  ];
}

function summaryTable(rows: readonly Figure[]): string {
  const lines = [
    '| Figure | Subject | Reference | Ratio (median) | Min–max | Target | Met | Method |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const row of rows) {
    const met = row.met === undefined ? '' : row.met ? 'yes' : '**no**';
    const ratio = row.ratio ? ratioText(row.ratio) : row.exact ?? '';
    const range = row.ratio ? rangeText(row.ratio) : 'exact';
    lines.push(`| ${row.name} | ${row.subject} | ${row.reference} | ${ratio} | ${range} | ${row.target} | ${met} | ${row.method} |`);
  }
  return lines.join('\n');
}

function machineDescription(): string {
  const processors = cpus();
  return `Node ${process.version} on ${platform()} ${release()}, ${processors[0]?.model ?? 'unknown CPU'}, ${processors.length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM`;
}

/** Plain sentences on where the time goes, from this run's numbers. */
function dominance(results: Results): string {
  const { stages, cold } = results;
  const partial = stages.filter((stage) => !['bare RSA-2048 signature', 'emit SAML (signature stubbed)'].includes(stage.stage));
  const sum = partial.reduce((total, stage) => total + stage.micros.median, 0);
  const stsCall = stages.find((stage) => stage.stage.startsWith('STS call'));
  const shares = [...partial].sort((a, b) => b.micros.median - a.micros.median)
    .map((stage) => `${stage.stage} ${fixed((stage.micros.median / sum) * 100, 0)}% (${fixed(stage.ratio.median)}× a signature)`);
  return [
    `- Warm request: of the summed stage times, ${shares.join(', ')}. The 1.5× bar leaves half a`,
    `  signature's CPU for everything but the signature; the STS call through the AWS SDK alone takes ${fixed(stsCall?.ratio.median ?? NaN)}×.`,
    `- Cold start: the subject spends ${fixed(cold.subjectMs.median - cold.referenceMs.median, 0)} ms more than the reference (medians). Its first request`,
    `  takes ${fixed(cold.firstRequestMs.median, 0)} ms, of which loading undici for jose's \`new Headers()\` is about ${fixed(cold.fetchLoadMs.median, 0)} ms; requiring the whole bundle`,
    `  takes ${fixed(cold.requireMs.median, 0)} ms against ${fixed(cold.referenceRequireMs.median, 0)} ms for the reference's require of \`@aws-sdk/client-sts\` from node_modules.`,
    results.throughput.handlerCoreShare.median >= 0.9
      ? `- Throughput: the handler process is CPU-bound (${fixed(results.throughput.handlerCoreShare.median * 100, 0)}% of a core under load), so requests/s follow the warm CPU per request.`
      : `- Throughput: the handler process used only ${fixed(results.throughput.handlerCoreShare.median * 100, 0)}% of a core under load, so the load generator or the STS stub limited it.`,
  ].join('\n');
}

function report(results: Results): string {
  const { warm, stages, throughput, cold, bundle, saml } = results;
  const helpers = bundle.packages.filter((entry) => entry.sdk && !AWS_SDK_SCOPES.some((scope) => entry.name.startsWith(scope))).map((entry) => `\`${entry.name}\``);
  const sdkList = bundle.packages.filter((entry) => entry.sdk).map((entry) => `\`${entry.name}\` ${entry.bytes.toLocaleString('en')}`).join(', ');
  const restList = bundle.packages.filter((entry) => !entry.sdk).map((entry) => `\`${entry.name}\` ${entry.bytes.toLocaleString('en')}`).join(', ');
  const stageRows = stages.map((stage) => `| ${stage.stage} | ${fixed(stage.micros.median, 0)} | ${fixed(stage.micros.min, 0)}–${fixed(stage.micros.max, 0)} | ${fixed(stage.ratio.median)}× |`);
  return `# Benchmarks

Generated by \`npm run bench\` (bundles the handler, then runs \`scripts/bench.ts\`); the whole file is
rewritten on every run. Do not edit by hand.

- Date: ${results.date.toISOString()}
- Machine: ${machineDescription()}
- Every figure is a ratio against a reference measured in the same run, in alternating rounds (the machine
  is shared and noisy); the table gives the median ratio and the min–max over the rounds.
- Everything runs on 127.0.0.1: a local OIDC issuer (JWKS) in the benchmark process; the loopback STS
  stub (\`test/support/aws-stubs.ts\`, answers without verifying) in a child process of its own, so its CPU
  is not counted; the bundled handler (\`assets/lambda/delegation/index.js\`, in-memory RSA-2048
  \`PemSigner\`) in another child process, behind \`local/http-adapter.ts\` for the throughput figure;
  autocannon in a third child process.

${summaryTable(figures(results))}

## What dominates

${dominance(results)}

## 1. Warm CPU per request

Handler CPU per request: median ${fixed(warm.handlerMicros.median, 0)} µs (${fixed(warm.handlerMicros.min, 0)}–${fixed(warm.handlerMicros.max, 0)});
bare signature: median ${fixed(warm.signatureMicros.median, 0)} µs (${fixed(warm.signatureMicros.min, 0)}–${fixed(warm.signatureMicros.max, 0)}).
Each request verifies a JWT (RS256, JWKS cached), decides the grant, emits and signs the SAML Response,
calls STS through \`@aws-sdk/client-sts\` over loopback HTTP, and writes its log line to stdout (a file). Answers: ${Object.entries(warm.statuses).map(([status, count]) => `${count} × ${status}`).join(', ')}.

Where the CPU goes (each stage timed on its own, 200 calls in a row, in a separate process with the same
configuration, ${ROUNDS} rounds; ratio to the bare signature of the same round):

| Stage | CPU µs per call (median) | min–max | × signature |
| --- | --- | --- | --- |
${stageRows.join('\n')}

## 2. Cold start

Subject: \`node\` runs a script that requires the bundle (configuration is read at load) and serves one
request (JWKS fetched from the local issuer, one STS call to the stub), then exits. Reference: \`node\` runs a
script that requires \`@aws-sdk/client-sts\` from node_modules. Wall time from spawn until the child's report
(one line on stderr, written right after the answer or the require) reaches the benchmark; Lambda keeps the process
after the first answer, so the exit is not counted (spawn to exit of the subject: ${fixed(cold.subjectExitMs.median, 0)} ms, an exit right
after the answer waits for work the VM still has in flight).
Inside the subject: node boot ${fixed(cold.bootMs.median, 1)} ms, require of the bundle ${fixed(cold.requireMs.median, 1)} ms
(${fixed(cold.requireMs.min, 1)}–${fixed(cold.requireMs.max, 1)}), first request ${fixed(cold.firstRequestMs.median, 1)} ms
(${fixed(cold.firstRequestMs.min, 1)}–${fixed(cold.firstRequestMs.max, 1)}) (medians). Of the first request, about
${fixed(cold.fetchLoadMs.median, 1)} ms (${fixed(cold.fetchLoadMs.min, 1)}–${fixed(cold.fetchLoadMs.max, 1)}) is Node loading its fetch implementation
(undici), which jose's \`createRemoteJWKSet\` still triggers with \`new Headers()\` (timed alone in fresh processes),
although the JWKS itself is fetched with \`node:http(s)\` (\`lambda/delegation/jwks-fetch.ts\`), as the AWS SDK's HTTP
client already is.

## 3. Bundle size

\`assets/lambda/delegation/index.js\` from the metafile build: ${bundle.totalBytes.toLocaleString('en')} B (the file on disk:
${bundle.onDiskBytes.toLocaleString('en')} B${bundle.onDiskBytes === bundle.totalBytes ? ', identical' : ', **differs: run `npx projen bundle`**'}).

- Counted as the AWS SDK (${bundle.sdkBytes.toLocaleString('en')} B): every package of the \`@aws-sdk/\`, \`@smithy/\`,
  \`@aws-crypto/\` and \`@aws/\` scopes, plus every other package imported only by those (in this build:
  ${helpers.length === 0 ? 'none' : helpers.join(', ')}). By package: ${sdkList}.
- The rest (${bundle.restBytes.toLocaleString('en')} B = ${kib(bundle.restBytes)} = ${fixed(bundle.restBytes / 1000, 1)} kB): ${restList}, and ${bundle.glueBytes.toLocaleString('en')} B
  of esbuild's module glue and the source-map comment (not attributed to any input).

## 4. Throughput

${fixed(throughput.requestsPerSecond.median, 0)} requests/s (${fixed(throughput.requestsPerSecond.min, 0)}–${fixed(throughput.requestsPerSecond.max, 0)}), p99 latency
${fixed(throughput.p99Ms.median, 0)} ms; ${fixed(throughput.signaturesPerSecond.median, 0)} signatures/s
(${fixed(throughput.signaturesPerSecond.min, 0)}–${fixed(throughput.signaturesPerSecond.max, 0)}). During the load the handler process used
${fixed(throughput.handlerCoreShare.median * 100, 0)}% of one core (${fixed(throughput.handlerCoreShare.min * 100, 0)}–${fixed(throughput.handlerCoreShare.max * 100, 0)}%);
the load generator and the STS stub share the same ${cpus().length} cores. Non-2xx, errors and timeouts: ${throughput.failures}.

## 5. Canonical emitter vs xmldom + xml-crypto

Both paths produce the same samlp:Response (one Assertion, enveloped signature after its Issuer, exclusive
C14N, RSA-SHA256, SHA-256 digest), and both outputs are first accepted by the loopback STS's verifier
(\`local/sts-saml.ts\`). Per build + sign: emitter ${fixed(saml.emitterMicros.median, 0)} µs, xml-crypto
${fixed(saml.xmlCryptoMicros.median, 0)} µs, bare signature ${fixed(saml.signatureMicros.median, 0)} µs; xml-crypto costs
${fixed(saml.xmlCryptoOverEmitter.median)}× the emitter (${rangeText(saml.xmlCryptoOverEmitter)}).
Bundled alone with the bundle task's flags, xml-crypto + @xmldom/xmldom are ${saml.xmlCryptoBundleBytes.toLocaleString('en')} B
(${kib(saml.xmlCryptoBundleBytes)}) minified and take ${fixed(saml.xmlCryptoRequireMs.median, 1)} ms
(${fixed(saml.xmlCryptoRequireMs.min, 1)}–${fixed(saml.xmlCryptoRequireMs.max, 1)}) to require in a fresh process, against
${fixed(saml.delegationRequireMs.median, 1)} ms for the whole delegation bundle.
`;
}

async function main(): Promise<void> {
  const date = new Date();
  const rig = await startLoadRig({ stsKind: 'stub', users: USERS });
  try {
    process.stderr.write('bench: warm CPU per request…\n');
    const warm = await measureWarmCpu(rig);
    process.stderr.write('bench: stage timings…\n');
    const stages = await measureStages(rig);
    process.stderr.write('bench: throughput…\n');
    const throughput = await measureThroughput(rig);
    await stopChild(rig.handler!.child);
    process.stderr.write('bench: cold start…\n');
    const cold = await measureColdStart(rig);
    process.stderr.write('bench: bundle composition…\n');
    const bundle = await measureBundle(rig.workDirectory);
    process.stderr.write('bench: SAML signing comparison…\n');
    const saml = { ...await measureSamlSigning(rig), ...await measureXmlCryptoCost(rig) };
    const results: Results = { date, warm, stages, throughput, cold, bundle, saml };
    mkdirSync(join(PROJECT_ROOT, 'docs'), { recursive: true });
    writeFileSync(REPORT_PATH, report(results));
    process.stdout.write(`${summaryTable(figures(results))}\n\nWritten to ${relative(PROJECT_ROOT, REPORT_PATH)}.\n`);
  } finally {
    await rig.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});
