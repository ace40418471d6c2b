import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ProxyHandler } from './http-adapter';

/**
 * The delegation handler as deployed: the esbuild bundle `npx projen bundle` writes, seen from local/
 * in the repository or from assets/cli/ (the command's own bundle) in the installed package.
 */
export const DELEGATION_BUNDLE_PATH = [
  join(__dirname, '..', 'lambda', 'delegation', 'index.js'),
  join(__dirname, '..', 'assets', 'lambda', 'delegation', 'index.js'),
].find((path) => existsSync(path)) ?? join(__dirname, '..', 'assets', 'lambda', 'delegation', 'index.js');

/** Sets `variables` in process.env (undefined deletes) and returns a function that restores the previous values. */
export function setEnvironment(variables: Record<string, string | undefined>): () => void {
  const previous = Object.fromEntries(Object.keys(variables).map((name) => [name, process.env[name]]));
  const apply = (values: Record<string, string | undefined>) => {
    for (const [name, value] of Object.entries(values)) {
      if (value === undefined) {
        delete process.env[name];
      } else {
        process.env[name] = value;
      }
    }
  };
  apply(variables);
  return () => apply(previous);
}

/** Requires `path` so that its module code runs again, whatever copy a module registry holds. */
export type FreshRequire = (path: string) => unknown;

/** Node's own registry: the cached copy is dropped, then required again. */
function requireFresh(path: string): unknown {
  const resolved = require.resolve(path);
  delete require.cache[resolved];
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(resolved);
}

export interface LoadBundledHandlerOptions {
  /** @default DELEGATION_BUNDLE_PATH */
  readonly bundlePath?: string;
  /**
   * How the bundle is required afresh. Under jest, whose module registry ignores `require.cache`, the test
   * harness passes one built on `jest.isolateModules`.
   * @default - drop the copy in `require.cache` and require again
   */
  readonly requireFresh?: FreshRequire;
}

/**
 * Loads a fresh copy of the bundled handler (a cold start) with `env` set while its module code runs,
 * which is when the handler reads its configuration; the previous values are restored afterwards.
 * The one loader of the bundle: the local command, the test bed and the tests all load it here.
 */
export function loadBundledHandler(env: Record<string, string | undefined>, options: LoadBundledHandlerOptions = {}): ProxyHandler {
  const bundlePath = options.bundlePath ?? DELEGATION_BUNDLE_PATH;
  if (!existsSync(bundlePath)) {
    throw new Error(`${bundlePath} is missing: run "npx projen bundle" first`);
  }
  const restore = setEnvironment(env);
  try {
    return ((options.requireFresh ?? requireFresh)(bundlePath) as { handler: ProxyHandler }).handler;
  } finally {
    restore();
  }
}
