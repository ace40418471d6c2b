import { spawn } from 'node:child_process';
import { relative } from 'node:path';
import type { ColdReport } from './messages';
import { PROJECT_ROOT, childEnvironment, type ChildScripts } from './rig';
import { COLD_ROUNDS, spread, type Spread } from './spread';
import { APP_ORIGIN, BUNDLE_PATH, apiGatewayEvent } from '../../test/support/handler-harness';

/**
 * Cold starts in fresh processes: the bundled handler with the PEM signer and with the configuration a
 * deployed handler has (KMS signer, signing certificate, the role's credentials and Lambda's variables),
 * against a fresh process requiring `@aws-sdk/client-sts`, in rotating order.
 */

export interface TimedRun {
  /** Spawn until the child's report arrived (Lambda keeps the process after the first answer). */
  readonly doneMs: number;
  /** Spawn until exit, for comparison. */
  readonly exitMs: number;
  readonly report: ColdReport;
}

/** Spawns `node script` and times it until its report (one JSON line on stderr) and until its exit. */
export function timedRun(script: string, env: NodeJS.ProcessEnv): Promise<TimedRun> {
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
        resolve({ doneMs, exitMs, report: JSON.parse(stderr.split('\n')[0]) as ColdReport });
      } else {
        reject(new Error(`${relative(PROJECT_ROOT, script)} exited with ${code}: ${stderr.slice(0, 500)}`));
      }
    });
  });
}

export interface ColdSubject {
  readonly name: 'pem' | 'kms';
  readonly environment: Record<string, string | undefined>;
}

export interface ColdResult {
  readonly name: ColdSubject['name'];
  /** Spawn to first answer. */
  readonly doneMs: Spread;
  readonly exitMs: Spread;
  readonly bootMs: Spread;
  readonly requireMs: Spread;
  readonly firstRequestMs: Spread;
  /** CPU of the whole process until its answer, node's boot included. */
  readonly cpuMs: Spread;
  /** CPU of the whole process once the bundle is loaded (INIT), before the first request. */
  readonly initCpuMs: Spread;
  /** In how many of its `runs` Node had loaded undici (its fetch implementation) by the answer. */
  readonly undiciLoadedRuns: number;
  readonly runs: number;
  /** doneMs / the reference's doneMs of the same round. */
  readonly ratio: Spread;
}

export interface ColdStart {
  readonly subjects: readonly ColdResult[];
  readonly referenceMs: Spread;
  readonly referenceRequireMs: Spread;
  readonly referenceCpuMs: Spread;
  /** Loading Node's fetch implementation in a fresh process. */
  readonly fetchLoadMs: Spread;
}

export async function measureColdStart(scripts: ChildScripts, subjects: readonly ColdSubject[], tokens: readonly string[]): Promise<ColdStart> {
  const referenceEnv = childEnvironment({ REQUIRE_TARGET: require.resolve('@aws-sdk/client-sts', { paths: [PROJECT_ROOT] }) });
  const subjectEnv = (subject: ColdSubject, round: number) => childEnvironment({
    ...subject.environment,
    COLD_BUNDLE: BUNDLE_PATH,
    COLD_EVENT: JSON.stringify(apiGatewayEvent({ headers: { Authorization: `Bearer ${tokens[round % tokens.length]}`, Origin: APP_ORIGIN } })),
  });
  const runs = subjects.map(() => [] as TimedRun[]);
  const reference: TimedRun[] = [];
  // One of each first, unrecorded, so the file cache is warm for all.
  await timedRun(scripts.requireTimer, referenceEnv);
  for (const [index, subject] of subjects.entries()) {
    await timedRun(scripts.coldSubject, subjectEnv(subject, index));
  }
  for (let round = 0; round < COLD_ROUNDS; round++) {
    // The reference and each subject in rotating order, so none always runs right after another.
    const slots = [-1, ...subjects.map((_subject, index) => index)];
    const shift = round % slots.length;
    for (const slot of [...slots.slice(shift), ...slots.slice(0, shift)]) {
      if (slot < 0) {
        reference.push(await timedRun(scripts.requireTimer, referenceEnv));
      } else {
        runs[slot].push(await timedRun(scripts.coldSubject, subjectEnv(subjects[slot], round)));
      }
    }
  }
  const fetchLoad: number[] = [];
  for (let round = 0; round < COLD_ROUNDS; round++) {
    fetchLoad.push((await timedRun(scripts.fetchLoadTimer, childEnvironment({}))).report.requireMs);
  }
  return {
    subjects: subjects.map((subject, index) => ({
      name: subject.name,
      doneMs: spread(runs[index].map((run) => run.doneMs)),
      exitMs: spread(runs[index].map((run) => run.exitMs)),
      bootMs: spread(runs[index].map((run) => run.report.bootMs)),
      requireMs: spread(runs[index].map((run) => run.report.requireMs)),
      firstRequestMs: spread(runs[index].map((run) => run.report.firstRequestMs ?? NaN)),
      cpuMs: spread(runs[index].map((run) => run.report.cpuMs)),
      initCpuMs: spread(runs[index].map((run) => run.report.initCpuMs ?? NaN)),
      undiciLoadedRuns: runs[index].filter((run) => run.report.undiciLoaded).length,
      runs: runs[index].length,
      ratio: spread(runs[index].map((run, round) => run.doneMs / reference[round].doneMs)),
    })),
    referenceMs: spread(reference.map((run) => run.doneMs)),
    referenceRequireMs: spread(reference.map((run) => run.report.requireMs)),
    referenceCpuMs: spread(reference.map((run) => run.report.cpuMs)),
    fetchLoadMs: spread(fetchLoad),
  };
}
