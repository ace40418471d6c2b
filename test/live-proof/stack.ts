import * as path from 'node:path';
import { App, Duration, RemovalPolicies, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { ISSUER_KEY_ARN_ENV, JWKS_PATH, PROVER_ENV } from './contract';
import { JwtIssuer, SigningKeys, TokenDelegation } from '../../src';

/**
 * The stack of the live proof: a `TokenDelegation` whose only issuer is a test OpenID issuer deployed
 * beside it (a KMS key made at deploy time, its JWKS on a Lambda function URL), and the prover Lambda
 * that the assertions invoke. Everything in it is deleted with the stack.
 */

export const LIVE_PROOF_STACK_NAME = 'TokenDelegationLiveProof';
/** The client id (audience) of the test issuer's tokens. */
export const LIVE_PROOF_AUDIENCE = 'live-proof-client';
export const LIVE_PROOF_USER_PREFIX = 'users/';
/** The bundles `npx projen bundle` writes. */
export const LIVE_PROOF_BUNDLES = path.join(__dirname, 'bundles');

export interface LiveProof {
  readonly stack: Stack;
  readonly delegation: TokenDelegation;
  /** `https://<id>.lambda-url.<region>.on.aws/` (a deploy-time token). */
  readonly issuerUrl: string;
  readonly jwksUri: string;
  readonly issuerKey: kms.Key;
  readonly issuerFunction: lambda.Function;
  readonly prover: lambda.Function;
  readonly bucket: s3.Bucket;
}

function testFunction(stack: Stack, id: string, bundle: 'issuer' | 'prover', options: {
  readonly description: string;
  readonly environment: Record<string, string>;
  readonly timeout: Duration;
}): lambda.Function {
  return new lambda.Function(stack, id, {
    description: options.description,
    runtime: lambda.Runtime.NODEJS_22_X,
    architecture: lambda.Architecture.ARM_64,
    handler: 'index.handler',
    code: lambda.Code.fromAsset(path.join(LIVE_PROOF_BUNDLES, bundle)),
    memorySize: 256,
    timeout: options.timeout,
    environment: options.environment,
    logGroup: new logs.LogGroup(stack, `${id}Logs`, { retention: logs.RetentionDays.ONE_DAY }),
  });
}

export function liveProofStack(app: App, stackName = LIVE_PROOF_STACK_NAME): LiveProof {
  const stack = new Stack(app, stackName);

  // The issuer's signing key: made by KMS at deploy time, so no private key is ever generated
  // elsewhere or committed; only the prover may sign with it.
  const issuerKey = new kms.Key(stack, 'TestIssuerKey', {
    description: 'Live proof: signing key of the test OpenID issuer',
    keySpec: kms.KeySpec.RSA_2048,
    keyUsage: kms.KeyUsage.SIGN_VERIFY,
    removalPolicy: RemovalPolicy.DESTROY,
    pendingWindow: Duration.days(7),
  });
  const issuerFunction = testFunction(stack, 'TestIssuer', 'issuer', {
    description: 'Live proof: test OpenID issuer (discovery document and JWKS)',
    environment: { [ISSUER_KEY_ARN_ENV]: issuerKey.keyArn },
    timeout: Duration.seconds(10),
  });
  issuerKey.grant(issuerFunction, 'kms:GetPublicKey');
  // Public like every issuer's JWKS; the function only reads the public key.
  const issuerUrl = issuerFunction.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE }).url;
  // The URL ends in '/', so the JWKS is given rather than derived from a token whose ending is unknown at synth.
  const jwksUri = `${issuerUrl}${JWKS_PATH.slice(1)}`;

  const bucket = new s3.Bucket(stack, 'UserData', {
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    encryption: s3.BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    removalPolicy: RemovalPolicy.DESTROY,
    autoDeleteObjects: true,
  });
  const signingKey = new kms.Key(stack, 'SamlSigningKey', {
    description: 'Live proof: SAML signing key of the delegation endpoint',
    keySpec: kms.KeySpec.RSA_2048,
    keyUsage: kms.KeyUsage.SIGN_VERIFY,
    removalPolicy: RemovalPolicy.DESTROY,
    pendingWindow: Duration.days(7),
  });
  const delegation = new TokenDelegation(stack, 'Delegation', {
    issuers: [JwtIssuer.oidc({ issuerUrl, jwksUri, audiences: [LIVE_PROOF_AUDIENCE] })],
    bucket,
    identityProvider: { signingKeys: SigningKeys.fromKey(signingKey) },
    userPrefix: LIVE_PROOF_USER_PREFIX,
  });

  const prover = testFunction(stack, 'Prover', 'prover', {
    description: 'Live proof: mints test id tokens, exchanges them and uses the credentials with S3',
    environment: {
      [PROVER_ENV.ISSUER_URL]: issuerUrl,
      [PROVER_ENV.ISSUER_KEY_ARN]: issuerKey.keyArn,
      [PROVER_ENV.AUDIENCE]: LIVE_PROOF_AUDIENCE,
      [PROVER_ENV.DELEGATION_URL]: delegation.endpointUrl,
      [PROVER_ENV.BUCKET_NAME]: bucket.bucketName,
      [PROVER_ENV.USER_PREFIX]: LIVE_PROOF_USER_PREFIX,
    },
    // Room for six exchange attempts five seconds apart while IAM propagates (twice in cross-user),
    // yet below the assertion provider's own 2 minutes, so a hang shows as this function's timeout.
    timeout: Duration.seconds(100),
  });
  // The prover's own role may sign tokens and nothing else: its S3 requests use only delegated credentials.
  issuerKey.grant(prover, 'kms:Sign');

  // The library's log groups are retained by default; a test run leaves none behind.
  RemovalPolicies.of(stack).destroy({ applyToResourceTypes: ['AWS::Logs::LogGroup'] });

  return { stack, delegation, issuerUrl, jwksUri, issuerKey, issuerFunction, prover, bucket };
}
