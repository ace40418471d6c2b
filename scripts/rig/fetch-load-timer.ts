import type { ColdReport } from './messages';

/**
 * What jose's createRemoteJWKSet costs a fresh process before any request: its `new Headers()` makes
 * Node load its fetch implementation (undici). Reports one JSON line ({@link ColdReport}) on stderr.
 */

const started = performance.now();
new Headers();
const requireMs = performance.now() - started;
const usage = process.cpuUsage();
const report: ColdReport = { bootMs: started, requireMs, cpuMs: (usage.user + usage.system) / 1000 };
process.stderr.write(`${JSON.stringify(report)}\n`);
process.exit(0);
