import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { bundledFunction } from './bundled-function';
import { acceptNagFindings } from './nag-suppressions';

/** The CloudFormation type of a signing certificate made at deploy time. */
export const SIGNING_CERTIFICATE_RESOURCE_TYPE = 'Custom::DelegationSigningCertificate';

/**
 * One custom resource provider per stack that turns a KMS signing key into a self-signed X.509
 * certificate, signed by that key in KMS, so no private key ever exists outside KMS.
 */
export class SigningCertificateProvider extends Construct {
  /**
   * The stack's provider, created on first use. `logRemovalPolicy` is what the caller wants for the
   * provider's log groups: every caller of one stack that states one must state the same, so that no
   * construct silently overrides another's setting.
   */
  public static of(scope: Construct, logRemovalPolicy?: RemovalPolicy): SigningCertificateProvider {
    const stack = Stack.of(scope);
    const id = 'TokenDelegationSigningCertificateProvider';
    const provider = (stack.node.tryFindChild(id) as SigningCertificateProvider | undefined)
      ?? new SigningCertificateProvider(stack, id);
    if (logRemovalPolicy !== undefined) {
      if (provider.logRemovalPolicy !== undefined && provider.logRemovalPolicy !== logRemovalPolicy) {
        throw new Error(
          `logRemovalPolicy: ${scope.node.path} asks for ${logRemovalPolicy} on the certificate function's logs, but ${provider.logRemovalPolicyFrom} `
          + `asked for ${provider.logRemovalPolicy}: one function makes the certificates of every identity provider in stack ${stack.stackName}, so they must agree`,
        );
      }
      provider.logRemovalPolicy = logRemovalPolicy;
      provider.logRemovalPolicyFrom = scope.node.path;
      for (const child of provider.node.findAll()) {
        if (child instanceof logs.LogGroup) {
          child.applyRemovalPolicy(logRemovalPolicy);
        }
      }
    }
    return provider;
  }

  /** The service token of the custom resources. */
  public readonly serviceToken: string;
  /** The function that makes the certificates. */
  public readonly onEventFunction: lambda.Function;
  /** The removal policy of the log groups a caller asked for, and which caller (they are kept unless told). */
  private logRemovalPolicy?: RemovalPolicy;
  private logRemovalPolicyFrom?: string;

  private constructor(scope: Construct, id: string) {
    super(scope, id);
    this.onEventFunction = bundledFunction(this, 'OnEvent', {
      bundle: 'certificate',
      handler: 'onEvent',
      description: 'Makes the self-signed certificate of a SAML signing key held in KMS',
      timeout: Duration.minutes(1),
      memorySize: 256,
      logRetention: logs.RetentionDays.ONE_YEAR,
    });
    const provider = new cr.Provider(this, 'Provider', {
      onEventHandler: this.onEventFunction,
      logGroup: new logs.LogGroup(this, 'ProviderLogGroup', { retention: logs.RetentionDays.ONE_YEAR }),
    });
    this.serviceToken = provider.serviceToken;

    const framework = provider.node.findChild('framework-onEvent') as lambda.Function;
    acceptNagFindings(framework, [{
      id: 'AwsSolutions-L1',
      reason: 'The custom resource framework function is created by aws-cdk-lib (custom_resources.Provider), which picks its runtime.',
    }]);
    acceptNagFindings(framework.role!, [{
      id: 'AwsSolutions-IAM4',
      reason: 'aws-cdk-lib\'s custom resource framework function uses AWSLambdaBasicExecutionRole to write its own logs.',
      appliesTo: ['Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'],
    }]);
    acceptNagFindings(framework.role!.node.findChild('DefaultPolicy'), [{
      id: 'AwsSolutions-IAM5',
      reason: 'The framework may invoke every version of the certificate function (FunctionArn:*), and nothing else.',
      appliesTo: [{ regex: '/^Resource::<.*OnEvent.*\\.Arn>:\\*$/' }],
    }]);
  }

  /** Lets the provider read the public key of `key` and sign the certificate with it. */
  public grantSigningKey(key: kms.IKey): void {
    key.grant(this.onEventFunction, 'kms:GetPublicKey', 'kms:Sign');
  }
}
