import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Template as TemplateJson } from '../../local/cloudformation';
import { exampleStackTemplate } from '../../local/example-template';
import { checkTemplate, formatIsolationReport, IsolationCheckError, type IsolationFinding, type IsolationReport, type SharedData } from '../../local/isolation';
import { DelegationIdentityProvider, DelegationRole, JwtIssuer, TokenDelegation } from '../../src';

/**
 * The isolation check on whole synthesized stacks: the example app and a user's own stack (a bucket with its
 * own KMS key, a table with an index and a stream) hold; each common mistake is found, named by the
 * statement that allows it, with its fix; declared sharing is reported as shared; and what the check
 * cannot run on is refused with a sentence.
 */

const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';

interface UserStack {
  readonly stack: Stack;
  readonly delegation: TokenDelegation;
  readonly bucket: s3.Bucket;
  readonly table: dynamodb.Table;
  readonly key: kms.Key;
}

/** A user's own stack: SSE-KMS bucket with S3 Bucket Keys, a table with an index and a stream under the same key, and our per-user grants. */
function userStack(change: (parts: UserStack) => void = () => undefined): TemplateJson {
  const stack = new Stack(new App(), 'UserStack', { env: { account: ACCOUNT, region: REGION } });
  const key = new kms.Key(stack, 'DataKey');
  const bucket = new s3.Bucket(stack, 'Data', { encryptionKey: key, bucketKeyEnabled: true, enforceSSL: true });
  const delegation = new TokenDelegation(stack, 'Files', { issuers: [JwtIssuer.oidc({ issuerUrl: 'https://tenant.eu.auth0.com/', audiences: ['CLIENT'] })], bucket });
  const table = new dynamodb.Table(stack, 'Notes', {
    partitionKey: { name: 'userId', type: dynamodb.AttributeType.STRING },
    sortKey: { name: 'noteId', type: dynamodb.AttributeType.STRING },
    stream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
    encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
    encryptionKey: key,
  });
  table.addGlobalSecondaryIndex({ indexName: 'byDate', partitionKey: { name: 'userId', type: dynamodb.AttributeType.STRING }, sortKey: { name: 'date', type: dynamodb.AttributeType.STRING } });
  delegation.role.grantUserItems(table, { indexes: ['byDate'] });
  change({ stack, delegation, bucket, table, key });
  return Template.fromStack(stack).toJSON() as TemplateJson;
}

function check(template: TemplateJson, shared: SharedData = {}): Promise<IsolationReport> {
  return checkTemplate(template, { accountId: ACCOUNT, region: REGION }, shared);
}

/** The breaches of `action`, as (session, resource, context) triples. */
function breachesOf(report: IsolationReport, action: string): IsolationFinding[] {
  return report.breaches.filter((breach) => breach.action === action);
}

