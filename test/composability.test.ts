import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import { logicalIdsOfType, resolvedProperties } from '../local/cloudformation';
import {
  DelegationEndpoint, DelegationIdentityProvider, DelegationOutcome, DelegationRole, IDelegationIdentityProvider, TokenDelegation,
} from '../src';
import { DelegationEnv } from '../src/delegation-environment';
import { auth0Issuer, testStack } from './support/stacks';

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
    const identityProvider: IDelegationIdentityProvider = DelegationIdentityProvider.fromAttributes(stack, 'Idp', attributes);
    const role = new DelegationRole(stack, 'UserRole', { identityProvider });
    const endpoint = new DelegationEndpoint(stack, 'Endpoint', { identityProvider, issuers: [auth0Issuer()], defaultRole: role.role, handlerRoleName });
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
    expect(() => DelegationIdentityProvider.fromAttributes(stack, 'A', { ...attributes, signingCertificate: '-----BEGIN CERTIFICATE-----' }))
      .toThrow(/base64 DER of the certificate on one line/);
    expect(() => DelegationIdentityProvider.fromAttributes(stack, 'B', { ...attributes, entityId: 'not a uri' })).toThrow(/entityId must be an absolute URI/);
    expect(() => DelegationIdentityProvider.fromAttributes(stack, 'C', { ...attributes, recipient: 'https://evil.example.com/saml' }))
      .toThrow(/recipient must be an AWS SAML sign-in endpoint/);
  });

  test('identity provider in one stack, endpoint in another, imported by attributes; the key policy names the fixed handler role', () => {
    const app = new App();
    const idpStack = new Stack(app, 'IdentityStack', { env });
    const apiStack = new Stack(app, 'ApiStack', { env });
    const made = new DelegationIdentityProvider(idpStack, 'Idp');
    made.allowSigningBy(apiStack.formatArn({ service: 'iam', region: '', resource: 'role', resourceName: 'delegation-handler' }));
    const imported = DelegationIdentityProvider.fromAttributes(apiStack, 'Idp', {
      samlProviderArn: made.samlProvider.samlProviderArn,
      entityId: made.entityId,
      signingKeyArn: made.signingKey.keyArn,
      signingCertificate: made.signingCertificate,
    });
    const role = new DelegationRole(apiStack, 'UserRole', { identityProvider: imported });
    new DelegationEndpoint(apiStack, 'Endpoint', { identityProvider: imported, issuers: [auth0Issuer()], defaultRole: role.role, handlerRoleName: 'delegation-handler' });
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
    const given = new DelegationIdentityProvider(stack, 'Given', { signingKey: key });
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

  test('logRemovalPolicy given twice is refused', () => {
    const stack = testStack();
    expect(() => new TokenDelegation(stack, 'D', {
      issuers: [auth0Issuer()], logRemovalPolicy: RemovalPolicy.DESTROY, endpoint: { logRemovalPolicy: RemovalPolicy.RETAIN },
    })).toThrow(/Give logRemovalPolicy once/);
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
