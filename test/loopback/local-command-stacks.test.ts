import { execFile, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { nodeVersionProblem } from '../../local/cli';
import { resolveIntrinsics } from '../../local/cloudformation';
import { iamSimulateSearchPaths } from '../../local/iam-decisions';
import { parseServerArguments, startLocalServer, type RunningLocalServer } from '../../local/server';
import { JwtIssuer, TokenDelegation } from '../../src';
import { loadBundledHandler, withoutLogs } from '../support/handler-harness';

/**
 * The local command on a user's own stack, as `cdk synth` writes it: DynamoDB grants, named, imported and
 * cross-stack buckets and the stack's account as deployed; the cdk.out folder; the https lines it prints
 * with --tls; the command as packaged without the policy evaluator; and the Node.js it needs.
 */

function templateFile(name: string, content: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), 'local-command-')), name);
  writeFileSync(file, JSON.stringify(content));
  return file;
}

/** A Cognito user pool and an OIDC provider, each with its namespace. */
function twoIssuerTemplate(): unknown {
  const stack = new Stack(new App(), 'TwoIssuers');
  const userPool = new cognito.UserPool(stack, 'Pool');
  new TokenDelegation(stack, 'Files', {
    issuers: [
      JwtIssuer.cognito({ userPool, clients: [userPool.addClient('Web')], subjectNamespace: 'cognito' }),
      JwtIssuer.oidc({ issuerUrl: 'https://tenant.eu.auth0.com/', audiences: ['AUTH0_CLIENT'], subjectNamespace: 'auth0' }),
    ],
  });
  return Template.fromStack(stack).toJSON();
}

/** Starts the command in-process on `args` (the handler's log lines dropped). */
function start(args: readonly string[]): Promise<RunningLocalServer> {
  return startLocalServer(parseServerArguments([...args, '--port', '0']), (env) => withoutLogs(loadBundledHandler(env)));
}

/** Synthesizes an app into a fresh cloud assembly folder, as `cdk synth` writes cdk.out. */
function synthesizedApp(context: Record<string, string>, build: (app: App) => void): string {
  const outdir = mkdtempSync(join(tmpdir(), 'local-command-cdk.out-'));
  const app = new App({ outdir, context });
  build(app);
  app.synth();
  return outdir;
}

const issuer = () => JwtIssuer.oidc({ issuerUrl: 'https://tenant.eu.auth0.com/', audiences: ['AUTH0_CLIENT'] });

/** Signs `user` in at the dev token route and exchanges the token: the endpoint's answer. */
async function exchange(local: RunningLocalServer, user: string): Promise<Record<string, any>> {
  const { id_token: idToken } = await (await fetch(`${local.server.origin}/dev/token?sub=${user}`)).json() as { id_token: string };
  const response = await fetch(local.server.url, { method: 'POST', headers: { Authorization: `Bearer ${idToken}` } });
  expect(response.status).toBe(200);
  return response.json() as Promise<Record<string, any>>;
}

/** The table's rows: label and one decision per column. */
function tableRows(banner: string): string[][] {
  const [header, ...lines] = banner.slice(banner.indexOf('\nrequest ') + 1, banner.indexOf('\n\nIn a second terminal')).split('\n');
  const row = new RegExp(`^(.+?)${' {2,}(\\S+)'.repeat(header.split(/ {2,}/).length - 1)}$`);
  return lines.map((line) => row.exec(line)!.slice(1));
}

describe('DynamoDB grants in the table', () => {
  test('items of the user\'s own partition are allowed to the owner and no one else, for every action the role grants', async () => {
    const stack = new Stack(new App(), 'Items');
    const delegation = new TokenDelegation(stack, 'Files', { issuers: [issuer()] });
    const table = new dynamodb.Table(stack, 'Notes', { tableName: 'notes', partitionKey: { name: 'userId', type: dynamodb.AttributeType.STRING } });
    table.addGlobalSecondaryIndex({ indexName: 'byUserAndDate', partitionKey: { name: 'userId', type: dynamodb.AttributeType.STRING } });
    delegation.role.grantUserItems(table, { indexes: ['byUserAndDate'] });
    const local = await start(['--template', templateFile('Items.template.json', Template.fromStack(stack).toJSON())]);
    try {
      const rows = tableRows(local.banner).filter(([label]) => label.includes('table/notes'));
      expect(rows).toContainEqual(['GetItem      table/notes (partition alice)', 'allowed', 'denied']);
      expect(rows).toContainEqual(['GetItem      table/notes (partition bob)', 'denied', 'allowed']);
      expect(rows).toContainEqual(['PutItem      table/notes (partition alice)', 'allowed', 'denied']);
      expect(rows).toContainEqual(['Query        table/notes/index/byUserAndDate (partition bob)', 'denied', 'allowed']);
      // Every row: the partition's owner allowed, the other user denied.
      for (const [label, alice, bob] of rows) {
        expect({ label, alice, bob }).toEqual(label.endsWith('(partition alice)') ? { label, alice: 'allowed', bob: 'denied' } : { label, alice: 'denied', bob: 'allowed' });
      }
      expect(rows.length).toBeGreaterThanOrEqual(16);
    } finally {
      await local.close();
    }
  }, 60_000);
});

