import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import {
  SigningKeys,
  DelegationEndpoint, DelegationIdentityProvider, DelegationRole, JwtIssuer, SessionTag, TokenDelegation,
} from '../../src';
import { DelegationEnv, LAMBDA_ENVIRONMENT_LIMIT_BYTES } from '../../src/contract/delegation-environment';
import { CERTIFICATE_BASE64_CHARS } from '../../src/private/environment-size';
import { auth0Issuer, testStack } from '../support/stacks';

/** What each construct in a fresh deployment would otherwise trip over (issue: the first real deployment). */

function delegationHandler(template: Template): any {
  const functions = template.findResources('AWS::Lambda::Function', { Properties: { Handler: 'index.handler' } });
  return Object.values(functions)[0];
}

function issuers(count: number): JwtIssuer[] {
  return Array.from({ length: count }, (_, index) => JwtIssuer.oidc({
    issuerUrl: `https://tenant-${index}.eu.auth0.com/`,
    audiences: [`client-id-${index}-0123456789abcdef`],
    subjectNamespace: `tenant-${index}`,
  }));
}

/** Session tags of the first issuer (named only when the endpoint has several). */
function tags(count: number, issuer?: JwtIssuer): SessionTag[] {
  return Array.from({ length: count }, (_, index) => SessionTag.fromClaim(`tag-key-${index}`, `https://example.com/claims/attribute-${index}`, { issuer }));
}

describe('sessions shorter than an hour (IAM: a role allows at least one hour)', () => {
  test('TokenDelegation with a 30-minute session synthesizes: the role allows 1 h, the handler hands out 30 min', () => {
    const stack = testStack();
    new TokenDelegation(stack, 'D', { issuers: [auth0Issuer()], sessionDuration: Duration.minutes(30) });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::IAM::Role', { MaxSessionDuration: 3600, AssumeRolePolicyDocument: Match.objectLike({}) });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ [DelegationEnv.SESSION_DURATION_SECONDS]: '1800' }) },
    });
  });

  test('a session longer than a role of this app allows is refused at synth', () => {
    const stack = testStack();
    const identityProvider = new DelegationIdentityProvider(stack, 'Idp');
    const role = new DelegationRole(stack, 'Role', { identityProvider, maxSessionDuration: Duration.hours(1) });
    expect(() => new DelegationEndpoint(stack, 'E', {
      identityProvider, issuers: [auth0Issuer()], defaultRole: role, sessionDuration: Duration.hours(2),
    })).toThrow(/sessionDuration \(7200 s\) exceeds the maximum session duration of role .*Role.* \(3600 s\)/);
  });

  test('an iam.Role without maxSessionDuration counts as IAM\'s default of one hour; an imported role is not checked', () => {
    const stack = testStack();
    const identityProvider = new DelegationIdentityProvider(stack, 'Idp');
    const plain = new iam.Role(stack, 'Plain', { assumedBy: identityProvider.assumeRolePrincipal() });
    expect(() => new DelegationEndpoint(stack, 'E', {
      identityProvider, issuers: [auth0Issuer()], defaultRole: plain, sessionDuration: Duration.minutes(61),
    })).toThrow(/exceeds the maximum session duration/);
    const imported = iam.Role.fromRoleArn(stack, 'Imported', 'arn:aws:iam::123456789012:role/Elsewhere');
    expect(() => new DelegationEndpoint(stack, 'E2', {
      identityProvider, issuers: [auth0Issuer()], defaultRole: imported, sessionDuration: Duration.hours(12),
    })).not.toThrow();
  });
});