describe('stacks with only our grants hold', () => {
  test('the example app: every action of S3, DynamoDB and KMS, and the owner keeps their own', async () => {
    const report = await checkTemplate(exampleStackTemplate(), {});
    expect(report.holds).toBe(true);
    expect(report.breaches).toEqual([]);
    expect(report.services).toEqual(['s3', 'dynamodb', 'kms']);
    expect(report.actions).toBe(315);
    expect(report.subjects).toEqual(['alice', 'al', 'alice.b', 'a-l_i=c,e@x', 'corp:alice']);
    expect(report.roles).toEqual([expect.stringMatching(/^DelegationUserRole[0-9A-F]{8}$/)]);
    expect(report.decisions).toBeGreaterThan(7000);
    // Each user gets, puts and lists their own folder: the probes reach the resources the grants name.
    expect(report.own.allowed).toBeGreaterThanOrEqual(5 * 4);
    expect(formatIsolationReport(report)).toMatch(/^Per-user isolation holds: no user reaches another user's data in [\d,]+ decisions \(315 actions of s3, dynamodb, kms; 1 role; 5 users; [\d,]+ asked of the policy evaluator, the others are of actions no statement allows; [\d.]+ s\)\.$/);
  });

  test('a user\'s stack with an SSE-KMS bucket and a table with an index and a stream under the same key', async () => {
    const report = await check(userStack());
    expect(report.breaches).toEqual([]);
    expect(report.holds).toBe(true);
    expect(report.decisions).toBeGreaterThan(8000);
    // Their own items, through the table and its index, and their own objects.
    expect(report.own.allowed).toBeGreaterThanOrEqual(5 * 8);
  });
});

test('asking the evaluator only about actions some statement covers gives the same answers as asking about every one', async () => {
  const template = userStack(({ delegation, bucket, table }) => {
    bucket.grantRead(delegation.role);
    table.grantReadData(delegation.role);
  });
  const quick = await check(template);
  const full = await checkTemplate(template, { accountId: ACCOUNT, region: REGION }, { skipUncoveredActions: false });
  expect(quick.breaches.length).toBeGreaterThan(1000);
  expect(quick.breaches).toEqual(full.breaches);
  expect([quick.decisions, quick.own]).toEqual([full.decisions, full.own]);
});

describe('each common mistake is found, with the statement that allows it and the fix', () => {
  test('bucket.grantRead(role): other users\' objects, the whole listing, the bucket itself, and its key called directly', async () => {
    const report = await check(userStack(({ delegation, bucket }) => bucket.grantRead(delegation.role)));
    expect(report.holds).toBe(false);
    const objects = breachesOf(report, 's3:GetObject');
    expect(objects).toContainEqual(expect.objectContaining({ subject: 'alice', resource: expect.stringMatching(/^arn:aws:s3:::data\w+\/users\/al\/notes\.txt$/), reaches: 'al\'s object' }));
    const [statement] = objects[0].allowedBy;
    expect(statement).toEqual({
      policy: expect.stringMatching(/^FilesUserRoleDefaultPolicy[0-9A-F]{8}$/),
      index: expect.any(Number),
      text: expect.stringMatching(/^Allow s3:GetObject\*, s3:GetBucket\*, s3:List\* on \$\{Data\w+\.Arn\}, \$\{Data\w+\.Arn\}\/\*$/),
    });
    expect(objects[0].fix).toContain('role.grantUserPrefix(bucket');
    expect(breachesOf(report, 's3:ListBucket')).toContainEqual(expect.objectContaining({ context: undefined, reaches: 'the bucket\'s whole listing (no prefix)' }));
    expect(breachesOf(report, 's3:ListBucket')[0].fix).toContain('s3:prefix');
    expect(breachesOf(report, 's3:GetBucketPolicy')).not.toEqual([]);
    const decrypt = breachesOf(report, 'kms:Decrypt');
    expect(decrypt).toContainEqual(expect.objectContaining({ reaches: 'the key, called directly' }));
    expect(decrypt[0].fix).toContain('kms:ViaService');
    // s3:List* on the bucket does not grant the account-wide s3:ListAllMyBuckets (it takes "*" only).
    expect(breachesOf(report, 's3:ListAllMyBuckets')).toEqual([]);
    expect(formatIsolationReport(report)).toMatch(/^Per-user isolation is broken: [\d,]+ of [\d,]+ decisions let a user reach data that is not theirs/);
    expect(formatIsolationReport(report)).toMatch(/^Allowed to FilesUserRole\w+ by FilesUserRoleDefaultPolicy\w+, statement \d+ \(no Sid\): Allow s3:GetObject\*/m);
    expect(formatIsolationReport(report)).toMatch(/^ {2}s3:GetObject arn:aws:s3:::data\w+\/users\/al\/notes\.txt: al's object, as alice$/m);
  });

  test('table.grantReadData(role): other partitions, mixed batches, the index and a scan', async () => {
    const report = await check(userStack(({ delegation, table }) => table.grantReadData(delegation.role)));
    expect(report.holds).toBe(false);
    const gets = breachesOf(report, 'dynamodb:GetItem').filter((breach) => breach.subject === 'alice');
    expect(gets.map((breach) => breach.context?.['dynamodb:LeadingKeys'])).toEqual(expect.arrayContaining([['al'], ['alice', 'al'], ['corp:alice', 'alice']]));
    expect(gets[0].allowedBy[0].text).toMatch(/^Allow dynamodb:BatchGetItem, .*dynamodb:GetItem, dynamodb:Scan, .* on \$\{Notes\w+\.Arn\}, \$\{Notes\w+\.Arn\}\/index\/\*$/);
    expect(gets[0].fix).toContain('role.grantUserItems(table)');
    expect(breachesOf(report, 'dynamodb:Query')).toContainEqual(expect.objectContaining({ resource: expect.stringMatching(/\/index\/byDate$/) }));
    expect(breachesOf(report, 'dynamodb:Scan')).toContainEqual(expect.objectContaining({ reaches: expect.stringMatching(/^all of table Notes\w+ \(no leading key\)$/) }));
    // Its key grant too: the table's key is the bucket's.
    expect(breachesOf(report, 'kms:Decrypt')).not.toEqual([]);
  });

  test('table.grantStreamRead(role): the stream carries every user\'s changes', async () => {
    const report = await check(userStack(({ delegation, table }) => table.grantStreamRead(delegation.role)));
    const records = breachesOf(report, 'dynamodb:GetRecords').filter((breach) => breach.resource.includes('/stream/'));
    expect(records).not.toEqual([]);
    expect(records[0].fix).toMatch(/^A stream carries every user's changes/);
  });

  test('a hand-written s3:GetObject on users/*, named by its Sid', async () => {
    const report = await check(userStack(({ delegation, bucket }) => delegation.role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ReadEveryFolder', actions: ['s3:GetObject'], resources: [bucket.arnForObjects('users/*')],
    }))));
    expect(report.holds).toBe(false);
    expect(new Set(report.breaches.map((breach) => breach.action))).toEqual(new Set(['s3:GetObject']));
    expect(report.breaches.map((breach) => breach.allowedBy)).toContainEqual([expect.objectContaining({ sid: 'ReadEveryFolder', text: expect.stringMatching(/^Allow s3:GetObject on \$\{Data\w+\.Arn\}\/users\/\*$/) })]);
    expect(formatIsolationReport(report)).toContain('(Sid ReadEveryFolder)');
  });

  test('users/${saml:sub}* without the \'/\': al reaches alice\'s folder and alice reaches alice.b\'s', async () => {
    const report = await check(userStack(({ delegation, bucket }) => delegation.role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['s3:GetObject'], resources: [bucket.arnForObjects('users/${saml:sub}*')],
    }))));
    expect(report.holds).toBe(false);
    const reached = report.breaches.map((breach) => `${breach.subject} -> ${breach.resource.replace(/^arn:aws:s3:::data\w+\//, '')}`);
    expect(reached).toEqual(expect.arrayContaining(['al -> users/alice/notes.txt', 'alice -> users/alice.b/notes.txt', 'alice -> users/alicex/notes.txt']));
    expect(report.breaches[0].fix).toMatch(/^End the per-user folder with '\/' after \$\{saml:sub\}/);
  });

  test('kms:Decrypt on the bucket\'s key without kms:ViaService: called directly, it decrypts any user\'s object', async () => {
    const report = await check(userStack(({ delegation, key }) => delegation.role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['kms:Decrypt'], resources: [key.keyArn],
    }))));
    expect(report.holds).toBe(false);
    expect(new Set(report.breaches.map((breach) => breach.action))).toEqual(new Set(['kms:Decrypt']));
    expect(report.breaches[0].allowedBy[0].text).toMatch(/^Allow kms:Decrypt on \$\{DataKey\w+\.Arn\}$/);
    expect(report.breaches[0].fix).toMatch(/^Condition the key grant on kms:ViaService/);
  });

  test('a bucket policy that grants the role is named as the statement that allows it', async () => {
    const report = await check(userStack(({ delegation, bucket }) => bucket.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'TheRoleReadsEverything', principals: [delegation.role], actions: ['s3:GetObject'], resources: [bucket.arnForObjects('*')],
    }))));
    expect(report.holds).toBe(false);
    expect(report.breaches[0].allowedBy).toEqual([expect.objectContaining({ policy: expect.stringMatching(/^DataPolicy\w+$/), sid: 'TheRoleReadsEverything' })]);
  });

  test('an account-wide action needs a statement on "*"', async () => {
    const report = await check(userStack(({ delegation }) => delegation.role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['s3:ListAllMyBuckets'], resources: ['*'],
    }))));
    expect(report.breaches.map((breach) => [breach.action, breach.resource, breach.reaches])).toContainEqual(['s3:ListAllMyBuckets', '*', 'the account\'s S3 as a whole']);
    expect(report.breaches[0].fix).toMatch(/needs no account-wide s3 action/);
  });
});

describe('what the template also says', () => {
  test('a permissions boundary in the template is applied: it keeps bucket.grantRead(role) to each user\'s own folder', async () => {
    const stack = new Stack(new App(), 'Bounded', { env: { account: ACCOUNT, region: REGION } });
    const bucket = new s3.Bucket(stack, 'Data');
    const boundary = new iam.ManagedPolicy(stack, 'OwnFolderOnly', {
      statements: [new iam.PolicyStatement({ actions: ['s3:GetObject', 's3:PutObject'], resources: [bucket.arnForObjects('users/${saml:sub}/*')] })],
    });
    const role = new DelegationRole(stack, 'Users', { identityProvider: new DelegationIdentityProvider(stack, 'Idp'), permissionsBoundary: boundary });
    role.grantUserPrefix(bucket);
    bucket.grantRead(role);
    const bounded = await check(Template.fromStack(stack).toJSON() as TemplateJson);
    expect(bounded.breaches).toEqual([]);
    expect(bounded.own.allowed).toBeGreaterThan(0);
  });

  test('grants of another service are judged where they are per user, and noted where they reach every user alike', async () => {
    const report = await check(userStack(({ stack, delegation }) => {
      delegation.role.addToPrincipalPolicy(new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'], resources: [stack.formatArn({ service: 'secretsmanager', resource: 'secret', resourceName: 'users/${saml:sub}/*', arnFormat: 1 as any })],
      }));
      delegation.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [`arn:aws:sqs:${REGION}:${ACCOUNT}:uploads`] }));
    }));
    expect(report.holds).toBe(true);
    expect(report.services).toEqual(['s3', 'dynamodb', 'kms', 'secretsmanager']);
    expect(report.notes).toContain(`sqs:SendMessage on arn:aws:sqs:${REGION}:${ACCOUNT}:uploads reaches every signed-in user alike: the check judges only per-user resources (with \${saml:sub}) of services other than s3, dynamodb, kms.`);
  });

  test('a managed policy outside the template is noted as not evaluated', async () => {
    const report = await check(userStack(({ delegation }) => delegation.role.addManagedPolicy(iam.ManagedPolicy.fromAwsManagedPolicyName('ReadOnlyAccess'))));
    expect(report.notes).toContainEqual(expect.stringMatching(/the managed policy arn:aws:iam::aws:policy\/ReadOnlyAccess is not in the template, so it was not evaluated/));
  });
});

describe('declared sharing is reported as shared, not as a breach', () => {
  const publicPrefix = ({ delegation, bucket }: UserStack) => {
    delegation.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [bucket.arnForObjects('public/*')] }));
    delegation.role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['s3:ListBucket'], resources: [bucket.bucketArn], conditions: { StringLike: { 's3:prefix': ['public/', 'public/*'] } },
    }));
  };

  test('a public prefix reaches no user\'s folder; declared, its requests are reported as shared', async () => {
    const undeclared = await check(userStack(publicPrefix));
    expect(undeclared.breaches).toEqual([]);
    expect(undeclared.shared).toEqual([]);
    const declared = await check(userStack(publicPrefix), { sharedPrefixes: ['public/'] });
    expect(declared.breaches).toEqual([]);
    expect(declared.holds).toBe(true);
    expect(declared.shared.map((finding) => [finding.action, finding.reaches])).toEqual(expect.arrayContaining([
      ['s3:GetObject', 'an object under the shared prefix public/'],
      ['s3:ListBucket', 'the listing of the shared prefix public/'],
    ]));
    expect(formatIsolationReport(declared)).toMatch(/^Per-user isolation holds: /);
    expect(formatIsolationReport(declared)).toMatch(/^Shared on purpose \(declared\): \d+ decisions let users reach data declared shared\.$/m);
  });

  test('declaring a prefix shared does not excuse a grant that also reaches the users\' folders', async () => {
    const report = await check(userStack(({ delegation, bucket }) => delegation.role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['s3:GetObject'], resources: [bucket.arnForObjects('*')],
    }))), { sharedPrefixes: ['public/'] });
    expect(report.holds).toBe(false);
    expect(report.breaches.map((breach) => breach.reaches)).toContain('al\'s object');
    expect(report.shared.map((finding) => finding.reaches)).toContain('an object under the shared prefix public/');
  });

  test('a shared lookup table, by logical id or by name, and a shared bucket', async () => {
    const template = userStack((parts) => {
      const table = new dynamodb.Table(parts.stack, 'Lookup', { tableName: 'lookup', partitionKey: { name: 'code', type: dynamodb.AttributeType.STRING } });
      table.grantReadData(parts.delegation.role);
    });
    expect((await check(template)).holds).toBe(false);
    const logicalId = Object.keys(template.Resources).find((id) => id.startsWith('Lookup'))!;
    for (const declared of [logicalId, 'lookup']) {
      const report = await check(template, { sharedTables: [declared] });
      expect([declared, report.breaches]).toEqual([declared, []]);
      expect(report.shared.some((finding) => finding.action === 'dynamodb:Scan')).toBe(true);
    }
    const assets = userStack((parts) => new s3.Bucket(parts.stack, 'Assets', { bucketName: 'app-assets' }).grantRead(parts.delegation.role));
    expect((await check(assets)).holds).toBe(false);
    expect((await check(assets, { sharedBuckets: ['app-assets'] })).breaches).toEqual([]);
  });

  test('declaring another bucket shared does not excuse grants on the users\' bucket', async () => {
    const report = await check(userStack(({ stack, delegation, bucket }) => {
      new s3.Bucket(stack, 'Assets', { bucketName: 'app-assets' }).grantRead(delegation.role);
      bucket.grantRead(delegation.role);
    }), { sharedBuckets: ['app-assets'] });
    expect(report.holds).toBe(false);
    expect(report.breaches.every((breach) => !breach.resource.includes('app-assets'))).toBe(true);
  });
});

describe('what the check refuses, with a sentence', () => {
  test('a template without a role a SAML provider may assume', async () => {
    const stack = new Stack(new App(), 'Plain');
    new s3.Bucket(stack, 'Data');
    await expect(checkTemplate(Template.fromStack(stack).toJSON() as TemplateJson, {})).rejects.toThrow(IsolationCheckError);
    await expect(checkTemplate(Template.fromStack(stack).toJSON() as TemplateJson, {}))
      .rejects.toThrow('The template has no role that a SAML provider may assume (a DelegationRole, or the role of a TokenDelegation): nothing to check');
  });

  test('a shared table or bucket the template does not have', async () => {
    await expect(check(userStack(), { sharedTables: ['Nope'] })).rejects.toThrow(/^The shared table Nope is neither a logical id nor a name of a table of the template; its tables are: Notes\w+$/);
    await expect(check(userStack(), { sharedBuckets: ['nope'] })).rejects.toThrow(/^The shared bucket nope is neither a logical id nor a name of a bucket of the template; its buckets are: Data\w+$/);
  });
});
