import { createPrivateKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';
import { cpuMicros } from './cpu';
import type { CpuRound, HandlerReply, HandlerRequest } from './messages';
import { collectGarbage, references, type References } from './references';
import { startDelegationServer, type ProxyHandler } from '../../local/http-adapter';
import { APP_ORIGIN, apiGatewayEvent, lambdaContext } from '../../test/support/handler-harness';

/**
 * A child process that holds one warm copy of the bundled delegation handler, as one Lambda container
 * would: it serves it over HTTP through the API Gateway adapter on 127.0.0.1, and on request measures
 * its own CPU time per handler call against references timed in the same process (bare signatures,
 * bare keep-alive POSTs to the stand-ins, RS256 verifications), its signature rate and its memory.
 * Started with the handler's environment; `LOAD_HANDLER_BUNDLE` names the bundle to load and
 * `LOAD_REFERENCE_KEY_PEM` (or, with the PEM signer, `DELEGATION_SIGNING_KEY_PEM`) the reference key.
 */

/** About the size of the canonical SignedInfo the handler signs. */
const SIGNED_BYTES = randomBytes(900);

function send(reply: HandlerReply): void {
  process.send?.(reply);
}

function bareSignatures(key: KeyObject, count: number): void {
  for (let index = 0; index < count; index++) {
    sign('sha256', SIGNED_BYTES, key);
  }
}

/** Calls the handler `count` times in a row; resolves with the body length of the last answer. */
async function sequentialRequests(
  handler: ProxyHandler,
  tokens: readonly string[],
  count: number,
  statuses: Record<string, number>,
): Promise<number> {
  const events = tokens.map((token) => apiGatewayEvent({ headers: { Authorization: `Bearer ${token}`, Origin: APP_ORIGIN } }));
  let bodyBytes = 0;
  for (let index = 0; index < count; index++) {
    const response = await handler(events[index % events.length], lambdaContext());
    statuses[response.statusCode] = (statuses[response.statusCode] ?? 0) + 1;
    bodyBytes = Buffer.byteLength(response.body);
  }
  return bodyBytes;
}

/** Alternates N handler calls and the references, so both see the same machine weather. */
async function measureCpu(handler: ProxyHandler, floors: References, request: Extract<HandlerRequest, { type: 'measure-cpu' }>): Promise<HandlerReply> {
  const statuses: Record<string, number> = {};
  const rounds: CpuRound[] = [];
  for (let round = 0; round < request.rounds; round++) {
    collectGarbage();
    const beforeHandler = cpuMicros();
    await sequentialRequests(handler, request.tokens, request.requests, statuses);
    const handlerMicros = cpuMicros() - beforeHandler;
    rounds.push({ handlerMicrosPerRequest: handlerMicros / request.requests, referenceMicros: await floors.measure(request.references) });
  }
  return { type: 'measure-cpu', rounds, statuses };
}

async function warmUp(handler: ProxyHandler, floors: References, request: Extract<HandlerRequest, { type: 'warm-up' }>): Promise<HandlerReply> {
  const statuses: Record<string, number> = {};
  const bodyBytes = await sequentialRequests(handler, request.tokens, request.requests, statuses);
  await floors.measure({ count: 50, signature: true, verify: true });
  return { type: 'warm-up', statuses, bodyBytes };
}

function measureSignatureRate(key: KeyObject, durationMs: number): HandlerReply {
  const started = performance.now();
  const startedCpu = cpuMicros();
  let signatures = 0;
  while (performance.now() - started < durationMs) {
    bareSignatures(key, 10);
    signatures += 10;
  }
  return { type: 'measure-signature-rate', signatures, elapsedMs: performance.now() - started, cpuMicros: cpuMicros() - startedCpu };
}

function memory(): HandlerReply {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect) {
    collect();
    collect();
  }
  const usage = process.memoryUsage();
  return { type: 'memory', rss: usage.rss, heapUsed: usage.heapUsed, external: usage.external, collected: collect !== undefined };
}

async function main(): Promise<void> {
  const bundlePath = process.env.LOAD_HANDLER_BUNDLE;
  const signingKeyPem = process.env.LOAD_REFERENCE_KEY_PEM ?? process.env.DELEGATION_SIGNING_KEY_PEM;
  if (!bundlePath || !signingKeyPem) {
    throw new Error('LOAD_HANDLER_BUNDLE and LOAD_REFERENCE_KEY_PEM or DELEGATION_SIGNING_KEY_PEM must be set');
  }
  const { handler } = createRequire(__filename)(bundlePath) as { handler: ProxyHandler };
  const referenceKey = createPrivateKey(signingKeyPem);
  const floors = references(referenceKey);
  const allowedOrigins = JSON.parse(process.env.DELEGATION_ALLOWED_ORIGINS ?? '[]') as string[];
  const server = await startDelegationServer({ handler, allowedOrigins });

  process.on('message', (message: HandlerRequest) => {
    const answer = async (): Promise<HandlerReply> => {
      switch (message.type) {
        case 'warm-up':
          return warmUp(handler, floors, message);
        case 'measure-cpu':
          return measureCpu(handler, floors, message);
        case 'measure-signature-rate':
          return measureSignatureRate(referenceKey, message.durationMs);
        case 'memory':
          return memory();
        case 'cpu-usage':
          return { type: 'cpu-usage', ...process.cpuUsage() };
      }
    };
    answer().then(send, (error: unknown) => send({ type: 'error', message: error instanceof Error ? error.message : String(error) }));
  });
  process.on('disconnect', () => {
    void server.close().finally(() => process.exit(0));
  });
  send({ type: 'ready', url: server.url, pid: process.pid });
}

main().catch((error: unknown) => {
  send({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  process.exit(1);
});
