import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Metafile } from 'esbuild';
import { PROJECT_ROOT } from './rig';
import { BUNDLE_PATH } from '../../test/support/handler-harness';

/**
 * What the delegation bundle is made of: the bundle task's own esbuild command line, rerun with a
 * metafile, split into the AWS SDK (its scopes and the helpers only they import) and the rest.
 */

/** Scopes whose packages are the AWS SDK and its Smithy runtime. */
export const AWS_SDK_SCOPES = ['@aws-sdk/', '@smithy/', '@aws-crypto/', '@aws/'];

export interface BundleComposition {
  readonly totalBytes: number;
  readonly onDiskBytes: number;
  readonly sdkBytes: number;
  readonly restBytes: number;
  readonly glueBytes: number;
  readonly packages: ReadonlyArray<{ name: string; bytes: number; sdk: boolean }>;
}

/** `node_modules/<pkg>/…` (the innermost one) to the package name; our own files to their folder. */
function packageOf(inputPath: string): string {
  const parts = inputPath.split('node_modules/');
  if (parts.length === 1) {
    return inputPath.split('/').slice(0, 2).join('/');
  }
  const rest = parts[parts.length - 1].split('/');
  return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
}

/**
 * The AWS SDK is every package of its scopes, plus every other package that only SDK packages import
 * (its helpers, e.g. an XML parser or tslib), found from the metafile's import graph.
 */
function sdkPackages(metafile: Metafile, inputs: readonly string[]): Set<string> {
  const npmPackages = new Set(inputs.filter((input) => input.includes('node_modules/')).map(packageOf));
  const importers = new Map<string, Set<string>>();
  for (const input of inputs) {
    for (const imported of metafile.inputs[input]?.imports ?? []) {
      const [source, target] = [packageOf(input), packageOf(imported.path)];
      if (!imported.external && source !== target) {
        importers.set(target, (importers.get(target) ?? new Set()).add(source));
      }
    }
  }
  const sdk = new Set([...npmPackages].filter((name) => AWS_SDK_SCOPES.some((scope) => name.startsWith(scope))));
  for (let grew = true; grew;) {
    grew = false;
    for (const name of npmPackages) {
      const from = [...importers.get(name) ?? []];
      if (!sdk.has(name) && from.length > 0 && from.every((importer) => sdk.has(importer))) {
        sdk.add(name);
        grew = true;
      }
    }
  }
  return sdk;
}

export async function measureBundle(workDirectory: string): Promise<BundleComposition> {
  const tasks = JSON.parse(readFileSync(join(PROJECT_ROOT, '.projen', 'tasks.json'), 'utf8')) as { tasks: { bundle: { steps: Array<{ exec: string }> } } };
  const exec = tasks.tasks.bundle.steps[0].exec;
  const outdir = join(workDirectory, 'bundle');
  const metafilePath = join(workDirectory, 'bundle-meta.json');
  // The bundle task's own command line, written elsewhere and with a metafile (later flags win).
  await new Promise<void>((resolve, reject) => {
    const child = spawn(`${exec} --outdir=${outdir} --metafile=${metafilePath}`, { cwd: PROJECT_ROOT, shell: true, stdio: 'inherit', env: { ...process.env, PATH: `${join(PROJECT_ROOT, 'node_modules', '.bin')}:${process.env.PATH}` } });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`esbuild exited with ${code}`))));
  });
  const metafile = JSON.parse(readFileSync(metafilePath, 'utf8')) as Metafile;
  const outputKey = Object.keys(metafile.outputs).find((key) => key.endsWith('delegation/index.js'))!;
  const output = metafile.outputs[outputKey];
  const byPackage = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
    byPackage.set(packageOf(input), (byPackage.get(packageOf(input)) ?? 0) + bytesInOutput);
  }
  const sdk = sdkPackages(metafile, Object.keys(output.inputs));
  const packages = [...byPackage].map(([name, bytes]) => ({ name, bytes, sdk: sdk.has(name) })).sort((a, b) => b.bytes - a.bytes);
  const sdkBytes = packages.filter((entry) => entry.sdk).reduce((sum, entry) => sum + entry.bytes, 0);
  const attributed = packages.reduce((sum, entry) => sum + entry.bytes, 0);
  const glueBytes = output.bytes - attributed;
  return {
    totalBytes: output.bytes,
    onDiskBytes: statSync(BUNDLE_PATH).size,
    sdkBytes,
    restBytes: output.bytes - sdkBytes,
    glueBytes,
    packages,
  };
}
