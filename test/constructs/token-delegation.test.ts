import { Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { resolvedProperties } from '../../local/cloudformation';
import { SigningKeys, TokenDelegation, UserPrefixAccess } from '../../src';
import { auth0Issuer, testStack } from '../support/stacks';

describe('TokenDelegation', () => {
  test('creates a private, encrypted, TLS-only, retained bucket with CORS for the app origins', () => {
    const stack = testStack();
    const delegation = new TokenDelegation(stack, 'D', { issuers: [auth0Issuer()], allowedOrigins: ['https://app.example.com'] });
    const template = Template.fromStack(stack);
    template.hasResource('AWS::S3::Bucket', {
      Properties: {
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true,
        },
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        CorsConfiguration: {
          CorsRules: [Match.objectLike({ AllowedOrigins: ['https://app.example.com'], AllowedMethods: Match.arrayWith(['GET', 'PUT']) })],
        },
      },
      DeletionPolicy: 'Retain',
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({
          Effect: 'Deny',
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        })]),
      },
    });
    expect(delegation.bucket).toBeInstanceOf(s3.Bucket);
  });

  test('no bucket CORS without origins', () => {
    const stack = testStack();
    new TokenDelegation(stack, 'D', { issuers: [auth0Issuer()] });
    Template.fromStack(stack).hasResourceProperties('AWS::S3::Bucket', { CorsConfiguration: Match.absent() });
  });

  test('uses the given bucket and creates none', () => {
    const stack = testStack();
    const bucket = s3.Bucket.fromBucketName(stack, 'Existing', 'existing-bucket');
    const delegation = new TokenDelegation(stack, 'D', { issuers: [auth0Issuer()], bucket, access: UserPrefixAccess.READ });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::S3::Bucket', 0);
    expect(delegation.bucket).toBe(bucket);
    const statements = JSON.stringify(template.findResources('AWS::IAM::Policy'));
    expect(statements).toContain('arn:');
    expect(statements).toContain(':s3:::existing-bucket/users/${saml:sub}/*');
    expect(statements).not.toContain('s3:PutObject');
  });

  test('uses the given signing key and creates none', () => {
    const stack = testStack();
    const signingKey = new kms.Key(stack, 'Mine', { keySpec: kms.KeySpec.RSA_3072, keyUsage: kms.KeyUsage.SIGN_VERIFY });
    const delegation = new TokenDelegation(stack, 'D', { issuers: [auth0Issuer()], identityProvider: { signingKeys: SigningKeys.fromKey(signingKey) } });
    Template.fromStack(stack).resourceCountIs('AWS::KMS::Key', 1);
    expect(delegation.identityProvider.signingKey).toBe(signingKey);
  });

  test.each([
    ['13 hours', Duration.hours(13)],
    ['14 minutes', Duration.minutes(14)],
  ])('a session of %s is refused as sessionDuration, with its documented bounds', (_name, sessionDuration) => {
    expect(() => new TokenDelegation(testStack(), 'D', { issuers: [auth0Issuer()], sessionDuration }))
      .toThrow(/^sessionDuration must be between 15 minutes and 12 hours, got \d+ seconds$/);
  });

  test('a given bucket with allowedOrigins warns that its CORS is the user\'s, without calling it imported', () => {
    const stack = testStack();
    const bucket = new s3.Bucket(stack, 'Mine');
    new TokenDelegation(stack, 'D', { issuers: [auth0Issuer()], bucket, allowedOrigins: ['https://app.example.com'] });
    const warnings = Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('CORS rule'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0].entry.data).toMatch(/was given to this construct, which does not change it/);
    expect(warnings[0].entry.data).not.toMatch(/imported/);
  });

  describe('a given bucket with its own KMS key: whether it uses S3 Bucket Keys', () => {
    const bucketKeyWarnings = (stack: Stack) => Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('S3 Bucket Keys'));
    const importedEncryptedBucket = (stack: Stack) => s3.Bucket.fromBucketAttributes(stack, 'Existing', {
      bucketName: 'existing-bucket',
      encryptionKey: kms.Key.fromKeyArn(stack, 'ExistingKey', 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab'),
    });

    test('an imported bucket with a key and no bucketKeyEnabled warns, naming the bucket and both answers', () => {
      const stack = testStack();
      new TokenDelegation(stack, 'D', { issuers: [auth0Issuer()], bucket: importedEncryptedBucket(stack) });
      const warnings = bucketKeyWarnings(stack);
      expect(warnings).toHaveLength(1);
      expect(warnings[0].entry.data).toMatch(/^The bucket existing-bucket was not created in this app and has an encryption key/);
      expect(warnings[0].entry.data).toMatch(/Give bucketKeyEnabled: true if it does .* or bucketKeyEnabled: false if it does not\./);
    });

    test.each([true, false])('bucketKeyEnabled: %s silences it', (bucketKeyEnabled) => {
      const stack = testStack();
      new TokenDelegation(stack, 'D', { issuers: [auth0Issuer()], bucket: importedEncryptedBucket(stack), bucketKeyEnabled });
      expect(bucketKeyWarnings(stack)).toEqual([]);
    });

    test('a bucket created in this app, whose settings are read, does not warn', () => {
      const stack = testStack();
      const bucket = new s3.Bucket(stack, 'Mine', { encryption: s3.BucketEncryption.KMS, bucketKeyEnabled: true });
      new TokenDelegation(stack, 'D', { issuers: [auth0Issuer()], bucket });
      expect(bucketKeyWarnings(stack)).toEqual([]);
    });

    test('an imported bucket without a key does not warn', () => {
      const stack = testStack();
      new TokenDelegation(stack, 'D', { issuers: [auth0Issuer()], bucket: s3.Bucket.fromBucketName(stack, 'Plain', 'plain-bucket') });
      expect(bucketKeyWarnings(stack)).toEqual([]);
    });
  });

  test('a custom domain given as endpoint.domainName is passed on and maps the stage at the root path (as the migration guide says)', () => {
    const stack = testStack();
    const certificate = acm.Certificate.fromCertificateArn(stack, 'Cert', 'arn:aws:acm:eu-west-1:123456789012:certificate/abc');
    new TokenDelegation(stack, 'D', { issuers: [auth0Issuer()], endpoint: { domainName: { domainName: 'auth.example.com', certificate } } });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::ApiGateway::DomainName', { DomainName: 'auth.example.com' });
    template.hasResourceProperties('AWS::ApiGateway::BasePathMapping', { BasePath: Match.absent(), Stage: Match.anyValue() });
  });

  test('the session duration is the role\'s maximum and the handler\'s default', () => {
    const stack = testStack();
    new TokenDelegation(stack, 'D', { issuers: [auth0Issuer()], sessionDuration: Duration.hours(2) });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::IAM::Role', { MaxSessionDuration: 7200 });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ DELEGATION_SESSION_DURATION_SECONDS: '7200' }) },
    });
  });

  test.each([
    [{}, undefined],
    [{ reservedConcurrency: 4 }, 4],
  ])('the handler\'s reserved concurrency follows endpoint: %j', (props, expected) => {
    const stack = testStack();
    const delegation = new TokenDelegation(stack, 'D', { issuers: [auth0Issuer()], endpoint: props });
    const handlerId = stack.getLogicalId(delegation.endpoint.handler.node.defaultChild as any);
    const handler = Template.fromStack(stack).toJSON().Resources[handlerId];
    expect(handler.Properties.ReservedConcurrentExecutions).toBe(expected);
  });

  test('a regional recipient reaches both the trust policy and the handler', () => {
    const stack = testStack();
    const recipient = 'https://eu-west-1.signin.aws.amazon.com/saml';
    new TokenDelegation(stack, 'D', { issuers: [auth0Issuer()], identityProvider: { recipient } });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Condition: { StringEquals: Match.objectLike({ 'SAML:aud': recipient }) } })] },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ DELEGATION_SAML_RECIPIENT: recipient }) },
    });
  });

  test('clients may name the role (as Auth0 clients do), and no other', () => {
    const stack = testStack();
    const delegation = new TokenDelegation(stack, 'D', { issuers: [auth0Issuer()] });
    const template = Template.fromStack(stack).toJSON() as any;
    const handlerId = stack.getLogicalId(delegation.endpoint.handler.node.defaultChild as any);
    const roles = JSON.parse(resolvedProperties(template, handlerId).Environment.Variables.DELEGATION_ROLES);
    const roleArn = `arn:aws:iam::123456789012:role/${stack.getLogicalId(delegation.role.node.defaultChild as any)}`;
    expect(roles).toEqual({ defaultRoleArn: roleArn, rules: [], clientSelectable: [roleArn] });
  });

  test('exposes the endpoint URL, role, provider and bucket', () => {
    const stack = testStack();
    const delegation = new TokenDelegation(stack, 'D', { issuers: [auth0Issuer()] });
    expect(JSON.stringify(stack.resolve(delegation.endpointUrl))).toContain('/delegation');
    expect(delegation.role.roleArn).toBeDefined();
    expect(delegation.identityProvider.samlProvider.samlProviderArn).toBeDefined();
  });
});
