import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { JwtIssuer, TokenDelegation } from '../../src';

/**
 * `cdk-token-delegation/verify` as the package ships it: the bundled assets/verify/index.js, reached through the
 * package's `exports`, with the hand-written declarations that describe it; called on a template object
 * (what a jest test has) and on a cdk.out folder. The install test (test/install/) runs it from the packed
 * tarball in a new app's own jest test.
 */

const ROOT = join(__dirname, '..', '..');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const shipped = require(join(ROOT, 'assets', 'verify', 'index.js')) as typeof import('../../local/verify-package');

function stackTemplate(grant?: (delegation: TokenDelegation) => void): { [key: string]: unknown } {
  const stack = new Stack(new App(), 'Files');
  const delegation = new TokenDelegation(stack, 'Delegation', { issuers: [JwtIssuer.oidc({ issuerUrl: 'https://tenant.eu.auth0.com/', audiences: ['CLIENT'] })] });
  grant?.(delegation);
  return Template.fromStack(stack).toJSON();
}

test('the package exports ./verify with its declarations, and the main entry as before', () => {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  expect(manifest.exports['./verify']).toEqual({ types: './assets/verify/index.d.ts', default: './assets/verify/index.js' });
  expect(manifest.exports['.']).toEqual({ types: `./${manifest.types}`, default: `./${manifest.main}` });
  expect(readFileSync(join(ROOT, 'assets', 'verify', 'index.d.ts'), 'utf8')).toBe(readFileSync(join(ROOT, 'local', 'verify-package.api.d.ts'), 'utf8'));
  // Node resolves the subpath through `exports` (the package refers to itself by name from its own folder).
  const resolved = spawnSync(process.execPath, ['-p', 'require.resolve("cdk-token-delegation/verify")'], { cwd: ROOT, encoding: 'utf8' });
  expect(resolved.stdout.trim()).toBe(join(ROOT, 'assets', 'verify', 'index.js'));
});

test('the bundle exports what its declarations declare, and carries none of the policy evaluator', () => {
  const declarations = readFileSync(join(ROOT, 'local', 'verify-package.api.d.ts'), 'utf8');
  const declared = [...declarations.matchAll(/^export declare (?:function|class) (\w+)/gm)].map((match) => match[1]);
  expect(Object.keys(shipped).sort()).toEqual(declared.sort());
  const bundle = readFileSync(join(ROOT, 'assets', 'verify', 'index.js'), 'utf8');
  expect(['ImplicitlyDenied', 'IamServiceAuthorizer'].filter((marker) => bundle.includes(marker))).toEqual([]);
});

test('the declarations type-check against the entry they describe', () => {
  const tsc = spawnSync(process.execPath, [
    join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '--ignoreConfig', '--noEmit', '--strict', '--target', 'ES2022', '--module', 'preserve',
    '--moduleResolution', 'bundler', '--types', 'node', '--lib', 'es2022', '--skipLibCheck', join(__dirname, 'verify-package-types.ts'),
  ], { cwd: ROOT, encoding: 'utf8' });
  expect(tsc.stdout).toBe('');
  expect(tsc.status).toBe(0);
});

test('on a template object: holds for our grants, and names the breach of bucket.grantRead(role)', async () => {
  const holds = await shipped.verifyIsolation(stackTemplate());
  expect(shipped.formatIsolationReport(holds)).toMatch(/^Per-user isolation holds: no user reaches another user's data in [\d,]+ decisions \(315 actions/);
  const broken = await shipped.verifyIsolation(stackTemplate((delegation) => delegation.bucket.grantRead(delegation.role)));
  expect(broken.holds).toBe(false);
  expect(broken.breaches[0]).toEqual(expect.objectContaining({
    role: expect.stringMatching(/^DelegationUserRole\w+$/),
    allowedBy: [expect.objectContaining({ policy: expect.stringMatching(/^DelegationUserRoleDefaultPolicy\w+$/) })],
    fix: expect.any(String),
  }));
  const template = stackTemplate((delegation) => delegation.bucket.grantRead(delegation.role));
  const bucket = Object.entries(template.Resources as Record<string, { Type: string }>).find(([, resource]) => resource.Type === 'AWS::S3::Bucket')![0];
  const shared = await shipped.verifyIsolation(template, { sharedBuckets: [bucket] });
  expect(shared.breaches.filter((breach) => breach.action.startsWith('s3:'))).toEqual([]);
});

test('on a cdk.out folder', async () => {
  const outdir = mkdtempSync(join(tmpdir(), 'verify-function-'));
  const app = new App({ outdir });
  new TokenDelegation(new Stack(app, 'Files'), 'Delegation', { issuers: [JwtIssuer.oidc({ issuerUrl: 'https://tenant.eu.auth0.com/', audiences: ['CLIENT'] })] });
  new s3.Bucket(new Stack(app, 'Other'), 'Logs');
  app.synth();
  const report = await shipped.verifyIsolation(outdir);
  expect(report.holds).toBe(true);
  expect(report.roles).toEqual([expect.stringMatching(/^Files\/DelegationUserRole\w+$/)]);
});

test('what it cannot check rejects with an IsolationCheckError that says what to give', async () => {
  await expect(shipped.verifyIsolation({ Outputs: {} })).rejects.toThrow(shipped.IsolationCheckError);
  await expect(shipped.verifyIsolation({ Outputs: {} })).rejects.toThrow(/^verifyIsolation takes a synthesized template \(Template\.fromStack\(stack\)\.toJSON\(\)\)/);
  await expect(shipped.verifyIsolation({ Resources: {} })).rejects.toThrow(/^The template has no role that a SAML provider may assume/);
  await expect(shipped.verifyIsolation(join(tmpdir(), 'no-such-cdk.out'))).rejects.toThrow(/^Cannot read \S+no-such-cdk\.out: run "cdk synth" first/);
  const notJson = join(mkdtempSync(join(tmpdir(), 'verify-function-')), 'Bad.template.json');
  writeFileSync(notJson, '{');
  await expect(shipped.verifyIsolation(notJson)).rejects.toThrow(shipped.IsolationCheckError);
});
