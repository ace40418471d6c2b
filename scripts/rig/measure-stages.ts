import type { HttpSample, StagesReply } from './messages';
import { childEnvironment, childLogFile, forkWithLog, nextMessage, stopChild, type ChildScripts } from './rig';
import { ROUNDS, spread, type Spread } from './spread';

/** Each stage of a warm request timed alone in a child process with the production (KMS) configuration. */

export const SIGNATURE_STAGE = 'bare RSA-2048 signature';

export interface Stage {
  readonly stage: string;
  readonly micros: Spread;
  /** Per round, to the bare signature of the same round. */
  readonly ratio: Spread;
}

export async function measureStages(
  scripts: ChildScripts,
  environment: Record<string, string | undefined>,
  job: { tokens: readonly string[]; stsSample: HttpSample; kmsSample?: HttpSample },
  workDirectory: string,
): Promise<Stage[]> {
  const env = childEnvironment({ ...environment, STAGES_JOB: JSON.stringify({ ...job, iterations: 200, rounds: ROUNDS, warmup: 1000 }) });
  const child = forkWithLog(scripts.stages, env, childLogFile('stages', workDirectory), ['--expose-gc']);
  try {
    const reply = await nextMessage<StagesReply>(child, 'stage timings', 600_000);
    if (reply.type !== 'stages') {
      throw new Error(`stage timings: ${reply.message}`);
    }
    const names = Object.keys(reply.rounds[0].micros);
    return names.map((stage) => ({
      stage,
      micros: spread(reply.rounds.map((round) => round.micros[stage])),
      ratio: spread(reply.rounds.map((round) => round.micros[stage] / round.micros[SIGNATURE_STAGE])),
    }));
  } finally {
    await stopChild(child);
  }
}
