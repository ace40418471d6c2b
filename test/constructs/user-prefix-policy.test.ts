import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { resolveIntrinsics, resolvedProperties } from '../../local/cloudformation';
import { Decision, rolePolicies, s3Decision, trustDecision } from '../../local/iam-decisions';
import { DelegationIdentityProvider, DelegationRole, TokenDelegation, UserPrefixAccess } from '../../src';
import { auth0Issuer, onlyResource, testStack } from '../support/stacks';

/** The synthesized example: a TokenDelegation with a bucket it creates, its policies resolved. */
function synthesized(options: { access?: UserPrefixAccess; prefix?: string } = {}) {
  const stack = testStack();
  const delegation = new TokenDelegation(stack, 'Delegation', {
    issuers: [auth0Issuer()],
    access: options.access,
    userPrefix: options.prefix,
  });
  const template = Template.fromStack(stack);
  const json = template.toJSON() as any;
  const roleId = stack.getLogicalId(delegation.role.node.defaultChild as any);
  const bucketId = stack.getLogicalId(delegation.bucket.node.defaultChild as any);
  const bucket = `arn:aws:s3:::${bucketId.toLowerCase().slice(0, 40)}`;
  return { template, json, roleId, bucket, policies: rolePolicies(json, roleId) };
}

describe('the per-user prefix, evaluated with iam-simulate on the synthesized policies', () => {
  const { policies, bucket } = synthesized();
  const decide = (subject: string, action: string, resource: string, context?: Record<string, string>): Decision =>
    s3Decision(policies, { subject, action, resource, context });

  test.each(['s3:GetObject', 's3:PutObject', 's3:DeleteObject'])('alice may %s under users/alice/', (action) => {
    expect(decide('alice', action, `${bucket}/users/alice/notes.txt`)).toBe('Allowed');
    expect(decide('alice', action, `${bucket}/users/alice/deep/er/file`)).toBe('Allowed');
  });

  test('alice may list her own prefix', () => {
    expect(decide('alice', 's3:ListBucket', bucket, { 's3:prefix': 'users/alice/' })).toBe('Allowed');
    expect(decide('alice', 's3:ListBucket', bucket, { 's3:prefix': 'users/alice/photos/' })).toBe('Allowed');
  });

  test.each([
    ['bob\'s object', 'users/bob/notes.txt'],
    ['alicex\'s object (alice is a prefix of alicex)', 'users/alicex/notes.txt'],
    ['the bare prefix', 'users/alice'],
    ['the users/ folder', 'users/'],
    ['the bucket root', 'notes.txt'],
    ['a sibling folder', 'admin/alice/notes.txt'],
  ])('alice is denied %s', (_, key) => {
    for (const action of ['s3:GetObject', 's3:PutObject', 's3:DeleteObject']) {
      expect(decide('alice', action, `${bucket}/${key}`)).toBe('ImplicitlyDenied');
    }
  });

  test.each([
    ['no prefix (the whole bucket)', undefined],
    ['the users/ folder', 'users/'],
    ['users/alice without a slash, which covers alicex', 'users/alice'],
    ['bob\'s prefix', 'users/bob/'],
    ['alicex\'s prefix', 'users/alicex/'],
  ])('alice may not list %s', (_, prefix) => {
    const context = prefix === undefined ? undefined : { 's3:prefix': prefix };
    expect(decide('alice', 's3:ListBucket', bucket, context)).toBe('ImplicitlyDenied');
  });

  test('bob reaches his own prefix and not alice\'s', () => {
    expect(decide('bob', 's3:GetObject', `${bucket}/users/bob/notes.txt`)).toBe('Allowed');
    expect(decide('bob', 's3:GetObject', `${bucket}/users/alice/notes.txt`)).toBe('ImplicitlyDenied');
  });

  test('namespaced subjects of two issuers land in different prefixes', () => {
    expect(decide('auth0:42', 's3:PutObject', `${bucket}/users/auth0:42/f`)).toBe('Allowed');
    expect(decide('auth0:42', 's3:PutObject', `${bucket}/users/cognito:42/f`)).toBe('ImplicitlyDenied');
  });

  test('nothing beyond S3 objects of the prefix is allowed', () => {
    expect(decide('alice', 's3:PutBucketPolicy', bucket)).toBe('ImplicitlyDenied');
    expect(decide('alice', 's3:PutObjectAcl', `${bucket}/users/alice/f`)).toBe('ImplicitlyDenied');
    expect(decide('alice', 's3:ListAllMyBuckets', '*')).toBe('ImplicitlyDenied');
  });
});

