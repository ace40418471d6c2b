// Packs the provider as the release publishes it, beside the library's tarball:
//   node packages/credential-provider/scripts/pack.mjs dist/js
// It builds, then packs a copy of the package whose version is the library's (the release bumps the
// library's package.json; this one's stays 0.0.0 in the repository), without its build scripts.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const repository = join(root, '..', '..');
const destination = resolve(process.argv[2] ?? join(repository, 'dist', 'js'));

execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { stdio: 'inherit' });

const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const { version } = JSON.parse(readFileSync(join(repository, 'package.json'), 'utf8'));
const staging = mkdtempSync(join(tmpdir(), 'credential-provider-pack-'));
try {
  mkdirSync(join(staging, 'dist'));
  for (const file of [...manifest.files, 'README.md', 'LICENSE']) copyFileSync(join(root, file), join(staging, file));
  delete manifest.scripts;
  writeFileSync(join(staging, 'package.json'), `${JSON.stringify({ ...manifest, version }, null, 2)}\n`);
  mkdirSync(destination, { recursive: true });
  execFileSync('npm', ['pack', staging, '--pack-destination', destination, '--ignore-scripts', '--loglevel=error'], { stdio: ['ignore', 'inherit', 'inherit'] });
} finally {
  rmSync(staging, { recursive: true, force: true });
}
