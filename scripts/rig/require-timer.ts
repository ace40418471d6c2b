import { createRequire } from 'node:module';
import type { ColdReport } from './messages';

/**
 * Times, in a fresh process, one require() of the module named by `REQUIRE_TARGET` (e.g.
 * `@aws-sdk/client-sts`, resolved by the parent) and reports one JSON line ({@link ColdReport}) on stderr.
 */

const started = performance.now();
createRequire(__filename)(process.env.REQUIRE_TARGET ?? '');
const requireMs = performance.now() - started;
const usage = process.cpuUsage();
const report: ColdReport = { bootMs: started, requireMs, cpuMs: (usage.user + usage.system) / 1000 };
process.stderr.write(`${JSON.stringify(report)}\n`);
process.exit(0);
