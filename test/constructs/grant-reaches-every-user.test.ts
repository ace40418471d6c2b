import { Annotations as CoreAnnotations, App, Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { DelegationIdentityProvider, DelegationRole, TokenDelegation } from '../../src';
import { auth0Issuer } from '../support/stacks';

/**
 * The synth-time warning of DelegationRole: a grant on the role that reaches a bucket or table the role also
 * gives each user their own part of, without `${saml:sub}`, gives every user everyone's data there.
 */

const WARNING = 'cdk-token-delegation:grantReachesEveryUser';

interface Parts {
  readonly stack: Stack;
  readonly delegation: TokenDelegation;
  readonly table: dynamodb.Table;
}

/** A TokenDelegation (its own bucket, per-user prefix) and a notes table with per-user items, then `change`. */
function synthesized(change: (parts: Parts) => void = () => undefined): { stack: Stack; warnings: string[] } {
  const stack = new Stack(new App(), 'Files', { env: { account: '123456789012', region: 'eu-west-1' } });
  const delegation = new TokenDelegation(stack, 'Delegation', { issuers: [auth0Issuer()] });
  const table = new dynamodb.Table(stack, 'Notes', {
    partitionKey: { name: 'userId', type: dynamodb.AttributeType.STRING },
    stream: dynamodb.StreamViewType.NEW_IMAGE,
  });
  table.addGlobalSecondaryIndex({ indexName: 'byDate', partitionKey: { name: 'userId', type: dynamodb.AttributeType.STRING } });
  delegation.role.grantUserItems(table, { indexes: ['byDate'] });
  change({ stack, delegation, table });
  const warnings = Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp(WARNING)).map((warning) => String(warning.entry.data));
  return { stack, warnings };
}

test('the warning id is the role\'s constant', () => {
  expect(DelegationRole.GRANT_REACHES_EVERY_USER_WARNING).toBe(WARNING);
});

test('a stack with only the library\'s per-user grants synthesizes without the warning', () => {
  expect(synthesized().warnings).toEqual([]);
  // On a bucket with its own KMS key too, and with every access level.
  const stack = new Stack(new App(), 'Keyed');
  const role = new DelegationRole(stack, 'Users', { identityProvider: new DelegationIdentityProvider(stack, 'Idp') });
  role.grantUserPrefix(new s3.Bucket(stack, 'Data', { encryptionKey: new kms.Key(stack, 'Key'), bucketKeyEnabled: true }), { prefix: '' });
  role.grantUserItems(new dynamodb.Table(stack, 'Items', {
    partitionKey: { name: 'userId', type: dynamodb.AttributeType.STRING },
    encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
  }), { attributes: ['userId', 'text'] });
  expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp(WARNING))).toEqual([]);
});

test('bucket.grantRead(role) on the users\' bucket warns, naming the role, the bucket, the actions and the fix', () => {
  const { warnings } = synthesized(({ delegation }) => delegation.bucket.grantRead(delegation.role));
  expect(warnings).toEqual([
    'Files/Delegation/UserRole gives every signed-in user alike s3:GetObject*, s3:GetBucket*, s3:List* on the bucket Files/Delegation/Bucket '
    + '(the bucket itself: its listing or configuration; objects *), where it also gives each user their own part: every user reaches every other '
    + 'user\'s data there. Give per-user access with role.grantUserPrefix(bucket) instead of bucket.grant…(role) or a statement on the whole bucket. '
    + `If every user may reach it on purpose, acknowledge this warning: Annotations.of(role).acknowledgeWarning('${WARNING}', '<why>'), and declare the `
    + `data shared to cdk-token-delegation verify. [ack: ${WARNING}]`,
  ]);
});

test('table.grantReadData(role) on the users\' table warns', () => {
  const { warnings } = synthesized(({ delegation, table }) => table.grantReadData(delegation.role));
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toMatch(/^Files\/Delegation\/UserRole gives every signed-in user alike dynamodb:BatchGetItem, .*dynamodb:Scan.* on the table Files\/Notes \(its items\), /);
  expect(warnings[0]).toContain('Give per-user access with role.grantUserItems(table) instead of table.grant…(role).');
});

test.each<[string, (parts: Parts) => void, RegExp]>([
  ['table.grantStreamRead(role)', ({ delegation, table }) => table.grantStreamRead(delegation.role),
    /alike dynamodb:DescribeStream, dynamodb:GetRecords, dynamodb:GetShardIterator on the table Files\/Notes \(its stream\), .* A stream carries every user's changes: grant this role no stream action\./],
  ['bucket.grantReadWrite(role)', ({ delegation }) => delegation.bucket.grantReadWrite(delegation.role), /s3:PutObject.* on the bucket Files\/Delegation\/Bucket/],
  ['a statement on users/*', ({ delegation }) => delegation.role.addToPrincipalPolicy(new iam.PolicyStatement({
    actions: ['s3:GetObject'], resources: [delegation.bucket.arnForObjects('users/*')],
  })), /alike s3:GetObject on the bucket Files\/Delegation\/Bucket \(objects users\/\*\)/],
  ['users/${saml:sub}* without the \'/\'', ({ delegation }) => delegation.role.addToPrincipalPolicy(new iam.PolicyStatement({
    actions: ['s3:GetObject'], resources: [delegation.bucket.arnForObjects('users/${saml:sub}*')],
  })), /\(objects users\/\$\{saml:sub\}\*, without '\/' after \$\{saml:sub\}\)/],
  ['s3:GetObject on "*"', ({ delegation }) => delegation.role.addToPrincipalPolicy(new iam.PolicyStatement({
    actions: ['s3:GetObject'], resources: ['*'],
  })), /on the bucket Files\/Delegation\/Bucket \(Resource "\*"\)/],
  ['a listing without an s3:prefix condition', ({ delegation }) => delegation.role.addToPrincipalPolicy(new iam.PolicyStatement({
    actions: ['s3:ListBucket'], resources: [delegation.bucket.bucketArn],
  })), /\(the bucket itself: its listing or configuration\)/],
])('%s warns', (_name, change, message) => {
  const { warnings } = synthesized(change);
  expect(warnings).toEqual([expect.stringMatching(message)]);
});

test('grants on other buckets and tables, and account-wide actions of no data, do not warn', () => {
  const { warnings } = synthesized(({ stack, delegation }) => {
    new s3.Bucket(stack, 'Assets').grantRead(delegation.role);
    new dynamodb.Table(stack, 'Lookup', { partitionKey: { name: 'code', type: dynamodb.AttributeType.STRING } }).grantReadData(delegation.role);
    delegation.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:ListAllMyBuckets'], resources: ['*'] }));
  });
  expect(warnings).toEqual([]);
});

test('acknowledged on the role (or the stack), the warning is gone', () => {
  const onRole = synthesized(({ delegation }) => {
    delegation.bucket.grantRead(delegation.role);
    CoreAnnotations.of(delegation.role).acknowledgeWarning(DelegationRole.GRANT_REACHES_EVERY_USER_WARNING, 'Every user reads every file on purpose');
  });
  expect(onRole.warnings).toEqual([]);
  const onStack = synthesized(({ stack, delegation, table }) => {
    table.grantReadData(delegation.role);
    CoreAnnotations.of(stack).acknowledgeWarning(WARNING, 'A shared table');
  });
  expect(onStack.warnings).toEqual([]);
});
