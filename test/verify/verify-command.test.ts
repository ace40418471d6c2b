import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { App, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { COMMANDS } from '../../local/cli';
import { parseVerifyArguments, runVerifyCommand, VERIFY_USAGE, verifyEvaluatorAdvice } from '../../local/verify-command';
import { JwtIssuer, TokenDelegation } from '../../src';

/**
 * `cdk-token-delegation verify` as a developer and CI run it: on a cdk.out folder or a template file, exit 0
 * with a one-line summary when isolation holds, 1 with each breach when it does not, 2 when it cannot check;
 * its --help; and, as packaged, without the policy evaluator, a line to paste.
 */

const CLI = join(__dirname, '..', '..', 'assets', 'cli', 'index.js');
const issuer = () => JwtIssuer.oidc({ issuerUrl: 'https://tenant.eu.auth0.com/', audiences: ['CLIENT'] });

/** Synthesizes an app into a fresh cloud assembly folder, as `cdk synth` writes cdk.out. */
function synthesized(build: (app: App) => void): string {
  const outdir = mkdtempSync(join(tmpdir(), 'verify-cdk.out-'));
  const app = new App({ outdir });
  build(app);
  app.synth();
  return outdir;
}

/** A user's stack: their data bucket and a notes table, with `grant` added to the delegation role. */
function userApp(grant: (delegation: TokenDelegation, bucket: s3.Bucket, table: dynamodb.Table) => void = () => undefined): (app: App) => void {
  return (app) => {
    const stack = new Stack(app, 'Files', { env: { account: '111122223333', region: 'eu-west-1' } });
    const bucket = new s3.Bucket(stack, 'Data');
    const delegation = new TokenDelegation(stack, 'Delegation', { issuers: [issuer()], bucket });
    const table = new dynamodb.Table(stack, 'Notes', { tableName: 'notes', partitionKey: { name: 'userId', type: dynamodb.AttributeType.STRING } });
    delegation.role.grantUserItems(table);
    grant(delegation, bucket, table);
  };
}

/** Runs the command in-process: its exit status and what it printed. */
async function verify(args: readonly string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (chunk: Buffer) => { stdout += chunk.toString('utf8'); });
  err.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8'); });
  const status = await runVerifyCommand(args, out, err);
  return { status, stdout, stderr };
}

describe('exit status and output', () => {
  test('a cdk.out folder whose stack keeps each user to their own data: exit 0 and one line with the decisions and actions', async () => {
    const result = await verify(['--template', synthesized(userApp())]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^Per-user isolation holds: no user reaches another user's data in [\d,]+ decisions \(315 actions of s3, dynamodb, kms; 1 role; 5 users; [\d,]+ asked of the policy evaluator, the others are of actions no statement allows; [\d.]+ s\)\.\n$/);
  });

  test('a template file with bucket.grantRead(role): exit 1, each breach with its statement and fix', async () => {
    const outdir = synthesized(userApp((delegation, bucket) => bucket.grantRead(delegation.role)));
    const result = await verify(['--template', join(outdir, 'Files.template.json')]);
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/^Per-user isolation is broken: [\d,]+ of [\d,]+ decisions let a user reach data that is not theirs/);
    expect(result.stdout).toMatch(/^Allowed to Files\/DelegationUserRole\w+ by DelegationUserRoleDefaultPolicy\w+, statement \d+ \(no Sid\): Allow s3:GetObject\*, s3:GetBucket\*, s3:List\* on \$\{Data\w+\.Arn\}, \$\{Data\w+\.Arn\}\/\*$/m);
    expect(result.stdout).toMatch(/^ {2}fix: Give per-user access with role\.grantUserPrefix\(bucket, \{ prefix \}\)/m);
    expect(result.stdout).toMatch(/^ {2}s3:GetObject arn:aws:s3:::data\w+\/users\/al\/notes\.txt: al's object, as alice$/m);
    expect(result.stdout).toMatch(/^ {4}and \d+ more requests of s3:GetObject \(--all lists them\)$/m);
    const all = await verify(['--template', join(outdir, 'Files.template.json'), '--all']);
    expect(all.stdout).not.toContain('--all lists them');
    expect(all.stdout).toMatch(/^ {2}s3:GetObject arn:aws:s3:::data\w+\/users\/alice\.b\/notes\.txt: alice\.b's object, as alice$/m);
  });

  test('table.grantReadData(role): exit 1; declared with --shared-table, exit 0 and reported as shared', async () => {
    const outdir = synthesized(userApp((delegation, _bucket, table) => table.grantReadData(delegation.role)));
    const broken = await verify(['--template', outdir]);
    expect(broken.status).toBe(1);
    expect(broken.stdout).toMatch(/^ {2}fix: Give per-user access with role\.grantUserItems\(table\)/m);
    const shared = await verify(['--template', outdir, '--shared-table', 'notes']);
    expect(shared.status).toBe(0);
    expect(shared.stdout).toMatch(/^Per-user isolation holds: /);
    expect(shared.stdout).toMatch(/^Shared on purpose \(declared\): \d+ decisions let users reach data declared shared\.$/m);
    expect(shared.stdout).toMatch(/^ {2}dynamodb:Scan arn:aws:dynamodb:eu-west-1:111122223333:table\/notes: all of table notes \(no leading key\), as alice$/m);
  });

  test('--json prints the report', async () => {
    const result = await verify(['--template', synthesized(userApp()), '--json']);
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(expect.objectContaining({ holds: true, actions: 315, breaches: [], roles: [expect.stringMatching(/^Files\/DelegationUserRole\w+$/)] }));
  });

  test('every stack of a cdk.out folder with a delegation role is checked', async () => {
    const outdir = synthesized((app) => {
      userApp()(app);
      const other = new Stack(app, 'Photos');
      new TokenDelegation(other, 'Delegation', { issuers: [issuer()] });
      new Stack(app, 'Unrelated').node.addMetadata('note', 'no delegation role here');
    });
    const result = await verify(['--template', outdir, '--json']);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout).roles).toEqual([expect.stringMatching(/^Files\/DelegationUserRole\w+$/), expect.stringMatching(/^Photos\/DelegationUserRole\w+$/)]);
  });
});

