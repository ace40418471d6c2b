// Builds dist/: index.mjs (ESM) and index.cjs (CommonJS) with esbuild, and their declarations
// (index.d.mts, index.d.cts) from one tsc run. `npm pack` runs it first (prepack).
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist);

// ES2020 runs in every browser the AWS SDK v3 supports, in Node.js 20+ and in React Native.
const common = { entryPoints: [join(root, 'src', 'index.ts')], bundle: true, platform: 'neutral', target: 'es2020', logLevel: 'warning', legalComments: 'none' };
await build({ ...common, format: 'esm', outfile: join(dist, 'index.mjs') });
await build({ ...common, format: 'cjs', outfile: join(dist, 'index.cjs') });

// The declarations: one self-contained file (the source has no imports), the same for both formats.
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });
copyFileSync(join(dist, 'types', 'index.d.ts'), join(dist, 'index.d.mts'));
copyFileSync(join(dist, 'types', 'index.d.ts'), join(dist, 'index.d.cts'));
rmSync(join(dist, 'types'), { recursive: true });