describe('Lambda\'s 4 KB environment', () => {
  test('the example-sized configuration fits, with its estimate exposed', () => {
    const stack = testStack();
    const delegation = new TokenDelegation(stack, 'D', { issuers: [auth0Issuer()], allowedOrigins: ['https://app.example.com'] });
    expect(delegation.endpoint.environmentSizeBytes).toBeLessThan(LAMBDA_ENVIRONMENT_LIMIT_BYTES);
    // The estimate bounds what CloudFormation will hand to Lambda: the resolved literal parts plus the longest values of the rest.
    const variables = stack.resolve(delegationHandler(Template.fromStack(stack)).Properties.Environment.Variables);
    expect(Buffer.byteLength(JSON.stringify(variables))).toBeLessThan(delegation.endpoint.environmentSizeBytes);
  });

  test('the certificate is counted by the signing key\'s spec', () => {
    const small = testStack();
    const withSmallKey = new TokenDelegation(small, 'D', { issuers: [auth0Issuer()] });
    const large = testStack();
    const withLargeKey = new TokenDelegation(large, 'D', {
      issuers: [auth0Issuer()],
      identityProvider: { signingKeys: SigningKeys.fromKey(new kms.Key(large, 'Key', { keySpec: kms.KeySpec.RSA_4096, keyUsage: kms.KeyUsage.SIGN_VERIFY })) },
    });
    expect(withLargeKey.endpoint.environmentSizeBytes - withSmallKey.endpoint.environmentSizeBytes)
      .toBe(CERTIFICATE_BASE64_CHARS.RSA_4096 - CERTIFICATE_BASE64_CHARS.RSA_2048);
  });

  test('five issuers and forty session tags are refused at synth, naming what to cut', () => {
    const stack = testStack();
    const five = issuers(5);
    expect(() => new TokenDelegation(stack, 'D', { issuers: five, endpoint: { sessionTags: tags(40, five[0]) } }))
      .toThrow(/up to \d+ bytes of environment variables, over Lambda's limit of 4096 bytes.*DELEGATION_SESSION_TAGS ~\d+ bytes \(fewer session tags/);
  });

  test('the largest supported shapes fit: 3 issuers with 7 session tags, or 1 issuer with 15 session tags', () => {
    for (const [issuerCount, tagCount] of [[3, 7], [1, 15]]) {
      const stack = testStack();
      const several = issuers(issuerCount);
      const delegation = new TokenDelegation(stack, 'D', {
        issuers: issuerCount === 1 ? [auth0Issuer()] : several,
        endpoint: { sessionTags: tags(tagCount, issuerCount === 1 ? undefined : several[0]) },
        allowedOrigins: ['https://app.example.com'],
      });
      expect(delegation.endpoint.environmentSizeBytes).toBeLessThanOrEqual(LAMBDA_ENVIRONMENT_LIMIT_BYTES);
    }
  });
});

describe('a default that deploys into a brand-new account', () => {
  test('no concurrency is reserved unless asked for', () => {
    const stack = testStack();
    new TokenDelegation(stack, 'D', { issuers: [auth0Issuer()] });
    expect(delegationHandler(Template.fromStack(stack)).Properties.ReservedConcurrentExecutions).toBeUndefined();
  });
});

describe('API Gateway\'s own answers', () => {
  const gatewayResponses = (allowedOrigins: string[]) => {
    const stack = testStack();
    new TokenDelegation(stack, 'D', { issuers: [auth0Issuer()], allowedOrigins });
    return { stack, template: Template.fromStack(stack) };
  };

  test.each(['THROTTLED', 'BAD_REQUEST_BODY', 'MISSING_AUTHENTICATION_TOKEN', 'DEFAULT_4XX', 'DEFAULT_5XX'])(
    '%s carries the allowed origin and an OAuth-style JSON body', (type) => {
      const { template } = gatewayResponses(['https://app.example.com']);
      const responses = template.findResources('AWS::ApiGateway::GatewayResponse', { Properties: { ResponseType: type } });
      expect(Object.keys(responses)).toHaveLength(1);
      const properties = Object.values(responses)[0].Properties;
      expect(properties.ResponseParameters).toMatchObject({
        'gatewayresponse.header.Access-Control-Allow-Origin': "'https://app.example.com'",
        'gatewayresponse.header.Cache-Control': "'no-store'",
        'gatewayresponse.header.Content-Type': "'application/json'",
      });
      const body = JSON.parse(properties.ResponseTemplates['application/json']);
      expect(Object.keys(body).sort()).toEqual(['error', 'error_description']);
    });

  test('with several origins the gateway\'s answers name none (never every origin) and synthesis warns', () => {
    const { stack, template } = gatewayResponses(['https://a.example.com', 'https://b.example.com']);
    const responses = Object.values(template.findResources('AWS::ApiGateway::GatewayResponse'));
    expect(responses.length).toBeGreaterThan(0);
    for (const response of responses) {
      expect(Object.keys(response.Properties.ResponseParameters)).not.toContain('gatewayresponse.header.Access-Control-Allow-Origin');
    }
    Annotations.fromStack(stack).hasWarning('*', Match.stringLikeRegexp('several allowedOrigins'));
  });
});

describe('partitions', () => {
  const samlOf = (stack: Stack) => {
    const delegation = new TokenDelegation(stack, 'D', { issuers: [auth0Issuer()] });
    const template = Template.fromStack(stack);
    const variables = stack.resolve(delegationHandler(template).Properties.Environment.Variables);
    const trust = Object.values(template.findResources('AWS::IAM::Role'))
      .map((role: any) => stack.resolve(role.Properties.AssumeRolePolicyDocument))
      .find((document: any) => JSON.stringify(document).includes('AssumeRoleWithSAML'));
    return { delegation, template, recipient: variables[DelegationEnv.SAML_RECIPIENT], trust };
  };

  test.each([
    ['cn-north-1', 'https://signin.amazonaws.cn/saml', 'urn:amazon:webservices:cn-north-1'],
    ['us-gov-west-1', 'https://signin.amazonaws-us-gov.com/saml', 'urn:amazon:webservices:govcloud'],
    ['eu-west-1', 'https://signin.aws.amazon.com/saml', 'urn:amazon:webservices'],
  ])('a stack in %s trusts and emits its partition\'s Recipient and Audience', (region, recipient, audience) => {
    const stack = new Stack(new App(), 'S', { env: { account: '123456789012', region } });
    const result = samlOf(stack);
    expect(result.recipient).toBe(recipient);
    expect(JSON.stringify(result.trust)).toContain(`"SAML:aud":"${recipient}"`);
    expect(result.delegation.identityProvider.audiences).toEqual([audience, recipient]);
  });

  test('an explicit Recipient brings its own partition\'s Audience, and no mapping is added', () => {
    const stack = new Stack(new App(), 'Explicit');
    const delegation = new TokenDelegation(stack, 'D', { issuers: [auth0Issuer()], identityProvider: { recipient: 'https://cn-northwest-1.signin.amazonaws.cn/saml' } });
    expect(delegation.identityProvider.audiences).toEqual(['urn:amazon:webservices:cn-north-1', 'https://cn-northwest-1.signin.amazonaws.cn/saml']);
    expect(Template.fromStack(stack).toJSON().Mappings).toBeUndefined();
  });

  test('an environment-agnostic stack resolves Recipient and trust at deploy time from AWS::Partition', () => {
    const stack = new Stack(new App(), 'Agnostic');
    const { template, recipient, trust } = samlOf(stack);
    expect(recipient).toEqual({ 'Fn::FindInMap': [expect.any(String), { Ref: 'AWS::Partition' }, 'Recipient'] });
    expect(JSON.stringify(trust)).toContain('"SAML:aud":{"Fn::FindInMap"');
    const mapping = Object.values(template.toJSON().Mappings)[0] as Record<string, Record<string, string>>;
    expect(mapping['aws-cn']).toEqual({ Recipient: 'https://signin.amazonaws.cn/saml', Audience: 'urn:amazon:webservices:cn-north-1' });
    expect(mapping['aws-us-gov']).toEqual({ Recipient: 'https://signin.amazonaws-us-gov.com/saml', Audience: 'urn:amazon:webservices:govcloud' });
    expect(mapping.aws).toEqual({ Recipient: 'https://signin.aws.amazon.com/saml', Audience: 'urn:amazon:webservices' });
  });
});

describe('the signing certificate reaches the handler for ds:KeyInfo', () => {
  test('DELEGATION_SIGNING_CERTIFICATE is the signing key\'s certificate attribute', () => {
    const stack = testStack();
    new TokenDelegation(stack, 'D', { issuers: [auth0Issuer()] });
    const template = Template.fromStack(stack);
    const variables = stack.resolve(delegationHandler(template).Properties.Environment.Variables);
    const [certificateId] = Object.keys(template.findResources('Custom::DelegationSigningCertificate'));
    expect(variables[DelegationEnv.SIGNING_CERTIFICATE]).toEqual({ 'Fn::GetAtt': [certificateId, 'CertificateBase64'] });
  });
});

describe('inputs refused or warned about at synth', () => {
  test('a bucket given with allowedOrigins warns that its CORS is the user\'s to configure', () => {
    const stack = testStack();
    const bucket = s3.Bucket.fromBucketName(stack, 'Existing', 'existing-bucket');
    new TokenDelegation(stack, 'D', { issuers: [auth0Issuer()], bucket, allowedOrigins: ['https://app.example.com'] });
    Annotations.fromStack(stack).hasWarning('/TestStack/D', Match.stringLikeRegexp('CORS rule.*https://app.example.com'));
  });

  test('a bucket given without allowedOrigins does not warn', () => {
    const stack = testStack();
    new TokenDelegation(stack, 'D', { issuers: [auth0Issuer()], bucket: s3.Bucket.fromBucketName(stack, 'Existing', 'existing-bucket') });
    Annotations.fromStack(stack).hasNoWarning('*', Match.stringLikeRegexp('CORS rule'));
  });

  test.each([
    ['a symmetric key', { }, /must be an RSA KMS key .* has key spec SYMMETRIC_DEFAULT/],
    ['an RSA key for encryption', { keySpec: kms.KeySpec.RSA_2048, keyUsage: kms.KeyUsage.ENCRYPT_DECRYPT }, /must have key usage SIGN_VERIFY/],
    ['an ECC key', { keySpec: kms.KeySpec.ECC_NIST_P256, keyUsage: kms.KeyUsage.SIGN_VERIFY }, /has key spec ECC_NIST_P256/],
    ['an HMAC key', { keySpec: kms.KeySpec.HMAC_256, keyUsage: kms.KeyUsage.GENERATE_VERIFY_MAC }, /has key spec HMAC_256/],
  ])('%s as signingKey is refused', (_name, keyProps, message) => {
    const stack = testStack();
    const signingKey = new kms.Key(stack, 'Key', keyProps as kms.KeyProps);
    expect(() => new TokenDelegation(stack, 'D', { issuers: [auth0Issuer()], identityProvider: { signingKeys: SigningKeys.fromKey(signingKey) } })).toThrow(message);
  });

  test('RSA_3072 and imported keys are accepted', () => {
    const stack = testStack();
    const rsa = new kms.Key(stack, 'Key', { keySpec: kms.KeySpec.RSA_3072, keyUsage: kms.KeyUsage.SIGN_VERIFY });
    expect(() => new DelegationIdentityProvider(stack, 'A', { signingKeys: SigningKeys.fromKey(rsa) })).not.toThrow();
    const imported = kms.Key.fromKeyArn(stack, 'Imported', 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab');
    expect(() => new DelegationIdentityProvider(stack, 'B', { signingKeys: SigningKeys.fromKey(imported) })).not.toThrow();
  });

  test.each([
    ['/users/', /must not start with '\/'/],
    ['users', /must end with '\/'/],
    ['users//', /empty segment/],
    ['users/*/', /wildcards/],
    ['a\\b/', /backslashes/],
  ])('userPrefix %j is refused', (userPrefix, message) => {
    expect(() => new TokenDelegation(testStack(), 'D', { issuers: [auth0Issuer()], userPrefix })).toThrow(message);
  });

  test.each(['', 'users/', 'app/users/'])('userPrefix %j is accepted', (userPrefix) => {
    expect(() => new TokenDelegation(testStack(), 'D', { issuers: [auth0Issuer()], userPrefix })).not.toThrow();
  });
});

describe('what cdk destroy removes', () => {
  test('by default the key, the bucket and every log group are retained', () => {
    const stack = testStack();
    new TokenDelegation(stack, 'D', { issuers: [auth0Issuer()] });
    const template = Template.fromStack(stack);
    template.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Retain' });
    for (const logGroup of Object.values(template.findResources('AWS::Logs::LogGroup'))) {
      expect(logGroup.DeletionPolicy).toBe('Retain');
    }
  });

  test('DESTROY for the bucket (with autoDeleteObjects), the keys and every log group leaves nothing behind', () => {
    const stack = testStack();
    new TokenDelegation(stack, 'D', {
      issuers: [auth0Issuer()],
      removalPolicy: RemovalPolicy.DESTROY,
      autoDeleteObjects: true,
      identityProvider: { signingKeys: SigningKeys.create({ removalPolicy: RemovalPolicy.DESTROY }), logRemovalPolicy: RemovalPolicy.DESTROY },
      endpoint: { logRemovalPolicy: RemovalPolicy.DESTROY },
    });
    const template = Template.fromStack(stack);
    template.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Delete' });
    template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Delete' });
    template.resourceCountIs('Custom::S3AutoDeleteObjects', 1);
    const logGroups = Object.values(template.findResources('AWS::Logs::LogGroup'));
    expect(logGroups.length).toBeGreaterThanOrEqual(4);
    for (const logGroup of logGroups) {
      expect(logGroup.DeletionPolicy).toBe('Delete');
    }
  });

  test('autoDeleteObjects needs removalPolicy DESTROY and a bucket created here', () => {
    expect(() => new TokenDelegation(testStack(), 'D', { issuers: [auth0Issuer()], autoDeleteObjects: true }))
      .toThrow(/autoDeleteObjects needs removalPolicy/);
  });
});
