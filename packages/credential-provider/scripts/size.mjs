// What the provider adds to a browser app: a page that imports fromTokenDelegation from the built
// package, bundled for the browser and minified by esbuild, then gzipped (node:zlib, level 9). Prints the
// size, writes it into README.md between the bundle-size markers, and fails above the budget.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const BUDGET_BYTES = 2048;
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const result = await build({
  stdin: {
    contents: "import { fromTokenDelegation } from './dist/index.mjs';\nglobalThis.credentials = fromTokenDelegation;\n",
    resolveDir: root,
    loader: 'js',
  },
  bundle: true,
  platform: 'browser',
  format: 'iife',
  target: 'es2020',
  minify: true,
  legalComments: 'none',
  write: false,
  logLevel: 'warning',
});
const minified = result.outputFiles[0].contents;
const gzipped = gzipSync(minified, { level: 9 }).length;
const line = `${gzipped} bytes min+gzip (${minified.length} bytes minified; esbuild --minify for the browser, gzip level 9; budget ${BUDGET_BYTES} bytes)`;
console.log(`credential provider in a browser bundle: ${line}`);

const readmeFile = join(root, 'README.md');
const readme = readFileSync(readmeFile, 'utf8');
const marked = /(<!-- bundle-size -->)[^<]*(<!-- \/bundle-size -->)/;
if (!marked.test(readme)) throw new Error('README.md has no <!-- bundle-size --><!-- /bundle-size --> markers');
const updated = readme.replace(marked, `$1${line}$2`);
if (updated !== readme) writeFileSync(readmeFile, updated);

if (gzipped > BUDGET_BYTES) {
  console.error(`The credential provider takes ${gzipped} bytes min+gzip, over its budget of ${BUDGET_BYTES}`);
  process.exit(1);
}
