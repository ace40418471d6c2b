import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { resolveIntrinsics, type Template as TemplateJson } from '../../local/cloudformation';
import { decisionRows, type SignedInSession } from '../../local/decision-table';
import { exampleStackTemplate } from '../../local/example-template';
import { rolePolicies } from '../../local/iam-decisions';
import { isolationRequests } from '../../local/isolation';
import { JwtIssuer, TokenDelegation } from '../../src';

/**
 * The local command's permission table and the isolation check agree: every row of the table is a request the
 * check asks (same action, resource and context, built by the same code), and a row is allowed to exactly the
 * sessions whose own data it reaches, as the check classifies it.
 */

const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';

function itemsStack(): TemplateJson {
  const stack = new Stack(new App(), 'Items', { env: { account: ACCOUNT, region: REGION } });
  const delegation = new TokenDelegation(stack, 'Files', { issuers: [JwtIssuer.oidc({ issuerUrl: 'https://tenant.eu.auth0.com/', audiences: ['CLIENT'] })] });
  const table = new dynamodb.Table(stack, 'Notes', { tableName: 'notes', partitionKey: { name: 'userId', type: dynamodb.AttributeType.STRING } });
  table.addGlobalSecondaryIndex({ indexName: 'byDate', partitionKey: { name: 'userId', type: dynamodb.AttributeType.STRING } });
  delegation.role.grantUserItems(table, { indexes: ['byDate'] });
  return Template.fromStack(stack).toJSON() as TemplateJson;
}

function twoPrefixStack(): TemplateJson {
  const stack = new Stack(new App(), 'TwoPrefixes', { env: { account: ACCOUNT, region: REGION } });
  const delegation = new TokenDelegation(stack, 'Files', { issuers: [JwtIssuer.oidc({ issuerUrl: 'https://tenant.eu.auth0.com/', audiences: ['CLIENT'] })], userPrefix: 'home/' });
  delegation.role.grantUserPrefix(new s3.Bucket(stack, 'Photos'), { prefix: 'albums/' });
  delegation.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [`arn:aws:sqs:${REGION}:${ACCOUNT}:uploads`] }));
  return Template.fromStack(stack).toJSON() as TemplateJson;
}

test.each<[string, () => TemplateJson]>([
  ['the example app', exampleStackTemplate],
  ['a stack with per-user items on a table and its index', itemsStack],
  ['a stack with two per-user prefixes in two buckets', twoPrefixStack],
])('%s: each row of the table is a request of the check, allowed to the sessions it belongs to', async (_name, make) => {
  const template = make();
  const deployment = { accountId: ACCOUNT, region: REGION };
  const users = ['alice', 'bob'];
  const { roles, probes } = await isolationRequests(template, deployment, {}, users);
  expect(roles).toHaveLength(1);
  const [role] = roles;
  const roleArn = resolveIntrinsics(template, { 'Fn::GetAtt': [role.logicalId, 'Arn'] }, deployment) as string;
  expect(roleArn).toBe(role.arn);
  const sessions: SignedInSession[] = users.map((user) => ({ user, subject: user, roleArn, sessionTags: [] }));
  const buckets = Object.entries(template.Resources).filter(([, resource]) => resource.Type === 'AWS::S3::Bucket')
    .map(([id]) => resolveIntrinsics(template, { Ref: id }, deployment) as string);
  const rows = decisionRows(sessions, () => rolePolicies(template, role.logicalId, deployment), buckets);
  const perUserRows = rows.filter((row) => /^(s3|dynamodb):/.test(row.action));
  expect(perUserRows.length).toBeGreaterThanOrEqual(8);
  for (const row of perUserRows) {
    const probe = probes.find((candidate) => candidate.action === row.action && candidate.resource === row.resources[0]
      && JSON.stringify(candidate.context ?? {}) === JSON.stringify(row.context ?? {}));
    expect({ row: row.label, asked: probe !== undefined }).toEqual({ row: row.label, asked: true });
    const ownedBy = sessions.map((session) => probe!.owners.length > 0 && probe!.owners.every((owner) => owner === session.subject));
    expect({ row: row.label, allowed: row.decisions.map((decision) => decision === 'Allowed') }).toEqual({ row: row.label, allowed: ownedBy });
  }
});
