import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { logicalIdsOfType, resolvedProperties } from '../../local/cloudformation';
import {
  SigningKeys,
  DelegationEndpoint, DelegationIdentityProvider, DelegationIdentityProviderProps, DelegationOutcome, DelegationRole, IDelegationIdentityProvider,
  TokenDelegation,
} from '../../src';
import { DelegationEnv } from '../../src/contract/delegation-environment';
import { auth0Issuer, testStack } from '../support/stacks';

const env = { account: '123456789012', region: 'eu-west-1' };
const attributes = {
  samlProviderArn: 'arn:aws:iam::123456789012:saml-provider/Delegation',
  entityId: 'urn:cdk-token-delegation:elsewhere',
  signingKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/aaaaaaaa-0000-4000-8000-000000000000',
  signingCertificate: 'MIIBszCCAVmgAwIBAgIU',
};

describe('DelegationIdentityProvider.fromAttributes', () => {
  function importedEndpoint(handlerRoleName?: string) {
    const stack = testStack();
    const identityProvider: IDelegationIdentityProvider = DelegationIdentityProvider.fromDelegationIdentityProviderAttributes(stack, 'Idp', attributes);
    const role = new DelegationRole(stack, 'UserRole', { identityProvider });
    const endpoint = new DelegationEndpoint(stack, 'Endpoint', { identityProvider, issuers: [auth0Issuer()], defaultRole: role, handlerRoleName });
    return { stack, endpoint, template: Template.fromStack(stack) };
  }

  test('an endpoint and a role use the imported provider: its ARN, entityID, key and certificate', () => {
    const { template } = importedEndpoint();
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          [DelegationEnv.SAML_PROVIDER_ARN]: attributes.samlProviderArn,
          [DelegationEnv.SAML_ENTITY_ID]: attributes.entityId,
          [DelegationEnv.KMS_KEY_ARN]: attributes.signingKeyArn,
          [DelegationEnv.SIGNING_CERTIFICATE]: attributes.signingCertificate,
          [DelegationEnv.SAML_RECIPIENT]: 'https://signin.aws.amazon.com/saml',
        }),
      },
    });
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [Match.objectLike({
          Principal: { Federated: attributes.samlProviderArn },
          Action: ['sts:AssumeRoleWithSAML', 'sts:TagSession', 'sts:SetSourceIdentity'],
          Condition: { StringEquals: { 'SAML:aud': 'https://signin.aws.amazon.com/saml', 'SAML:iss': attributes.entityId } },
        })],
      },
    });
    template.resourceCountIs('AWS::KMS::Key', 0);
    template.resourceCountIs('AWS::IAM::SAMLProvider', 0);
  });

  test('the handler may sign with the imported key, and synthesis warns that its key policy must allow the role', () => {
    const { stack, template } = importedEndpoint('delegation-handler');
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 'kms:Sign', Resource: attributes.signingKeyArn })]) },
    });
    template.hasResourceProperties('AWS::IAM::Role', { RoleName: 'delegation-handler' });
    const warnings = Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('signing key\'s policy must allow kms:Sign'));
    expect(warnings).toHaveLength(1);
  });

  test('refuses a PEM-armoured certificate, a malformed entityID and a foreign recipient', () => {
    const stack = testStack();
    expect(() => DelegationIdentityProvider.fromDelegationIdentityProviderAttributes(stack, 'A', { ...attributes, signingCertificate: '-----BEGIN CERTIFICATE-----' }))
      .toThrow(/base64 DER of the certificate on one line/);
    expect(() => DelegationIdentityProvider.fromDelegationIdentityProviderAttributes(stack, 'B', { ...attributes, entityId: 'not a uri' })).toThrow(/entityId must be an absolute URI/);
    expect(() => DelegationIdentityProvider.fromDelegationIdentityProviderAttributes(stack, 'C', { ...attributes, recipient: 'https://evil.example.com/saml' }))
      .toThrow(/recipient must be an AWS SAML sign-in endpoint/);
  });

  test('identity provider in one stack, endpoint in another, imported by attributes; the key policy names the fixed handler role', () => {
    const app = new App();
    const idpStack = new Stack(app, 'IdentityStack', { env });
    const apiStack = new Stack(app, 'ApiStack', { env });
    const made = new DelegationIdentityProvider(idpStack, 'Idp');
    made.allowSigningBy(apiStack.formatArn({ service: 'iam', region: '', resource: 'role', resourceName: 'delegation-handler' }));
    const imported = DelegationIdentityProvider.fromDelegationIdentityProviderAttributes(apiStack, 'Idp', {
      samlProviderArn: made.samlProvider.samlProviderArn,
      entityId: made.entityId,
      signingKeyArn: made.signingKey.keyArn,
      signingCertificate: made.signingCertificate,
    });
    const role = new DelegationRole(apiStack, 'UserRole', { identityProvider: imported });
    new DelegationEndpoint(apiStack, 'Endpoint', { identityProvider: imported, issuers: [auth0Issuer()], defaultRole: role, handlerRoleName: 'delegation-handler' });
    const api = Template.fromStack(apiStack);
    api.hasResourceProperties('AWS::IAM::Role', { RoleName: 'delegation-handler' });
    const idp = Template.fromStack(idpStack).toJSON() as any;
    const keyPolicy = JSON.stringify(idpStack.resolve(resolvedProperties(idp, logicalIdsOfType(idp, 'AWS::KMS::Key')[0]).KeyPolicy));
    expect(keyPolicy).toContain(':role/delegation-handler');
  });

  test('allowSigningBy refuses what is not a role ARN, and a key that was given', () => {
    const stack = testStack();
    const made = new DelegationIdentityProvider(stack, 'Idp');
    expect(() => made.allowSigningBy('arn:aws:iam::123456789012:user/someone')).toThrow(/is not an IAM role ARN/);
    const key = new kms.Key(stack, 'K', { keySpec: kms.KeySpec.RSA_2048, keyUsage: kms.KeyUsage.SIGN_VERIFY });
    const given = new DelegationIdentityProvider(stack, 'Given', { signingKeys: SigningKeys.fromKey(key) });
    expect(() => given.allowSigningBy('arn:aws:iam::123456789012:role/x')).toThrow(/its own key policy decides/);
  });
});

