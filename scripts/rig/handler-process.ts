import { createPrivateKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';
import { cpuMicros } from './cpu';
import type { CpuRound, HandlerReply, HandlerRequest } from './messages';
import { startDelegationServer, type ProxyHandler } from '../../local/http-adapter';
import { APP_ORIGIN, apiGatewayEvent, lambdaContext } from '../../test/support/handler-harness';

/**
 * A child process that holds one warm copy of the bundled delegation handler, as one Lambda container
 * would: it serves it over HTTP through the API Gateway adapter on 127.0.0.1, and on request measures
 * its own CPU time per handler call against bare RSA signatures, its signature rate and its memory.
 * Started with the handler's environment; `LOAD_HANDLER_BUNDLE` names the bundle to load.
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

async function sequentialRequests(handler: ProxyHandler, tokens: readonly string[], count: number, statuses: Record<string, number>): Promise<void> {
  const events = tokens.map((token) => apiGatewayEvent({ headers: { Authorization: `Bearer ${token}`, Origin: APP_ORIGIN } }));
  for (let index = 0; index < count; index++) {
    const response = await handler(events[index % events.length], lambdaContext());
    statuses[response.statusCode] = (statuses[response.statusCode] ?? 0) + 1;
  }
}

/** Alternates N handler calls and M bare signatures, so both see the same machine weather. */
async function measureCpu(handler: ProxyHandler, key: KeyObject, request: Extract<HandlerRequest, { type: 'measure-cpu' }>): Promise<HandlerReply> {
  const statuses: Record<string, number> = {};
  await sequentialRequests(handler, request.tokens, request.warmupRequests, {});
  bareSignatures(key, Math.min(request.signatures, 50));
  const rounds: CpuRound[] = [];
  for (let round = 0; round < request.rounds; round++) {
    const beforeHandler = cpuMicros();
    await sequentialRequests(handler, request.tokens, request.requests, statuses);
    const handlerMicros = cpuMicros() - beforeHandler;
    const beforeSignatures = cpuMicros();
    bareSignatures(key, request.signatures);
    const signatureMicros = cpuMicros() - beforeSignatures;
    rounds.push({ handlerMicrosPerRequest: handlerMicros / request.requests, signatureMicrosPerSignature: signatureMicros / request.signatures });
  }
  return { type: 'measure-cpu', rounds, statuses };
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
  return { type: 'memory', rss: usage.rss, heapUsed: usage.heapUsed, collected: collect !== undefined };
}

async function main(): Promise<void> {
  const bundlePath = process.env.LOAD_HANDLER_BUNDLE;
  const signingKeyPem = process.env.DELEGATION_SIGNING_KEY_PEM;
  if (!bundlePath || !signingKeyPem) {
    throw new Error('LOAD_HANDLER_BUNDLE and DELEGATION_SIGNING_KEY_PEM must be set');
  }
  const { handler } = createRequire(__filename)(bundlePath) as { handler: ProxyHandler };
  const referenceKey = createPrivateKey(signingKeyPem);
  const allowedOrigins = JSON.parse(process.env.DELEGATION_ALLOWED_ORIGINS ?? '[]') as string[];
  const server = await startDelegationServer({ handler, allowedOrigins });

  process.on('message', (message: HandlerRequest) => {
    const answer = async (): Promise<HandlerReply> => {
      switch (message.type) {
        case 'measure-cpu':
          return measureCpu(handler, referenceKey, message);
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