describe('access levels', () => {
  test('READ allows get and list, not put or delete', () => {
    const { policies, bucket } = synthesized({ access: UserPrefixAccess.READ });
    const object = `${bucket}/users/alice/f`;
    expect(s3Decision(policies, { subject: 'alice', action: 's3:GetObject', resource: object })).toBe('Allowed');
    expect(s3Decision(policies, { subject: 'alice', action: 's3:PutObject', resource: object })).toBe('ImplicitlyDenied');
    expect(s3Decision(policies, { subject: 'alice', action: 's3:DeleteObject', resource: object })).toBe('ImplicitlyDenied');
    expect(s3Decision(policies, {
      subject: 'alice', action: 's3:ListBucket', resource: bucket, context: { 's3:prefix': 'users/alice/' },
    })).toBe('Allowed');
  });

  test('WRITE allows put and delete, not get', () => {
    const { policies, bucket } = synthesized({ access: UserPrefixAccess.WRITE });
    const object = `${bucket}/users/alice/f`;
    expect(s3Decision(policies, { subject: 'alice', action: 's3:PutObject', resource: object })).toBe('Allowed');
    expect(s3Decision(policies, { subject: 'alice', action: 's3:DeleteObject', resource: object })).toBe('Allowed');
    expect(s3Decision(policies, { subject: 'alice', action: 's3:GetObject', resource: object })).toBe('ImplicitlyDenied');
  });

  test('a custom prefix is honoured, and the empty prefix puts users at the bucket root', () => {
    const custom = synthesized({ prefix: 'tenants/acme/' });
    expect(s3Decision(custom.policies, { subject: 'alice', action: 's3:GetObject', resource: `${custom.bucket}/tenants/acme/alice/f` })).toBe('Allowed');
    expect(s3Decision(custom.policies, { subject: 'alice', action: 's3:GetObject', resource: `${custom.bucket}/users/alice/f` })).toBe('ImplicitlyDenied');
    const root = synthesized({ prefix: '' });
    expect(s3Decision(root.policies, { subject: 'alice', action: 's3:GetObject', resource: `${root.bucket}/alice/f` })).toBe('Allowed');
    expect(s3Decision(root.policies, { subject: 'alice', action: 's3:GetObject', resource: `${root.bucket}/alicex/f` })).toBe('ImplicitlyDenied');
  });
});

describe('the trust policy, evaluated with iam-simulate', () => {
  const { json, roleId } = synthesized();
  const trust = resolvedProperties(json, roleId).AssumeRolePolicyDocument;
  const providerId = Object.entries(json.Resources).find(([, r]: any) => r.Type === 'AWS::IAM::SAMLProvider')![0];
  const providerArn = `arn:aws:iam::123456789012:saml-provider/${providerId}`;
  const entityId = trust.Statement[0].Condition.StringEquals['SAML:iss'];
  const roleArn = `arn:aws:iam::123456789012:role/${roleId}`;

  test('admits the provider for sts:AssumeRoleWithSAML with the right audience and issuer', async () => {
    const result = await trustDecision(trust, {
      roleArn,
      providerArn,
      action: 'sts:AssumeRoleWithSAML',
      context: { 'saml:aud': 'https://signin.aws.amazon.com/saml', 'saml:iss': entityId },
    });
    expect(result).toEqual({ decision: 'Allowed', ignoredContextKeys: [] });
  });

  // AWS evaluates TagSession and SetSourceIdentity within the AssumeRoleWithSAML request, with its
  // SAML keys; the simulator's service data lists no saml:* keys for those two actions and drops them
  // (ignoredContextKeys), so it can only show here that they are allowed in the same statement, under
  // the same conditions, as AssumeRoleWithSAML.
  test('allows sts:TagSession and sts:SetSourceIdentity in the same statement, under the same conditions', () => {
    const statements = trust.Statement.filter((statement: any) => [statement.Action].flat().includes('sts:AssumeRoleWithSAML'));
    expect(statements).toHaveLength(1);
    expect([statements[0].Action].flat().sort()).toEqual(['sts:AssumeRoleWithSAML', 'sts:SetSourceIdentity', 'sts:TagSession']);
    expect(statements[0].Principal).toEqual({ Federated: providerArn });
    expect(statements[0].Condition).toEqual({
      StringEquals: { 'SAML:aud': 'https://signin.aws.amazon.com/saml', 'SAML:iss': entityId },
    });
  });

  test('refuses another audience (a regional recipient the role does not pin)', async () => {
    const result = await trustDecision(trust, {
      roleArn,
      providerArn,
      action: 'sts:AssumeRoleWithSAML',
      context: { 'saml:aud': 'https://us-east-1.signin.aws.amazon.com/saml', 'saml:iss': entityId },
    });
    expect(result.decision).toBe('ImplicitlyDenied');
  });

  test('refuses another issuer and another provider', async () => {
    const otherIssuer = await trustDecision(trust, {
      roleArn,
      providerArn,
      action: 'sts:AssumeRoleWithSAML',
      context: { 'saml:aud': 'https://signin.aws.amazon.com/saml', 'saml:iss': 'urn:someone-else' },
    });
    expect(otherIssuer.decision).toBe('ImplicitlyDenied');
    const otherProvider = await trustDecision(trust, {
      roleArn,
      providerArn: 'arn:aws:iam::123456789012:saml-provider/Other',
      action: 'sts:AssumeRoleWithSAML',
      context: { 'saml:aud': 'https://signin.aws.amazon.com/saml', 'saml:iss': entityId },
    });
    expect(otherProvider.decision).toBe('ImplicitlyDenied');
  });

  test('does not admit plain AssumeRole or AssumeRoleWithWebIdentity', async () => {
    for (const action of ['sts:AssumeRole', 'sts:AssumeRoleWithWebIdentity']) {
      const result = await trustDecision(trust, {
        roleArn,
        providerArn,
        action,
        context: { 'saml:aud': 'https://signin.aws.amazon.com/saml', 'saml:iss': entityId },
      });
      expect(result.decision).not.toBe('Allowed');
    }
  });
});

