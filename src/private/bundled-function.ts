import * as path from 'path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** Options of a function whose code is one of the pre-built bundles in `assets/lambda/`. */
export interface BundledFunctionOptions {
  /** Name of the bundle: a directory of `assets/lambda/`. */
  readonly bundle: 'delegation' | 'certificate';
  /** Exported function of the bundle that Lambda calls. */
  readonly handler: string;
  readonly description: string;
  readonly timeout: Duration;
  readonly memorySize: number;
  readonly logRetention: logs.RetentionDays;
  /** @default RemovalPolicy.RETAIN */
  readonly logRemovalPolicy?: RemovalPolicy;
  readonly environment?: Record<string, string>;
  readonly reservedConcurrentExecutions?: number;
}

/** The runtime of the bundles (built with esbuild's `--target=node22`, so Node.js 22 or newer). */
export const BUNDLE_RUNTIME = lambda.Runtime.NODEJS_24_X;

/**
 * A Lambda function running a pre-built bundle, with its own log group and a role that may write
 * only to that log group (instead of the account-wide AWSLambdaBasicExecutionRole managed policy).
 */
export function bundledFunction(scope: Construct, id: string, options: BundledFunctionOptions): lambda.Function {
  const logGroup = new logs.LogGroup(scope, `${id}LogGroup`, {
    retention: options.logRetention,
    removalPolicy: options.logRemovalPolicy ?? RemovalPolicy.RETAIN,
  });
  const role = new iam.Role(scope, `${id}Role`, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: options.description,
  });
  role.addToPrincipalPolicy(new iam.PolicyStatement({
    actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
    resources: [logGroup.logGroupArn],
  }));
  const fn = new lambda.Function(scope, id, {
    description: options.description,
    runtime: BUNDLE_RUNTIME,
    architecture: lambda.Architecture.ARM_64,
    handler: `index.${options.handler}`,
    code: lambda.Code.fromAsset(path.join(__dirname, '..', '..', 'assets', 'lambda', options.bundle), {
      exclude: ['*.map'],
    }),
    timeout: options.timeout,
    memorySize: options.memorySize,
    environment: options.environment,
    reservedConcurrentExecutions: options.reservedConcurrentExecutions,
    role,
    logGroup,
  });
  // The role's log permissions must exist before the function first writes.
  fn.node.addDependency(role);
  return fn;
}
