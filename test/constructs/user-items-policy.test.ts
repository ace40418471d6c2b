import { runUnsafeSimulation } from '@cloud-copilot/iam-simulate';
import { App, Aspects, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import { AwsSolutionsChecks } from 'cdk-nag';
import { resolveIntrinsics } from '../../local/cloudformation';
import { rolePolicies, type Decision, type PolicyDocument } from '../../local/iam-decisions';
import { DelegationIdentityProvider, DelegationRole, UserItemAccess, UserItemsOptions } from '../../src';
import { testStack } from '../support/stacks';

const ACCOUNT = '123456789012';

/** The synthesized policies of a role granted per-user items on a new table with one index. */
function synthesized(options: UserItemsOptions = {}, tableProps: Partial<dynamodb.TableProps> = {}) {
  const stack = testStack();
  const identityProvider = new DelegationIdentityProvider(stack, 'Idp');
  const role = new DelegationRole(stack, 'UserRole', { identityProvider });
  const table = new dynamodb.Table(stack, 'Notes', {
    partitionKey: { name: 'userId', type: dynamodb.AttributeType.STRING },
    sortKey: { name: 'noteId', type: dynamodb.AttributeType.STRING },
    ...tableProps,
  });
  table.addLocalSecondaryIndex({ indexName: 'byDate', sortKey: { name: 'date', type: dynamodb.AttributeType.STRING } });
  table.addGlobalSecondaryIndex({ indexName: 'byOwner', partitionKey: { name: 'ownerId', type: dynamodb.AttributeType.STRING } });
  const grant = role.grantUserItems(table, options);
  const json = Template.fromStack(stack).toJSON() as any;
  const tableArn = resolveIntrinsics(json, { 'Fn::GetAtt': [stack.getLogicalId(table.node.defaultChild as any), 'Arn'] }) as string;
  return { grant, json, tableArn, policies: rolePolicies(json, stack.getLogicalId(role.node.defaultChild as any)) };
}

/** Whether the session of `subject` may make a DynamoDB request with these context keys. */
function decide(
  policies: PolicyDocument[], subject: string, action: string, resource: string, context: Record<string, string | string[]> = {},
): Decision {
  return runUnsafeSimulation({
    request: {
      principal: `arn:aws:sts::${ACCOUNT}:assumed-role/UserRole/session`,
      action,
      resource: { resource, accountId: ACCOUNT },
      contextVariables: { 'saml:sub': subject, ...context },
    },
    identityPolicies: policies.map((policy, index) => ({ name: `policy${index}`, policy })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
  }, {}) as Decision;
}

describe('per-user items, evaluated with iam-simulate on the synthesized policy', () => {
  const { policies, tableArn, grant } = synthesized({ indexes: ['byDate'] });
  const index = `${tableArn}/index/byDate`;

  test('the grant succeeds', () => {
    expect(grant.success).toBe(true);
  });

  test.each(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query'])('alice may %s in her own partition', (action) => {
    expect(decide(policies, 'alice', action, tableArn, { 'dynamodb:LeadingKeys': ['alice'] })).toBe('Allowed');
  });

  test('alice may Query an index of the table in her own partition', () => {
    expect(decide(policies, 'alice', 'dynamodb:Query', index, { 'dynamodb:LeadingKeys': ['alice'] })).toBe('Allowed');
  });

  test('an index not named in indexes is refused, whatever its leading key', () => {
    expect(decide(policies, 'alice', 'dynamodb:Query', `${tableArn}/index/byOwner`, { 'dynamodb:LeadingKeys': ['alice'] })).toBe('ImplicitlyDenied');
  });

  test('without indexes no index of the table is granted', () => {
    const plain = synthesized();
    for (const name of ['byDate', 'byOwner']) {
      expect(decide(plain.policies, 'alice', 'dynamodb:Query', `${plain.tableArn}/index/${name}`, { 'dynamodb:LeadingKeys': ['alice'] })).toBe('ImplicitlyDenied');
    }
    expect(decide(plain.policies, 'alice', 'dynamodb:Query', plain.tableArn, { 'dynamodb:LeadingKeys': ['alice'] })).toBe('Allowed');
    const resources = plain.policies.flatMap((policy) => policy.Statement as any[]).flatMap((statement) => [statement.Resource].flat());
    expect(resources.filter((resource) => String(resource).includes('/index/'))).toEqual([]);
  });

  test.each(['*', 'by*', 'ab', ''])('refuses the index name %j', (name) => {
    expect(() => synthesized({ indexes: [name] })).toThrow(/grantUserItems: indexes must name indexes/);
  });

  test.each([
    ['bob\'s partition', ['bob']],
    ['a prefix-sharing user\'s partition (alicex)', ['alicex']],
    ['a prefix of her id (alic)', ['alic']],
    ['her own and bob\'s partition in one batch', ['alice', 'bob']],
  ])('alice is denied %s, on the table and on the index', (_name, keys) => {
    for (const action of ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem']) {
      expect([action, decide(policies, 'alice', action, tableArn, { 'dynamodb:LeadingKeys': keys })]).toEqual([action, 'ImplicitlyDenied']);
    }
    expect(decide(policies, 'alice', 'dynamodb:Query', index, { 'dynamodb:LeadingKeys': keys })).toBe('ImplicitlyDenied');
  });

  test('BatchGetItem of her own items only is allowed', () => {
    expect(decide(policies, 'alice', 'dynamodb:BatchGetItem', tableArn, { 'dynamodb:LeadingKeys': ['alice', 'alice'] })).toBe('Allowed');
  });

  test('Scan is denied, with or without a leading key, on the table and its index', () => {
    for (const resource of [tableArn, index]) {
      expect(decide(policies, 'alice', 'dynamodb:Scan', resource)).toBe('ImplicitlyDenied');
      expect(decide(policies, 'alice', 'dynamodb:Scan', resource, { 'dynamodb:LeadingKeys': ['alice'] })).toBe('ImplicitlyDenied');
    }
  });

  test('a request without a leading key is denied (ForAllValues alone would hold for an empty set)', () => {
    expect(decide(policies, 'alice', 'dynamodb:Query', tableArn)).toBe('ImplicitlyDenied');
    expect(decide(policies, 'alice', 'dynamodb:GetItem', tableArn)).toBe('ImplicitlyDenied');
  });

  test('namespaced subjects reach their own namespaced partition only', () => {
    expect(decide(policies, 'partner:alice', 'dynamodb:GetItem', tableArn, { 'dynamodb:LeadingKeys': ['partner:alice'] })).toBe('Allowed');
    expect(decide(policies, 'partner:alice', 'dynamodb:GetItem', tableArn, { 'dynamodb:LeadingKeys': ['alice'] })).toBe('ImplicitlyDenied');
  });

  test('nothing beyond item access: no table administration, no other table', () => {
    for (const action of ['dynamodb:DeleteTable', 'dynamodb:UpdateTable', 'dynamodb:DescribeTable', 'dynamodb:ExportTableToPointInTime']) {
      expect(decide(policies, 'alice', action, tableArn, { 'dynamodb:LeadingKeys': ['alice'] })).toBe('ImplicitlyDenied');
    }
    const other = `arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/Other`;
    expect(decide(policies, 'alice', 'dynamodb:GetItem', other, { 'dynamodb:LeadingKeys': ['alice'] })).toBe('ImplicitlyDenied');
  });
});

describe('access levels and attributes', () => {
  test('READ allows reads and no writes; WRITE the opposite', () => {
    const read = synthesized({ access: UserItemAccess.READ });
    const own = { 'dynamodb:LeadingKeys': ['alice'] };
    expect(decide(read.policies, 'alice', 'dynamodb:GetItem', read.tableArn, own)).toBe('Allowed');
    expect(decide(read.policies, 'alice', 'dynamodb:PutItem', read.tableArn, own)).toBe('ImplicitlyDenied');
    const write = synthesized({ access: UserItemAccess.WRITE });
    expect(decide(write.policies, 'alice', 'dynamodb:PutItem', write.tableArn, own)).toBe('Allowed');
    expect(decide(write.policies, 'alice', 'dynamodb:GetItem', write.tableArn, own)).toBe('ImplicitlyDenied');
  });

  test('attributes limit what a request may touch, and reads must name them', () => {
    const { policies, tableArn } = synthesized({ attributes: ['userId', 'noteId', 'text'] });
    const own = { 'dynamodb:LeadingKeys': ['alice'] };
    expect(decide(policies, 'alice', 'dynamodb:GetItem', tableArn, { ...own, 'dynamodb:Attributes': ['userId', 'text'], 'dynamodb:Select': 'SPECIFIC_ATTRIBUTES' })).toBe('Allowed');
    expect(decide(policies, 'alice', 'dynamodb:GetItem', tableArn, { ...own, 'dynamodb:Attributes': ['userId', 'secret'], 'dynamodb:Select': 'SPECIFIC_ATTRIBUTES' }))
      .toBe('ImplicitlyDenied');
    expect(decide(policies, 'alice', 'dynamodb:Query', tableArn, { ...own, 'dynamodb:Select': 'ALL_ATTRIBUTES' })).toBe('ImplicitlyDenied');
    expect(decide(policies, 'alice', 'dynamodb:UpdateItem', tableArn, { ...own, 'dynamodb:Attributes': ['userId', 'noteId', 'text'], 'dynamodb:ReturnValues': 'ALL_OLD' }))
      .toBe('ImplicitlyDenied');
    expect(decide(policies, 'alice', 'dynamodb:UpdateItem', tableArn, { ...own, 'dynamodb:Attributes': ['userId', 'noteId', 'text'], 'dynamodb:ReturnValues': 'NONE' }))
      .toBe('Allowed');
    expect(decide(policies, 'alice', 'dynamodb:UpdateItem', tableArn, { ...own, 'dynamodb:Attributes': ['userId', 'noteId', 'secret'] }))
      .toBe('ImplicitlyDenied');
  });

  test('with attributes, writes that replace or delete a whole item are refused on the user\'s own key; UpdateItem of the allowed attributes is not', () => {
    const { policies, tableArn } = synthesized({ attributes: ['userId', 'noteId', 'text'] });
    const ownAllowed = { 'dynamodb:LeadingKeys': ['alice'], 'dynamodb:Attributes': ['userId', 'noteId', 'text'] };
    for (const action of ['dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem']) {
      expect([action, decide(policies, 'alice', action, tableArn, ownAllowed)]).toEqual([action, 'ImplicitlyDenied']);
      expect([action, decide(policies, 'alice', action, tableArn, { ...ownAllowed, 'dynamodb:ReturnValues': 'NONE' })]).toEqual([action, 'ImplicitlyDenied']);
    }
    expect(decide(policies, 'alice', 'dynamodb:UpdateItem', tableArn, ownAllowed)).toBe('Allowed');
    const write = synthesized({ access: UserItemAccess.WRITE, attributes: ['userId', 'noteId', 'text'] });
    expect(decide(write.policies, 'alice', 'dynamodb:PutItem', write.tableArn, ownAllowed)).toBe('ImplicitlyDenied');
    expect(decide(write.policies, 'alice', 'dynamodb:UpdateItem', write.tableArn, ownAllowed)).toBe('Allowed');
  });

  test('with attributes, a condition check may not return the item when it fails', () => {
    const { policies, tableArn } = synthesized({ attributes: ['userId', 'noteId', 'text'] });
    const own = { 'dynamodb:LeadingKeys': ['alice'], 'dynamodb:Attributes': ['userId', 'noteId', 'text'] };
    expect(decide(policies, 'alice', 'dynamodb:ConditionCheckItem', tableArn, { ...own, 'dynamodb:ReturnValues': 'ALL_OLD' })).toBe('ImplicitlyDenied');
    expect(decide(policies, 'alice', 'dynamodb:ConditionCheckItem', tableArn, { ...own, 'dynamodb:ReturnValues': 'NONE' })).toBe('Allowed');
    expect(decide(policies, 'alice', 'dynamodb:ConditionCheckItem', tableArn, own)).toBe('Allowed');
    expect(decide(policies, 'alice', 'dynamodb:ConditionCheckItem', tableArn, { ...own, 'dynamodb:LeadingKeys': ['bob'], 'dynamodb:ReturnValues': 'NONE' }))
      .toBe('ImplicitlyDenied');
  });

  test('without attributes every item write of the user\'s own partition stays allowed', () => {
    const { policies, tableArn } = synthesized();
    for (const action of ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'dynamodb:ConditionCheckItem']) {
      expect([action, decide(policies, 'alice', action, tableArn, { 'dynamodb:LeadingKeys': ['alice'], 'dynamodb:ReturnValues': 'ALL_OLD' })]).toEqual([action, 'Allowed']);
    }
  });

  test('an empty attribute list is refused', () => {
    expect(() => synthesized({ attributes: [] })).toThrow(/at least the table's key attributes/);
  });

  test('a customer-managed table key may be used only through DynamoDB', () => {
    const { policies } = synthesized({}, {
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: kms.Key.fromKeyArn(testStack(), 'K', `arn:aws:kms:eu-west-1:${ACCOUNT}:key/bbbbbbbb-0000-4000-8000-000000000000`),
    });
    const statement = policies.flatMap((policy) => policy.Statement as any[]).find((s) => [s.Action].flat().includes('kms:Decrypt'));
    expect(statement.Condition).toEqual({ StringEquals: { 'kms:ViaService': 'dynamodb.eu-west-1.amazonaws.com' } });
  });
});

test('cdk-nag AwsSolutions finds nothing in the grant: indexes are named, so there is no wildcard to accept', () => {
  const app = new App();
  const stack = new Stack(app, 'Items', { env: { account: '123456789012', region: 'eu-west-1' } });
  const role = new DelegationRole(stack, 'UserRole', { identityProvider: new DelegationIdentityProvider(stack, 'Idp') });
  const table = new dynamodb.TableV2(stack, 'Notes', {
    partitionKey: { name: 'userId', type: dynamodb.AttributeType.STRING },
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
  });
  table.addGlobalSecondaryIndex({ indexName: 'byDate', partitionKey: { name: 'userId', type: dynamodb.AttributeType.STRING } });
  role.grantUserItems(table, { indexes: ['byDate'] });
  Aspects.of(stack).add(new AwsSolutionsChecks({ verbose: true }));
  app.synth();
  const findings = Annotations.fromStack(stack).findError('/Items/UserRole/Role/DefaultPolicy/Resource', Match.stringLikeRegexp('AwsSolutions-.*'));
  expect(findings.map((finding) => String(finding.entry.data))).toEqual([]);
});
