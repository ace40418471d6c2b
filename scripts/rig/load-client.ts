import autocannon from 'autocannon';
import type { LoadClientOptions, LoadClientResult } from './messages';

/**
 * A child process that runs autocannon against the delegation endpoint with the job in
 * `LOAD_CLIENT_OPTIONS` (POST requests cycling through pre-minted tokens) and reports a summary.
 */

async function main(): Promise<void> {
  const options = JSON.parse(process.env.LOAD_CLIENT_OPTIONS ?? 'null') as LoadClientOptions | null;
  if (!options) {
    throw new Error('LOAD_CLIENT_OPTIONS must be set');
  }
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    ...(options.amount === undefined ? { duration: options.durationSeconds ?? 1 } : { amount: options.amount }),
    timeout: options.timeoutSeconds,
    requests: options.requests.map((request) => ({ method: 'POST' as const, headers: request.headers, body: request.body })),
  });
  const summary: LoadClientResult = {
    type: 'result',
    total: result.requests.total,
    ok2xx: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    resets: result.resets,
    durationSeconds: result.duration,
    latencyMs: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
  };
  process.send?.(summary, () => process.exit(0));
}

main().catch((error: unknown) => {
  process.stderr.write(`load client failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