describe('TokenDelegation takes the endpoint\'s options as one prop and exposes its DelegationRole', () => {
  test('endpoint options reach the endpoint: rate limit, throttling, stage, CloudWatch role, session tags', () => {
    const stack = testStack();
    new TokenDelegation(stack, 'D', {
      issuers: [auth0Issuer()],
      endpoint: {
        rateLimit: { perIp: 100 },
        throttlingRateLimit: 5,
        throttlingBurstLimit: 10,
        stageName: 'prod',
        createApiGatewayCloudWatchRole: false,
        reservedConcurrency: 3,
      },
    });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::WAFv2::WebACL', 1);
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'prod',
      MethodSettings: [Match.objectLike({ ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 })],
    });
    template.resourceCountIs('AWS::ApiGateway::Account', 0);
    template.hasResourceProperties('AWS::Lambda::Function', { Handler: 'index.handler', ReservedConcurrentExecutions: 3 });
  });

  test('the role is an iam.Role: bucket.grantRead(delegation.role) puts the grant on the SAML role\'s own policy', () => {
    const stack = testStack();
    const delegation = new TokenDelegation(stack, 'D', { issuers: [auth0Issuer()] });
    const shared = new s3.Bucket(stack, 'Shared');
    shared.grantRead(delegation.role);
    const template = Template.fromStack(stack);
    const roleId = stack.getLogicalId(delegation.role.node.defaultChild as iam.CfnRole);
    expect(template.toJSON().Resources[roleId].Properties.AssumeRolePolicyDocument.Statement[0].Action).toContain('sts:AssumeRoleWithSAML');
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: roleId }],
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: Match.arrayWith(['s3:GetObject*']), Resource: Match.arrayWith([{ 'Fn::GetAtt': [stack.getLogicalId(shared.node.defaultChild as s3.CfnBucket), 'Arn'] }]) })]) },
    });
  });

  test('every option of the identity provider is reachable from TokenDelegation, as one prop', () => {
    const stack = testStack();
    const options: Required<DelegationIdentityProviderProps> = {
      signingKeys: SigningKeys.create({ keys: ['1', '2'], activeKey: '2', removalPolicy: RemovalPolicy.DESTROY }),
      entityId: 'urn:example:idp',
      recipient: 'https://eu-west-1.signin.aws.amazon.com/saml',
      providerName: 'example-idp',
      certificateValidity: Duration.days(400),
      logRemovalPolicy: RemovalPolicy.DESTROY,
    };
    const delegation = new TokenDelegation(stack, 'D', { issuers: [auth0Issuer()], identityProvider: options });
    const template = Template.fromStack(stack);
    expect(delegation.identityProvider.entityId).toBe('urn:example:idp');
    expect(delegation.identityProvider.recipient).toBe(options.recipient);
    expect(delegation.identityProvider.publishedKeys).toHaveLength(2);
    template.hasResourceProperties('AWS::IAM::SAMLProvider', { Name: 'example-idp' });
    template.hasResourceProperties('Custom::DelegationSigningCertificate', { ValidityDays: '400' });
    expect(Object.values(template.findResources('AWS::KMS::Key')).map((key) => key.DeletionPolicy)).toEqual(['Delete', 'Delete']);
    const certificateLogs = Object.entries(template.findResources('AWS::Logs::LogGroup')).filter(([id]) => id.startsWith('TokenDelegationSigningCertificateProvider'));
    expect(certificateLogs.map(([, group]) => group.DeletionPolicy)).toEqual(certificateLogs.map(() => 'Delete'));
    const handler = Object.values(template.findResources('AWS::Lambda::Function', { Properties: { Handler: 'index.handler' } }))[0];
    expect(handler.Properties.Environment.Variables[DelegationEnv.SAML_ENTITY_ID]).toBe('urn:example:idp');
    expect(stack.resolve(handler.Properties.Environment.Variables[DelegationEnv.KMS_KEY_ARN]))
      .toEqual(stack.resolve(delegation.identityProvider.signingKey.keyArn));
  });

  test('the role is the DelegationRole it is, so further grants reach it', () => {
    const stack = testStack();
    const delegation = new TokenDelegation(stack, 'D', { issuers: [auth0Issuer()] });
    expect(delegation.role).toBeInstanceOf(DelegationRole);
    const table = new dynamodb.TableV2(stack, 'Notes', { partitionKey: { name: 'userId', type: dynamodb.AttributeType.STRING } });
    expect(delegation.role.grantUserItems(table).success).toBe(true);
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: Match.arrayWith(['dynamodb:Query']) })]) },
    });
  });

  test('two identity providers of one stack that disagree on the certificate function\'s logs are refused, not silently overridden', () => {
    const stack = testStack();
    new TokenDelegation(stack, 'A', { issuers: [auth0Issuer()], identityProvider: { logRemovalPolicy: RemovalPolicy.DESTROY } });
    expect(() => new TokenDelegation(stack, 'B', { issuers: [auth0Issuer()], identityProvider: { logRemovalPolicy: RemovalPolicy.RETAIN } }))
      .toThrow(/B\/IdentityProvider asks for retain on the certificate function's logs, but .*A\/IdentityProvider asked for destroy/);
  });

  test('identity providers that agree, or leave the certificate function\'s logs alone, share one function', () => {
    const stack = testStack();
    new TokenDelegation(stack, 'A', { issuers: [auth0Issuer()], identityProvider: { logRemovalPolicy: RemovalPolicy.DESTROY } });
    new TokenDelegation(stack, 'B', { issuers: [auth0Issuer()] });
    new TokenDelegation(stack, 'C', { issuers: [auth0Issuer()], identityProvider: { logRemovalPolicy: RemovalPolicy.DESTROY } });
    const template = Template.fromStack(stack);
    const certificateLogs = Object.entries(template.findResources('AWS::Logs::LogGroup'))
      .filter(([id]) => id.startsWith('TokenDelegationSigningCertificateProvider'));
    expect(certificateLogs.length).toBeGreaterThan(0);
    expect(certificateLogs.map(([, group]) => group.DeletionPolicy)).toEqual(certificateLogs.map(() => 'Delete'));
  });
});

test('metricOutcome takes a typed outcome and reads the handler\'s metric', () => {
  const stack = testStack();
  const delegation = new TokenDelegation(stack, 'D', { issuers: [auth0Issuer()] });
  const metric = delegation.endpoint.metricOutcome(DelegationOutcome.TEMPORARILY_UNAVAILABLE, { period: Duration.minutes(5) });
  expect([metric.namespace, metric.metricName, metric.dimensions, metric.statistic])
    .toEqual(['TokenDelegation', 'Requests', { Outcome: 'temporarily_unavailable' }, 'Sum']);
  expect(Object.values(DelegationOutcome).sort()).toEqual(
    ['access_denied', 'invalid_request', 'invalid_token', 'issued', 'server_error', 'temporarily_unavailable', 'unsupported_grant_type'],
  );
});
