import { createRequire } from 'node:module';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type { ColdReport } from './messages';

/**
 * A cold start, as one fresh Lambda container has it: require the bundle named by `COLD_BUNDLE` (its
 * configuration is read at load, from this process's environment), serve the one event in `COLD_EVENT`,
 * report one JSON line on stderr ({@link ColdReport}) and exit (0 only for a 200).
 */

const started = performance.now();
const { handler } = createRequire(__filename)(process.env.COLD_BUNDLE ?? '') as {
  handler: (event: APIGatewayProxyEvent, context: Partial<Context>) => Promise<APIGatewayProxyResult>;
};
const loaded = performance.now();
const initUsage = process.cpuUsage();
const event = JSON.parse(process.env.COLD_EVENT ?? 'null') as APIGatewayProxyEvent;
handler(event, { awsRequestId: 'cold', getRemainingTimeInMillis: () => 10_000 }).then((response) => {
  const usage = process.cpuUsage();
  const report: ColdReport = {
    bootMs: started,
    requireMs: loaded - started,
    firstRequestMs: performance.now() - loaded,
    cpuMs: (usage.user + usage.system) / 1000,
    initCpuMs: (initUsage.user + initUsage.system) / 1000,
    status: response.statusCode,
    // Node lists every internal module it has loaded; undici is its fetch implementation.
    undiciLoaded: (process as unknown as { moduleLoadList: string[] }).moduleLoadList.some((name) => name.includes('undici')),
  };
  process.stderr.write(`${JSON.stringify(report)}\n`);
  process.exit(response.statusCode === 200 ? 0 : 2);
}, () => process.exit(3));
