import type { STSClient } from '@aws-sdk/client-sts';
import { createStsClient as createPlainStsClient, type StsClientOptions } from '../../lambda/delegation/sts';

export * from '../../lambda/delegation/sts';

/**
 * The benchmark's alternative to `lambda/delegation/sts.ts`'s client (see measure-sts-client.ts): the
 * same client with the SDK's middleware stack resolved once (`cacheMiddleware`) instead of on every call.
 * A cached stack only serves calls sent without options, so `send`'s `abortSignal` is taken off each
 * call and carried to the HTTP handler by hand: registered under the command's input, then, by a
 * build-step middleware, under the serialized request (retries resend that object), and handed to every
 * attempt by a patched `requestHandler.handle`. The SDK's retry loop no longer sees the signal, so the
 * call is raced against it, as a backoff wait that outlasts the deadline would otherwise be waited for.
 */
export function createStsClient(options: StsClientOptions): STSClient {
  const client = createPlainStsClient(options);
  (client.config as { cacheMiddleware?: boolean }).cacheMiddleware = true;
  const callSignals = new WeakMap<object, AbortSignal>();
  client.middlewareStack.add((next) => (args) => {
    const signal = callSignals.get(args.input as object);
    if (signal) {
      callSignals.set(args.request as object, signal);
    }
    return next(args);
  }, { step: 'build' });
  const handler = client.config.requestHandler as { handle(request: object, options?: { abortSignal?: AbortSignal }): unknown };
  const handle = handler.handle.bind(handler);
  handler.handle = (request, handlerOptions) => handle(request, {
    ...handlerOptions,
    abortSignal: callSignals.get(request) ?? handlerOptions?.abortSignal,
  });
  const send = client.send.bind(client) as (command: { input: object }) => Promise<unknown>;
  client.send = ((command: { input: object }, sendOptions?: { abortSignal?: AbortSignal }) => {
    const signal = sendOptions?.abortSignal;
    if (!signal) {
      return send(command);
    }
    callSignals.set(command.input, signal);
    return untilAborted(send(command), signal);
  }) as STSClient['send'];
  return client;
}

function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
