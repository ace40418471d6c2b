import { CfnOutput, Stack, StackProps, Validations } from 'aws-cdk-lib';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { JwtIssuer, TokenDelegation } from '../src';

/** Settings of the example: one Auth0 tenant, one web app. */
export interface ExampleStackProps extends StackProps {
  /** Exact `iss` of the tenant's id tokens. */
  readonly issuerUrl?: string;
  /** The app's client id (the id tokens' audience). */
  readonly clientId?: string;
  /** The app's origin. */
  readonly appOrigin?: string;
}

/**
 * An app whose users sign in with Auth0 and read and write `users/<their id>/` in a bucket made here.
 */
export class ExampleStack extends Stack {
  public readonly delegation: TokenDelegation;

  constructor(scope: Construct, id: string, props: ExampleStackProps = {}) {
    super(scope, id, props);
    this.delegation = new TokenDelegation(this, 'Delegation', {
      issuers: [JwtIssuer.oidc({
        issuerUrl: props.issuerUrl ?? 'https://example-tenant.us.auth0.com/',
        audiences: [props.clientId ?? 'EXAMPLE_CLIENT_ID'],
      })],
      allowedOrigins: [props.appOrigin ?? 'https://app.example.com'],
    });
    const bucketLogs = {
      id: 'AwsSolutions-S1',
      reason: 'Example stack: object access is recorded by CloudTrail S3 data events where the account enables them; production stacks may pass their own bucket with access logging.',
    };
    const webAcl = {
      id: 'AwsSolutions-APIG3',
      reason: 'Example stack without a web ACL: the stage throttling bounds abuse; production stacks pass webAclArn.',
    };
    // cdk-nag 2 reads NagSuppressions; cdk-nag 3 reads aws-cdk-lib's Validations acknowledgements.
    NagSuppressions.addResourceSuppressions(this.delegation.bucket, [bucketLogs], true);
    NagSuppressions.addResourceSuppressions(this.delegation.endpoint.api.deploymentStage, [webAcl]);
    Validations.of(this.delegation.bucket).acknowledge(bucketLogs);
    Validations.of(this.delegation.endpoint.api.deploymentStage).acknowledge(webAcl);

    new CfnOutput(this, 'DelegationUrl', { value: this.delegation.endpointUrl });
    new CfnOutput(this, 'BucketName', { value: this.delegation.bucket.bucketName });
    new CfnOutput(this, 'RoleArn', { value: this.delegation.role.roleArn });
    new CfnOutput(this, 'SamlProviderArn', { value: this.delegation.identityProvider.samlProvider.samlProviderArn });
    new CfnOutput(this, 'SigningKeyArn', { value: this.delegation.identityProvider.signingKey.keyArn });
  }
}