describe('the bucket as deployed', () => {
  test('an explicit bucketName is the loopback bucket\'s name, and the exchanged credentials reach the user\'s prefix in it', async () => {
    const stack = new Stack(new App(), 'Named');
    new TokenDelegation(stack, 'Files', { issuers: [issuer()], bucket: new s3.Bucket(stack, 'Data', { bucketName: 'my-app-user-files' }) });
    const local = await start(['--template', templateFile('Named.template.json', Template.fromStack(stack).toJSON())]);
    try {
      expect(local.banner).toMatch(/^Loopback S3: +http:\/\/127\.0\.0\.1:\d+ +\(path-style; bucket my-app-user-files;/m);
      const { Credentials: credentials } = await exchange(local, 'alice');
      const client = new S3Client({
        region: 'us-east-1',
        endpoint: local.testBed!.s3!.endpoint,
        forcePathStyle: true,
        maxAttempts: 1,
        credentials: { accessKeyId: credentials.AccessKeyId, secretAccessKey: credentials.SecretAccessKey, sessionToken: credentials.SessionToken },
      });
      await client.send(new PutObjectCommand({ Bucket: 'my-app-user-files', Key: 'users/alice/notes.txt', Body: 'hello' }));
      await expect(client.send(new PutObjectCommand({ Bucket: 'my-app-user-files', Key: 'users/bob/notes.txt', Body: 'hello' }))).rejects.toThrow(/Access Denied/);
      client.destroy();
    } finally {
      await local.close();
    }
  }, 60_000);

  test.each([
    ['by name', (stack: Stack) => s3.Bucket.fromBucketName(stack, 'Existing', 'existing-user-files'), 'existing-user-files'],
    ['by ARN', (stack: Stack) => s3.Bucket.fromBucketArn(stack, 'Existing', 'arn:aws:s3:::other-user-files'), 'other-user-files'],
  ])('a bucket imported %s is served and shown by its name, with the users\' prefixes in the table', async (_how, imported, name) => {
    const stack = new Stack(new App(), 'Imported');
    new TokenDelegation(stack, 'Files', { issuers: [issuer()], bucket: imported(stack) });
    const local = await start(['--template', templateFile('Imported.template.json', Template.fromStack(stack).toJSON())]);
    try {
      expect(local.testBed!.buckets.map((bucket) => bucket.name)).toEqual([name]);
      expect(local.banner).toContain(`(path-style; bucket ${name};`);
      expect(tableRows(local.banner).slice(0, 2)).toEqual([
        ['PutObject    users/alice/notes.txt', 'allowed', 'denied'],
        ['GetObject    users/alice/notes.txt', 'allowed', 'denied'],
      ]);
    } finally {
      await local.close();
    }
  }, 60_000);

  test.each([
    ['Fn::ImportValue', 'strong'],
    ['Fn::GetStackOutput', 'weak'],
  ])('a bucket of another stack of the app (%s) resolves, through the cloud assembly, to the name that stack gives it', async (reference, strength) => {
    const outdir = synthesizedApp({ '@aws-cdk/core:defaultCrossStackReferences': strength }, (app) => {
      const data = new Stack(app, 'Data');
      const bucket = new s3.Bucket(data, 'UserFiles');
      new TokenDelegation(new Stack(app, 'Api'), 'Files', { issuers: [issuer()], bucket });
    });
    const dataTemplate = JSON.parse(readFileSync(join(outdir, 'Data.template.json'), 'utf8'));
    const [bucketId] = Object.keys(dataTemplate.Resources).filter((id) => dataTemplate.Resources[id].Type === 'AWS::S3::Bucket');
    const name = resolveIntrinsics(dataTemplate, { Ref: bucketId }) as string;
    expect(readFileSync(join(outdir, 'Api.template.json'), 'utf8')).toContain(reference);
    const local = await start(['--template', outdir]);
    try {
      expect(local.banner).toMatch(/^Template: +\S+Api\.template\.json +\(stack Api, /m);
      expect(local.testBed!.buckets.map((bucket) => bucket.name)).toEqual([name]);
      expect(tableRows(local.banner)[0]).toEqual(['PutObject    users/alice/notes.txt', 'allowed', 'denied']);
    } finally {
      await local.close();
    }
  }, 60_000);
});

describe('the account', () => {
  test('a stack synthesized for an account resolves in it: the assumed role and the banner name it', async () => {
    const outdir = synthesizedApp({}, (app) => {
      new TokenDelegation(new Stack(app, 'Pinned', { env: { account: '111122223333', region: 'eu-west-2' } }), 'Files', { issuers: [issuer()] });
    });
    const local = await start(['--template', join(outdir, 'Pinned.template.json')]);
    try {
      expect(local.banner).toMatch(/^Template: +\S+Pinned\.template\.json +\(stack Pinned, account 111122223333, region eu-west-2\)$/m);
      const answer = await exchange(local, 'alice');
      expect(answer.AssumedRoleUser.Arn).toMatch(/^arn:aws:sts::111122223333:assumed-role\/FilesUserRole\w+\/alice$/);
    } finally {
      await local.close();
    }
  }, 60_000);

  test('an environment-agnostic stack says that its account is a stand-in', async () => {
    const local = await start(['--template', templateFile('TwoIssuers.template.json', twoIssuerTemplate())]);
    try {
      expect(local.banner).toMatch(/^Template: +\S+TwoIssuers\.template\.json +\(stack TwoIssuers, account 123456789012 \(a stand-in: the stack names none\), region us-east-1\)$/m);
    } finally {
      await local.close();
    }
  }, 60_000);
});

describe('--template takes the cdk.out folder', () => {
  test('with one stack that has an endpoint, beside others, it serves that one', async () => {
    const outdir = synthesizedApp({}, (app) => {
      new s3.Bucket(new Stack(app, 'Storage'), 'Logs');
      new TokenDelegation(new Stack(app, 'Web'), 'Files', { issuers: [issuer()] });
    });
    const local = await start(['--template', outdir]);
    try {
      expect(local.banner).toMatch(/^Template: +\S+Web\.template\.json +\(stack Web, /m);
      expect(local.sessions.map((session) => session.subject)).toEqual(['alice', 'bob']);
    } finally {
      await local.close();
    }
  }, 60_000);

  test('beside a stack with nothing in it (a template without Resources)', async () => {
    const outdir = synthesizedApp({}, (app) => {
      new Stack(app, 'Empty');
      new TokenDelegation(new Stack(app, 'Web'), 'Files', { issuers: [issuer()] });
    });
    const local = await start(['--template', outdir, '--once']);
    try {
      expect(local.banner).toMatch(/^Template: +\S+Web\.template\.json +\(stack Web, /m);
    } finally {
      await local.close();
    }
  }, 60_000);

  test('with several stacks that have one, it lists them with the --template that picks each', async () => {
    const outdir = synthesizedApp({}, (app) => {
      new TokenDelegation(new Stack(app, 'Staging'), 'Files', { issuers: [issuer()] });
      new TokenDelegation(new Stack(app, 'Production'), 'Files', { issuers: [issuer()] });
      new s3.Bucket(new Stack(app, 'Storage'), 'Logs');
    });
    const failure = await start(['--template', outdir]).then(() => undefined, (error: Error) => error.message);
    expect(failure).toBe(`2 stacks in ${outdir} have a delegation endpoint; choose one with --template:\n`
      + `  --template ${join(outdir, 'Staging.template.json')}    (Staging)\n`
      + `  --template ${join(outdir, 'Production.template.json')}    (Production)`);
  });

  test('with no stack that has one, it names the stacks it found', async () => {
    const outdir = synthesizedApp({}, (app) => {
      new s3.Bucket(new Stack(app, 'Storage'), 'Logs');
    });
    await expect(start(['--template', outdir])).rejects.toThrow(`No stack in ${outdir} has a delegation endpoint (a TokenDelegation or DelegationEndpoint); its stacks are: Storage`);
  });

  test('a folder that is not there says to synthesize first', async () => {
    await expect(start(['--template', join(tmpdir(), 'no-such-cdk.out')])).rejects.toThrow(/^Cannot read \S+no-such-cdk\.out: run "cdk synth" first/);
  });
});

describe('--tls', () => {
  test('the commands it prints are https with its certificate, and pasted into a shell they exchange a token for credentials', async () => {
    const local = await start(['--template', templateFile('TwoIssuers.template.json', twoIssuerTemplate()), '--tls']);
    try {
      const lines = local.banner.slice(local.banner.indexOf('In a second terminal:\n') + 'In a second terminal:\n'.length).split('\n');
      expect(lines.every((line) => !line.includes('http://'))).toBe(true);
      expect(lines.filter((line) => line.includes('curl ')).every((line) => line.includes(`--cacert ${local.tls!.certificateFile} `))).toBe(true);
      const script = lines.map((line) => line.replace(/^ {2}/, '')).join('\n');
      // Not spawnSync: the server answers from this very process.
      const shell = await promisify(execFile)('bash', ['-euo', 'pipefail', '-c', script], {
        encoding: 'utf8', timeout: 60_000, env: { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH}` },
      });
      expect(shell.stderr).toBe('');
      const answers = shell.stdout.trim().split(/\n(?=\{)/).map((text) => JSON.parse(text) as Record<string, any>);
      expect(answers.map((answer) => [answer.Subject, /^ASIA[A-Z2-7]{16}$/.test(answer.Credentials.AccessKeyId)])).toEqual([['cognito:alice', true], ['cognito:alice', true]]);
    } finally {
      await local.close();
    }
  }, 60_000);
});

describe('without the policy evaluator (iam-simulate) installed', () => {
  test('the command as packaged still serves the exchange, and says how to get the table with the same arguments', () => {
    // The package's own layout (assets/cli beside assets/lambda), where no node_modules holds iam-simulate.
    const installed = mkdtempSync(join(tmpdir(), 'local-command-package-'));
    cpSync(join(__dirname, '..', '..', 'assets'), join(installed, 'assets'), { recursive: true });
    const file = templateFile('TwoIssuers.template.json', twoIssuerTemplate());
    const path = (process.env.PATH ?? '').split(delimiter).filter((entry) => !entry.includes('node_modules')).join(delimiter);
    const run = spawnSync(process.execPath, [join(installed, 'assets', 'cli', 'index.js'), 'local', '--template', file, '--port', '0', '--claim', 'note=it\'s mine', '--once'], {
      cwd: installed, encoding: 'utf8', timeout: 60_000, env: { ...process.env, PATH: path, NODE_PATH: '' },
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^alice +signed in at issuer 0 -> HTTP 200, role FilesUserRole\w+, saml:sub = cognito:alice$/m);
    expect(run.stdout).toMatch(/^bob +signed in at issuer 1 -> HTTP 200, role FilesUserRole\w+, saml:sub = auth0:bob$/m);
    expect(run.stdout).toContain('(roles: ');
    expect(run.stdout).toContain('; trust policies not evaluated without iam-simulate)');
    expect(run.stdout).toMatch(/^Loopback S3: +not started: it decides each request with iam-simulate/m);
    expect(run.stdout).not.toContain('\nrequest ');
    expect(run.stdout).toContain('No permission table: it evaluates your policies with @cloud-copilot/iam-simulate, which is licensed AGPL-3.0');
    expect(run.stdout).toContain(`\n  npx --yes -p @cloud-copilot/iam-simulate cdk-token-delegation local --template ${file} --port 0 --claim 'note=it'\\''s mine' --once\n`);
    expect(run.stdout).toContain('or add it to your app (npm install --save-dev @cloud-copilot/iam-simulate) and run this command again.');
  }, 60_000);

  test('it is also found where npx -p puts it: a package folder whose node_modules/.bin is on PATH', () => {
    expect(iamSimulateSearchPaths('/work/app', ['/usr/bin', '/home/u/.npm/_npx/abc/node_modules/.bin', '/work/app/node_modules/.bin'].join(delimiter)))
      .toEqual(['/work/app', '/home/u/.npm/_npx/abc']);
  });
});

describe('the Node.js it runs on', () => {
  test.each([['20.20.2'], ['v18.19.0']])('Node.js %s is refused with the version it needs', (version) => {
    expect(nodeVersionProblem(version)).toBe(`cdk-token-delegation needs Node.js 22 or newer; this is Node.js ${version.replace(/^v/, '')}. `
      + 'Install Node.js 22 or newer (node --version shows which runs) and run the command again.');
  });

  test.each([['22.0.0'], ['24.11.1']])('Node.js %s is accepted', (version) => {
    expect(nodeVersionProblem(version)).toBeUndefined();
  });
});
