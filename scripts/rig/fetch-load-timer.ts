import type { ColdReport } from './messages';

/**
 * What loading Node's fetch implementation (undici) costs a fresh process: the first `new Headers()`
 * loads it, as jose's createRemoteJWKSet would on every cold start, which is why the handler has its
 * own remote key set. Reports one JSON line ({@link ColdReport}) on stderr.
 */

const started = performance.now();
new Headers();
const requireMs = performance.now() - started;
const usage = process.cpuUsage();
const report: ColdReport = { bootMs: started, requireMs, cpuMs: (usage.user + usage.system) / 1000 };
process.stderr.write(`${JSON.stringify(report)}\n`);
process.exit(0);
