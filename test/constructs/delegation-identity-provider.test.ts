import { App, Aws, CliCredentialsStackSynthesizer, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { DelegationIdentityProvider, SigningKeys } from '../../src';
import { onlyResource, testStack } from '../support/stacks';

describe('DelegationIdentityProvider', () => {
  test('creates an RSA_2048 SIGN_VERIFY key retained on delete when none is given', () => {
    const stack = testStack();
    new DelegationIdentityProvider(stack, 'Idp');
    const template = Template.fromStack(stack);
    template.hasResource('AWS::KMS::Key', {
      Properties: { KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  test('uses the given key and creates none', () => {
    const stack = testStack();
    const key = kms.Key.fromKeyArn(stack, 'Key', 'arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555');
    const idp = new DelegationIdentityProvider(stack, 'Idp', { signingKeys: SigningKeys.fromKey(key) });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::KMS::Key', 0);
    expect(idp.signingKey).toBe(key);
    template.hasResourceProperties('Custom::DelegationSigningCertificate', {
      KeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555',
    });
  });

  test('feeds the IAM SAML provider with metadata that embeds the certificate made at deploy time', () => {
    const stack = testStack();
    new DelegationIdentityProvider(stack, 'Idp', { entityId: 'https://idp.example.com/saml' });
    const template = Template.fromStack(stack);
    const certificate = onlyResource(template, 'Custom::DelegationSigningCertificate');
    const provider = onlyResource(template, 'AWS::IAM::SAMLProvider');
    const metadata = JSON.stringify(provider.properties.SamlMetadataDocument);
    expect(metadata).toContain(JSON.stringify({ 'Fn::GetAtt': [certificate.id, 'CertificateBase64'] }));
    expect(metadata).toContain('entityID=\\"https://idp.example.com/saml\\"');
    expect(metadata).toContain('use=\\"signing\\"');
  });

  test('publishes one certificate per key for rotation, signing with the first', () => {
    const stack = testStack();
    const first = new kms.Key(stack, 'First', { keySpec: kms.KeySpec.RSA_2048, keyUsage: kms.KeyUsage.SIGN_VERIFY });
    const next = new kms.Key(stack, 'Next', { keySpec: kms.KeySpec.RSA_2048, keyUsage: kms.KeyUsage.SIGN_VERIFY });
    const idp = new DelegationIdentityProvider(stack, 'Idp', { signingKeys: SigningKeys.fromKey(first, { additionalPublishedKeys: [next] }) });
    expect(idp.signingKey).toBe(first);
    expect(idp.publishedKeys).toEqual([first, next]);
    const template = Template.fromStack(stack);
    const certificates = template.findResources('Custom::DelegationSigningCertificate');
    expect(Object.keys(certificates)).toHaveLength(2);
    const metadata = JSON.stringify(onlyResource(template, 'AWS::IAM::SAMLProvider').properties.SamlMetadataDocument);
    for (const id of Object.keys(certificates)) {
      expect(metadata).toContain(JSON.stringify({ 'Fn::GetAtt': [id, 'CertificateBase64'] }));
    }
  });

  test('one certificate provider per stack, allowed only GetPublicKey and Sign on its keys', () => {
    const stack = testStack();
    new DelegationIdentityProvider(stack, 'A');
    new DelegationIdentityProvider(stack, 'B');
    const template = Template.fromStack(stack);
    const functions = template.findResources('AWS::Lambda::Function', {
      Properties: { Handler: 'index.onEvent' },
    });
    expect(Object.keys(functions)).toHaveLength(1);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.onEvent',
      Runtime: Match.stringLikeRegexp('^nodejs(2[2-9]|[3-9][0-9])\\.x$'),
    });
    const policies = template.findResources('AWS::IAM::Policy');
    const kmsStatements = Object.values(policies)
      .flatMap((policy: any) => policy.Properties.PolicyDocument.Statement)
      .filter((statement: any) => [statement.Action].flat().some((action: string) => action.startsWith('kms:')));
    expect(kmsStatements.length).toBeGreaterThanOrEqual(2);
    for (const statement of kmsStatements) {
      expect(statement.Resource).not.toEqual('*');
      expect([statement.Action].flat().sort()).toEqual(expect.arrayContaining(['kms:Sign']));
      for (const action of [statement.Action].flat()) {
        expect(['kms:GetPublicKey', 'kms:Sign']).toContain(action);
      }
    }
  });

  test('the role principal trusts the provider for AssumeRoleWithSAML, TagSession and SetSourceIdentity with SAML:aud and SAML:iss pinned', () => {
    const stack = testStack();
    const idp = new DelegationIdentityProvider(stack, 'Idp', {
      entityId: 'urn:example:idp',
      recipient: 'https://eu-west-1.signin.aws.amazon.com/saml',
    });
    new iam.Role(stack, 'Role', { assumedBy: idp.assumeRolePrincipal() });
    const template = Template.fromStack(stack);
    const provider = onlyResource(template, 'AWS::IAM::SAMLProvider');
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [{
          Effect: 'Allow',
          Principal: { Federated: { Ref: provider.id } },
          Action: ['sts:AssumeRoleWithSAML', 'sts:TagSession', 'sts:SetSourceIdentity'],
          Condition: {
            StringEquals: {
              'SAML:aud': 'https://eu-west-1.signin.aws.amazon.com/saml',
              'SAML:iss': 'urn:example:idp',
            },
          },
        }],
      },
    });
  });

  test('grantSign allows kms:Sign with RSASSA_PKCS1_V1_5_SHA_256 on the signing key only', () => {
    const stack = testStack();
    const idp = new DelegationIdentityProvider(stack, 'Idp');
    const role = new iam.Role(stack, 'Signer', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    idp.grantSign(role);
    const template = Template.fromStack(stack);
    const key = onlyResource(template, 'AWS::KMS::Key');
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^Signer') }],
      PolicyDocument: {
        Statement: [{
          Action: 'kms:Sign',
          Effect: 'Allow',
          Resource: { 'Fn::GetAtt': [key.id, 'Arn'] },
          Condition: { StringEquals: { 'kms:SigningAlgorithm': 'RSASSA_PKCS1_V1_5_SHA_256' } },
        }],
      },
    });
  });

  test('defaults the entityID to a URN unique to the account, region and construct', () => {
    const stack = testStack();
    const idp = new DelegationIdentityProvider(stack, 'Idp');
    expect(stack.resolve(idp.entityId)).toMatch(/^urn:cdk-token-delegation:123456789012:eu-west-1:\w+$/);
    expect(idp.recipient).toBe('https://signin.aws.amazon.com/saml');
    expect(idp.audiences).toEqual(['urn:amazon:webservices', 'https://signin.aws.amazon.com/saml']);
  });

  test.each([
    ['http://signin.aws.amazon.com/saml'],
    ['https://signin.aws.amazon.com/saml/'],
    ['https://evil.example.com/saml'],
    ['https://signin.aws.amazon.com.evil.com/saml'],
  ])('refuses the recipient %s', (recipient) => {
    expect(() => new DelegationIdentityProvider(testStack(), 'Idp', { recipient }))
      .toThrow(/recipient must be an AWS SAML sign-in endpoint/);
  });

  test.each([
    ['https://signin.aws.amazon.com/saml'],
    ['https://us-east-2.signin.aws.amazon.com/saml'],
    ['https://signin.amazonaws.cn/saml'],
  ])('accepts the recipient %s', (recipient) => {
    expect(() => new DelegationIdentityProvider(testStack(), 'Idp', { recipient })).not.toThrow();
  });

  test.each([[''], ['not a uri'], ['relative/path']])('refuses the entityId %j', (entityId) => {
    expect(() => new DelegationIdentityProvider(testStack(), 'Idp', { entityId })).toThrow(/entityId/);
  });

  test('skips validation of unresolved tokens', () => {
    const stack = testStack();
    expect(() => new DelegationIdentityProvider(stack, 'Idp', {
      entityId: Aws.STACK_NAME,
      recipient: Aws.STACK_ID,
    })).not.toThrow();
  });

  test('refuses more than 10 published keys and certificate validity out of range', () => {
    const stack = testStack();
    const keys = Array.from({ length: 11 }, (_, i) => new kms.Key(stack, `K${i}`));
    expect(() => SigningKeys.fromKey(keys[0], { additionalPublishedKeys: keys.slice(1) })).toThrow(/at most 10 keys per SAML provider: got 11/);
    expect(() => SigningKeys.create({ keys: keys.map((_, i) => `k${i}`), activeKey: 'k0' })).toThrow(/at most 10 keys per SAML provider: got 11/);
    expect(() => new DelegationIdentityProvider(testStack(), 'Idp', { certificateValidity: Duration.hours(1) }))
      .toThrow(/certificateValidity/);
  });

  test('an invalid provider name is refused by the SamlProvider L2', () => {
    expect(() => new DelegationIdentityProvider(testStack(), 'Idp', { providerName: 'has space' }))
      .toThrow(/Invalid SAML provider name/);
  });
});

