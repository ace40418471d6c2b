import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { WARM_REQUESTS_PER_ROUND, WARMUP_REQUESTS } from './measure-warm';
import type { ReferenceJob } from './messages';
import { HANDLER_BUNDLE_FLAGS, PROJECT_ROOT, childLogFile, startHandlerProcess, stopChild, type ChildScripts, type HandlerProcess } from './rig';
import { ROUNDS, spread, type Spread } from './spread';
import { BUNDLE_PATH } from '../../test/support/handler-harness';

/**
 * Whether caching the STS client's middleware stack pays: warm CPU per request of the bundled handler
 * as shipped (`send(command, { abortSignal })` per call) against the same handler bundled with
 * `sts-cached-stack.ts` in place of `lambda/delegation/sts.ts`'s client, both signer paths, each variant
 * in a warm process of its own, the variants alternating within every round and the order swapped
 * from round to round.
 */

/** The least share of the warm request, as deployed (KMS signer), the cached stack must save to be worth its patch. */
export const STS_CLIENT_SAVING_BAR = 0.1;

/** Rounds of this comparison: twice the benchmark's, since the difference looked for is small. */
export const STS_CLIENT_ROUNDS = ROUNDS * 2;

export interface StsClientComparison {
  readonly path: 'pem' | 'kms';
  /** CPU µs per request, as shipped (plain `send` with the call's abort signal). */
  readonly plainMicros: Spread;
  /** CPU µs per request with the cached middleware stack. */
  readonly cachedMicros: Spread;
  /** Cached / plain, per round. */
  readonly ratio: Spread;
  /** (plain − cached) / plain, per round: the share of the warm request the cache saves. */
  readonly savedShare: Spread;
  readonly rounds: number;
}

/** `lambda/delegation/index.ts` bundled with the bundle task's flags, its `./sts` replaced by the cached-stack client. */
async function buildCachedStackBundle(directory: string): Promise<string> {
  const outfile = join(directory, 'index.js');
  mkdirSync(directory, { recursive: true });
  const cachedStack: Plugin = {
    name: 'sts-cached-stack',
    setup(plugin) {
      plugin.onResolve({ filter: /^\.\/sts$/ }, (args) => (args.importer.endsWith(join('lambda', 'delegation', 'index.ts'))
        ? { path: join(__dirname, 'sts-cached-stack.ts') }
        : undefined));
    },
  };
  const result = await build({
    entryPoints: [join(PROJECT_ROOT, 'lambda', 'delegation', 'index.ts')],
    outfile,
    ...HANDLER_BUNDLE_FLAGS,
    mainFields: [...HANDLER_BUNDLE_FLAGS.mainFields],
    plugins: [cachedStack],
    metafile: true,
  });
  if (!Object.keys(result.metafile.inputs).some((input) => input.endsWith('sts-cached-stack.ts'))) {
    throw new Error('the cached-stack bundle does not contain scripts/rig/sts-cached-stack.ts');
  }
  return outfile;
}

const HANDLER_ONLY: ReferenceJob = { count: WARM_REQUESTS_PER_ROUND, signature: false, verify: false };

async function cpuPerRequest(handler: HandlerProcess, tokens: readonly string[], what: string): Promise<number> {
  const reply = await handler.ask<'measure-cpu'>({ type: 'measure-cpu', tokens, requests: WARM_REQUESTS_PER_ROUND, rounds: 1, references: HANDLER_ONLY }, 600_000);
  if (Object.keys(reply.statuses).some((status) => status !== '200')) {
    throw new Error(`${what} answered ${JSON.stringify(reply.statuses)}`);
  }
  return reply.rounds[0].handlerMicrosPerRequest;
}

export async function measureStsClient(
  scripts: ChildScripts,
  environments: Readonly<Record<'pem' | 'kms', Record<string, string | undefined>>>,
  tokens: readonly string[],
  workDirectory: string,
): Promise<StsClientComparison[]> {
  const cachedBundle = await buildCachedStackBundle(join(workDirectory, 'sts-cached-stack'));
  const paths = ['pem', 'kms'] as const;
  const started: HandlerProcess[] = [];
  try {
    const subjects = [];
    for (const path of paths) {
      const start = async (variant: string, bundle: string) => {
        const handler = await startHandlerProcess(scripts, { ...environments[path], LOAD_HANDLER_BUNDLE: bundle }, childLogFile(`handler-${path}-${variant}`, workDirectory), ['--expose-gc']);
        started.push(handler);
        const warm = await handler.ask<'warm-up'>({ type: 'warm-up', tokens, requests: WARMUP_REQUESTS }, 600_000);
        if (Object.keys(warm.statuses).some((status) => status !== '200')) {
          throw new Error(`${path} ${variant} handler answered ${JSON.stringify(warm.statuses)} while warming up`);
        }
        return handler;
      };
      subjects.push({ path, plain: await start('plain', BUNDLE_PATH), cached: await start('cached', cachedBundle) });
    }
    const measured = subjects.map(() => ({ plain: [] as number[], cached: [] as number[] }));
    for (let round = 0; round < STS_CLIENT_ROUNDS; round++) {
      for (const [index, subject] of subjects.entries()) {
        const into = measured[index];
        const plainFirst = (round + index) % 2 === 0;
        for (const variant of plainFirst ? ['plain', 'cached'] as const : ['cached', 'plain'] as const) {
          into[variant].push(await cpuPerRequest(subject[variant], tokens, `${subject.path} ${variant} handler`));
        }
      }
    }
    return subjects.map((subject, index) => {
      const { plain, cached } = measured[index];
      return {
        path: subject.path,
        plainMicros: spread(plain),
        cachedMicros: spread(cached),
        ratio: spread(cached.map((micros, round) => micros / plain[round])),
        savedShare: spread(cached.map((micros, round) => (plain[round] - micros) / plain[round])),
        rounds: STS_CLIENT_ROUNDS,
      };
    });
  } finally {
    for (const handler of started) {
      await stopChild(handler.child);
    }
  }
}