describe('what it cannot check: exit 2 and a sentence', () => {
  test.each<[string, string[], RegExp]>([
    ['no --template', [], /^Give --template cdk\.out/],
    ['an unknown argument', ['--template', 'cdk.out', '--shared'], /^Unknown argument --shared/],
    ['a flag without its value', ['--template'], /^--template needs a value/],
    ['a shared prefix with a wildcard', ['--template', 'cdk.out', '--shared-prefix', 'public/*'], /^--shared-prefix takes a key prefix as S3 writes it/],
  ])('%s: the usage', async (_name, args, message) => {
    const result = await verify(args);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toContain(VERIFY_USAGE);
  });

  test('a template that is not there', async () => {
    const result = await verify(['--template', join(tmpdir(), 'no-such-cdk.out', 'Stack.template.json')]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^cdk-token-delegation verify: Cannot read .*Stack\.template\.json: run "cdk synth" first/);
  });

  test('a cdk.out folder without a delegation role names its stacks', async () => {
    const outdir = synthesized((app) => new s3.Bucket(new Stack(app, 'JustABucket'), 'Data'));
    const result = await verify(['--template', outdir]);
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(`cdk-token-delegation verify: No stack in ${outdir} has a role that a SAML provider may assume (a DelegationRole, or the role of a TokenDelegation); its stacks are: JustABucket\n`);
  });

  test('a template that is not JSON', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'verify-')), 'Bad.template.json');
    writeFileSync(file, '{"Resources":');
    const result = await verify(['--template', file]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('is not JSON: give the synthesized template');
  });

  test('a shared table the stack does not have', async () => {
    const result = await verify(['--template', synthesized(userApp()), '--shared-table', 'Lookup']);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^cdk-token-delegation verify: The shared table Lookup is neither a logical id nor a name of a table of the template; its tables are: Notes[0-9A-F]{8}\n$/);
  });
});

describe('--help', () => {
  test('the command list names verify, and verify --help documents its flags and exit statuses', async () => {
    expect(COMMANDS).toMatch(/^ {2}verify +check that each signed-in user reaches only their own data/m);
    const help = await verify(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toBe(VERIFY_USAGE);
    for (const flag of ['--template <path>', '--shared-prefix <p>', '--shared-bucket <b>', '--shared-table <t>', '--all', '--json']) {
      expect(VERIFY_USAGE).toContain(flag);
    }
    expect(VERIFY_USAGE).toContain('Exit status: 0 when isolation holds, 1 when a user can reach data that is not theirs, 2 when the check');
    expect(parseVerifyArguments(['-h']).help).toBe(true);
  });

  test('the bundled command prints them too', () => {
    const list = spawnSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' });
    expect([list.status, list.stdout]).toEqual([0, COMMANDS]);
    const help = spawnSync(process.execPath, [CLI, 'verify', '--help'], { encoding: 'utf8' });
    expect([help.status, help.stdout]).toEqual([0, VERIFY_USAGE]);
  });
});

describe('as packaged, without the policy evaluator (iam-simulate) installed', () => {
  test('exit 2, and the same command with the evaluator to paste', () => {
    // The package's own layout, where no node_modules holds iam-simulate.
    const installed = mkdtempSync(join(tmpdir(), 'verify-package-'));
    cpSync(join(__dirname, '..', '..', 'assets'), join(installed, 'assets'), { recursive: true });
    const outdir = synthesized(userApp());
    const path = (process.env.PATH ?? '').split(delimiter).filter((entry) => !entry.includes('node_modules')).join(delimiter);
    const run = spawnSync(process.execPath, [join(installed, 'assets', 'cli', 'index.js'), 'verify', '--template', outdir, '--shared-prefix', 'public files/'], {
      cwd: installed, encoding: 'utf8', timeout: 60_000, env: { ...process.env, PATH: path, NODE_PATH: '' },
    });
    expect(run.stdout).toBe('');
    expect(run.status).toBe(2);
    expect(run.stderr).toBe(`${verifyEvaluatorAdvice(['--template', outdir, '--shared-prefix', 'public files/'])}\n`);
    expect(run.stderr).toContain(`\n  npx --yes -p @cloud-copilot/iam-simulate cdk-token-delegation verify --template ${outdir} --shared-prefix 'public files/'\n`);
    expect(run.stderr).toContain('or add it to your app (npm install --save-dev @cloud-copilot/iam-simulate) and run this command again.');
  });
});