describe('DelegationRole', () => {
  test('grants kms:Decrypt and GenerateDataKey on a KMS-encrypted bucket\'s key', () => {
    const stack = testStack();
    const idp = new DelegationIdentityProvider(stack, 'Idp');
    const bucket = new s3.Bucket(stack, 'Bucket', { encryptionKey: new kms.Key(stack, 'DataKey') });
    const role = new DelegationRole(stack, 'Role', { identityProvider: idp });
    const grant = role.grantUserPrefix(bucket);
    expect(grant.success).toBe(true);
    const template = Template.fromStack(stack);
    const policies = rolePolicies(template.toJSON() as any, stack.getLogicalId(role.node.defaultChild as any));
    const actions = policies.flatMap((p: any) => p.Statement).flatMap((s: any) => [s.Action].flat());
    expect(actions).toEqual(expect.arrayContaining(['kms:Decrypt', 'kms:GenerateDataKey']));
  });

  describe('on a bucket with its own KMS key, uploads encrypt only as the bucket does', () => {
    const stack = testStack();
    const idp = new DelegationIdentityProvider(stack, 'Idp');
    const dataKey = new kms.Key(stack, 'DataKey');
    const encrypted = new s3.Bucket(stack, 'Bucket', { encryptionKey: dataKey });
    const role = new DelegationRole(stack, 'Role', { identityProvider: idp });
    role.grantUserPrefix(encrypted);
    const json = Template.fromStack(stack).toJSON() as any;
    const policies = rolePolicies(json, stack.getLogicalId(role.node.defaultChild as any));
    const bucketArn = resolveIntrinsics(json, { 'Fn::GetAtt': [stack.getLogicalId(encrypted.node.defaultChild as any), 'Arn'] }) as string;
    const keyArn = resolveIntrinsics(json, { 'Fn::GetAtt': [stack.getLogicalId(dataKey.node.defaultChild as any), 'Arn'] }) as string;
    const otherAccountKey = 'arn:aws:kms:eu-west-1:999999999999:key/aaaaaaaa-0000-4000-8000-000000000000';
    const put = (context: Record<string, string>, key = 'users/alice/f') =>
      s3Decision(policies, { subject: 'alice', action: 's3:PutObject', resource: `${bucketArn}/${key}`, context });

    test('the resolved ARNs are the bucket\'s and the key\'s', () => {
      expect(bucketArn).toMatch(/^arn:aws:s3:::/);
      expect(keyArn).toMatch(/^arn:aws:kms:[a-z0-9-]+:\d{12}:key\//);
    });

    test.each<[string, Record<string, string>]>([
      ['no encryption header (the bucket default applies)', {}],
      ['SSE-KMS with the bucket\'s key', { 's3:x-amz-server-side-encryption': 'aws:kms', 's3:x-amz-server-side-encryption-aws-kms-key-id': 'KEY' }],
    ])('an upload with %s is allowed', (_name, context) => {
      expect(put(Object.fromEntries(Object.entries(context).map(([name, value]) => [name, value === 'KEY' ? keyArn : value])))).toBe('Allowed');
    });

    test.each<[string, Record<string, string>]>([
      ['SSE-S3', { 's3:x-amz-server-side-encryption': 'AES256' }],
      ['SSE-KMS with another account\'s key', { 's3:x-amz-server-side-encryption': 'aws:kms', 's3:x-amz-server-side-encryption-aws-kms-key-id': otherAccountKey }],
      ['SSE-KMS without a key id (the account\'s aws/s3 key)', { 's3:x-amz-server-side-encryption': 'aws:kms' }],
      ['DSSE-KMS with the bucket\'s key', { 's3:x-amz-server-side-encryption': 'aws:kms:dsse', 's3:x-amz-server-side-encryption-aws-kms-key-id': 'KEY' }],
      ['SSE-C', { 's3:x-amz-server-side-encryption-customer-algorithm': 'AES256' }],
      ['a key id without the encryption header', { 's3:x-amz-server-side-encryption-aws-kms-key-id': 'KEY' }],
    ])('an upload with %s is refused', (_name, context) => {
      expect(put(Object.fromEntries(Object.entries(context).map(([name, value]) => [name, value === 'KEY' ? keyArn : value])))).toBe('ImplicitlyDenied');
    });

    test('the bucket\'s own encryption does not open another user\'s prefix, and reads and deletes are unchanged', () => {
      expect(put({}, 'users/bob/f')).toBe('ImplicitlyDenied');
      expect(put({ 's3:x-amz-server-side-encryption': 'aws:kms', 's3:x-amz-server-side-encryption-aws-kms-key-id': keyArn }, 'users/bob/f')).toBe('ImplicitlyDenied');
      for (const action of ['s3:GetObject', 's3:DeleteObject', 's3:AbortMultipartUpload']) {
        expect([action, s3Decision(policies, { subject: 'alice', action, resource: `${bucketArn}/users/alice/f` })]).toEqual([action, 'Allowed']);
      }
    });
  });

  test('on a bucket without its own key, uploads keep their encryption headers', () => {
    const { policies, bucket } = synthesized();
    expect(s3Decision(policies, { subject: 'alice', action: 's3:PutObject', resource: `${bucket}/users/alice/f`, context: { 's3:x-amz-server-side-encryption': 'AES256' } }))
      .toBe('Allowed');
  });

  test('works on an imported bucket', () => {
    const stack = testStack();
    const idp = new DelegationIdentityProvider(stack, 'Idp');
    const bucket = s3.Bucket.fromBucketName(stack, 'Imported', 'existing-bucket');
    const role = new DelegationRole(stack, 'Role', { identityProvider: idp });
    role.grantUserPrefix(bucket, { prefix: 'u/', access: UserPrefixAccess.READ });
    const template = Template.fromStack(stack);
    const policies = rolePolicies(template.toJSON() as any, stack.getLogicalId(role.node.defaultChild as any));
    expect(s3Decision(policies, { subject: 'alice', action: 's3:GetObject', resource: 'arn:aws:s3:::existing-bucket/u/alice/f' })).toBe('Allowed');
    expect(s3Decision(policies, { subject: 'alice', action: 's3:GetObject', resource: 'arn:aws:s3:::existing-bucket/u/bob/f' })).toBe('ImplicitlyDenied');
  });

  test.each([
    ['users', /prefix must end with '\/'/],
    ['users/*/', /prefix must not contain '\*', '\?' or '\$'/],
    ['a?/', /prefix must not contain/],
    ['$x/', /prefix must not contain/],
    ['/users/', /prefix must not start with '\/'/],
    ['users//', /prefix must not contain an empty segment/],
  ])('refuses the prefix %j', (prefix, message) => {
    const stack = testStack();
    const role = new DelegationRole(stack, 'Role', { identityProvider: new DelegationIdentityProvider(stack, 'Idp') });
    expect(() => role.grantUserPrefix(s3.Bucket.fromBucketName(stack, 'B', 'some-bucket'), { prefix })).toThrow(message);
  });

  test('defaults to a one-hour maximum session and takes the given one', () => {
    const stack = testStack();
    const idp = new DelegationIdentityProvider(stack, 'Idp');
    new DelegationRole(stack, 'Role', { identityProvider: idp });
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Role', { MaxSessionDuration: 3600 });
    expect(onlyResource(Template.fromStack(stack), 'AWS::IAM::SAMLProvider')).toBeDefined();
  });
});
