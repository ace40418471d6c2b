import { chromium, type Browser } from 'playwright-core';
import type { ProxyHandler } from '../../local/http-adapter';

/**
 * Debian's Chromium, headless, with the network features off that would reach beyond this machine.
 * Starting it may take long on a busy machine: the limit only catches a hang.
 */
export function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ...extraArgs,
    ],
    timeout: 120_000,
  });
}

/** The handler with its log lines appended to `lines` instead of printed (for a file whose requests never overlap). */
export function collectingLogs(handler: ProxyHandler, lines: string[]): ProxyHandler {
  return async (event, context) => {
    const write = process.stdout.write;
    process.stdout.write = ((chunk: string | Uint8Array) => {
      lines.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    }) as typeof process.stdout.write;
    try {
      return await handler(event, context);
    } finally {
      process.stdout.write = write;
    }
  };
}
