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

/**
 * Loads a fresh copy of the bundled handler (a cold start) with `env` set while its module code runs,
 * which is when the handler reads its configuration. Under jest, whose module registry ignores
 * `require.cache`, use the test harness's loader instead.
 */
export function loadBundledHandler(env: Record<string, string | undefined>, bundlePath = DELEGATION_BUNDLE_PATH): ProxyHandler {
  if (!existsSync(bundlePath)) {
    throw new Error(`${bundlePath} is missing: run "npx projen bundle" first`);
  }
  const restore = setEnvironment(env);
  try {
    const resolved = require.resolve(bundlePath);
    delete require.cache[resolved];
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require(resolved) as { handler: ProxyHandler }).handler;
  } finally {
    restore();
  }
}