describe('the key administrators', () => {
  const administratorsOf = (template: Template): unknown[] => Object.values(template.findResources('AWS::KMS::Key'))
    .map((key: any) => key.Properties.KeyPolicy.Statement.find((statement: any) => statement.Sid === 'TheAdministratorsManageTheKey').Condition);

  test('default to the role CloudFormation deploys the stack with', () => {
    const stack = testStack();
    new DelegationIdentityProvider(stack, 'Idp');
    expect(stack.resolve(administratorsOf(Template.fromStack(stack)))).toEqual([{
      ArnEquals: { 'aws:PrincipalArn': [{ 'Fn::Sub': 'arn:${AWS::Partition}:iam::123456789012:role/cdk-hnb659fds-cfn-exec-role-123456789012-eu-west-1' }] },
    }]);
    const agnostic = new Stack(new App(), 'Agnostic');
    new DelegationIdentityProvider(agnostic, 'Idp');
    expect(agnostic.resolve(administratorsOf(Template.fromStack(agnostic)))).toEqual([{
      ArnEquals: { 'aws:PrincipalArn': [{ 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/cdk-hnb659fds-cfn-exec-role-${AWS::AccountId}-${AWS::Region}' }] },
    }]);
  });

  test('may be named, and are then the only ones', () => {
    const stack = testStack();
    const deployer = iam.Role.fromRoleArn(stack, 'Deployer', 'arn:aws:iam::123456789012:role/deployment-pipeline');
    new DelegationIdentityProvider(stack, 'Idp', { signingKeys: SigningKeys.create({ administrators: [deployer, new iam.AccountPrincipal('123456789012')] }) });
    expect(stack.resolve(administratorsOf(Template.fromStack(stack)))).toEqual([{
      ArnEquals: { 'aws:PrincipalArn': ['arn:aws:iam::123456789012:role/deployment-pipeline', { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::123456789012:root']] }] },
    }]);
  });

  test('must be named when the stack is deployed without an execution role CDK knows', () => {
    const stack = new Stack(new App(), 'CliCredentials', { synthesizer: new CliCredentialsStackSynthesizer() });
    expect(() => new DelegationIdentityProvider(stack, 'Idp')).toThrow(/deployed without a CloudFormation execution role .* SigningKeys\.create\(\{ administrators: \[\.\.\.\] \}\)/);
    const deployer = iam.Role.fromRoleName(stack, 'Deployer', 'deployment-pipeline');
    expect(() => new DelegationIdentityProvider(stack, 'Named', { signingKeys: SigningKeys.create({ administrators: [deployer] }) })).not.toThrow();
  });

  test('an empty list, or a principal that is not of IAM, is refused', () => {
    expect(() => SigningKeys.create({ administrators: [] })).toThrow(/must name at least one principal/);
    const stack = testStack();
    expect(() => new DelegationIdentityProvider(stack, 'Idp', { signingKeys: SigningKeys.create({ administrators: [new iam.ServicePrincipal('lambda.amazonaws.com')] }) }))
      .toThrow(/administrators must be IAM principals/);
  });
});
