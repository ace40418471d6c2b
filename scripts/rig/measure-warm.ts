import { readFileSync } from 'node:fs';
import type { HttpSample, ReferenceJob, ReferenceName } from './messages';
import type { HandlerProcess } from './rig';
import { ROUNDS, spread, type Spread } from './spread';

/**
 * Warm CPU per request of each signer path, each in its own warm handler process, against the floor of
 * that path measured in the same process and round: the handler's N sequential calls, then N of each
 * reference, one round of each path in turn so both paths see the same machine weather.
 */

export const WARM_REQUESTS_PER_ROUND = 200;
export const WARMUP_REQUESTS = 1500;

export interface WarmPath {
  readonly name: 'pem' | 'kms';
  readonly handler: HandlerProcess;
  /** Which references make this path's floor (their CPU per operation is summed). */
  readonly floor: readonly ReferenceName[];
}

export interface WarmResult {
  readonly name: WarmPath['name'];
  readonly floor: readonly ReferenceName[];
  readonly handlerMicros: Spread;
  readonly referenceMicros: Partial<Record<ReferenceName, Spread>>;
  readonly floorMicros: Spread;
  /** Handler CPU / floor CPU, per round. */
  readonly ratio: Spread;
  readonly statuses: Readonly<Record<string, number>>;
  /** Bytes (newline included) of the handler's log line for an issued credential, median over the run. */
  readonly logLineBytes: number;
}

function referenceJob(floor: readonly ReferenceName[], samples: { sts: HttpSample; kms?: HttpSample }): ReferenceJob {
  return {
    count: WARM_REQUESTS_PER_ROUND,
    signature: floor.includes('signature'),
    verify: floor.includes('verify'),
    stsPost: floor.includes('stsPost') ? samples.sts : undefined,
    kmsPost: floor.includes('kmsPost') ? samples.kms : undefined,
  };
}

function issuedLogLineBytes(logFile: string): number {
  const lines = readFileSync(logFile, 'utf8').split('\n').filter((line) => line.includes('"outcome":"issued"'));
  return spread(lines.map((line) => Buffer.byteLength(line) + 1)).median;
}

/** Warms every path's handler up (so the stand-ins have a request to sample); resolves with a 200's body length. */
export async function warmUp(paths: readonly WarmPath[], tokens: readonly string[]): Promise<number> {
  let bodyBytes = 0;
  for (const path of paths) {
    const reply = await path.handler.ask<'warm-up'>({ type: 'warm-up', tokens, requests: WARMUP_REQUESTS }, 600_000);
    if (Object.keys(reply.statuses).some((status) => status !== '200')) {
      throw new Error(`${path.name} handler answered ${JSON.stringify(reply.statuses)} while warming up`);
    }
    bodyBytes = reply.bodyBytes;
  }
  return bodyBytes;
}

interface Collected {
  readonly handler: number[];
  readonly references: Partial<Record<ReferenceName, number[]>>;
  readonly floor: number[];
  readonly ratio: number[];
  readonly statuses: Record<string, number>;
}

export async function measureWarm(
  paths: readonly WarmPath[],
  tokens: readonly string[],
  samples: { sts: HttpSample; kms?: HttpSample },
): Promise<WarmResult[]> {
  const collected = paths.map((): Collected => ({ handler: [], references: {}, floor: [], ratio: [], statuses: {} }));
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate which path goes first, so neither always runs right after the other.
    const order = round % 2 === 0 ? paths.map((_path, index) => index) : paths.map((_path, index) => paths.length - 1 - index);
    for (const index of order) {
      const path = paths[index];
      const reply = await path.handler.ask<'measure-cpu'>({
        type: 'measure-cpu',
        tokens,
        requests: WARM_REQUESTS_PER_ROUND,
        rounds: 1,
        references: referenceJob(path.floor, samples),
      }, 600_000);
      const into = collected[index];
      for (const measured of reply.rounds) {
        const floor = path.floor.reduce((sum, name) => sum + (measured.referenceMicros[name] ?? NaN), 0);
        into.handler.push(measured.handlerMicrosPerRequest);
        into.floor.push(floor);
        into.ratio.push(measured.handlerMicrosPerRequest / floor);
        for (const [name, micros] of Object.entries(measured.referenceMicros) as Array<[ReferenceName, number]>) {
          (into.references[name] ??= []).push(micros);
        }
      }
      for (const [status, count] of Object.entries(reply.statuses)) {
        into.statuses[status] = (into.statuses[status] ?? 0) + count;
      }
    }
  }
  return paths.map((path, index) => {
    const into = collected[index];
    return {
      name: path.name,
      floor: path.floor,
      handlerMicros: spread(into.handler),
      referenceMicros: Object.fromEntries(Object.entries(into.references).map(([name, values]) => [name, spread(values)])),
      floorMicros: spread(into.floor),
      ratio: spread(into.ratio),
      statuses: into.statuses,
      logLineBytes: issuedLogLineBytes(path.handler.logFile),
    };
  });
}
