import { AssumeRoleWithSAMLCommand, STSClient } from '@aws-sdk/client-sts';
import { classifyAwsFailure, dependencyUnavailable } from './aws-errors';
import { DelegationError } from './types';

/** What is sent to `sts:AssumeRoleWithSAML`. */
export interface AssumeRoleWithSamlInput {
  readonly roleArn: string;
  /** ARN of the IAM SAML provider (`PrincipalArn`). */
  readonly providerArn: string;
  /** The signed `samlp:Response`, base64-encoded. */
  readonly samlResponseBase64: string;
  readonly durationSeconds: number;
}

export interface AssumeRoleWithSamlOptions {
  /** Epoch milliseconds by which the call (retries included) must have finished; it is aborted then. */
  readonly deadline?: number;
}

/** The fields STS returns, with the credentials guaranteed present. */
export interface AssumeRoleWithSamlResult {
  readonly Credentials: {
    readonly AccessKeyId: string;
    readonly SecretAccessKey: string;
    readonly SessionToken: string;
    readonly Expiration: Date;
  };
  readonly AssumedRoleUser: {
    readonly Arn: string;
    readonly AssumedRoleId: string;
  };
  readonly Subject?: string;
  readonly SubjectType?: string;
  readonly Issuer?: string;
  readonly Audience?: string;
  readonly NameQualifier?: string;
  readonly SourceIdentity?: string;
  readonly PackedPolicySize?: number;
}

export interface StsClientOptions {
  readonly region: string;
  /** @default 3 */
  readonly maxAttempts?: number;
  /** Milliseconds to open a connection. @default 1000 */
  readonly connectionTimeoutMs?: number;
  /** Milliseconds one attempt may take. @default 3000 */
  readonly requestTimeoutMs?: number;
}

/** STS refusals caused by the assertion or the role's trust policy: the client gets 403 and nothing else. */
const REJECTION_CODES = new Set([
  'IDPRejectedClaim',
  'InvalidIdentityToken',
  'AccessDenied',
  'MalformedPolicyDocument',
  'PackedPolicyTooLarge',
  'ExpiredToken',
  'ValidationError',
]);

/** Leaves less than this to STS and the call is not even started. */
const MIN_CALL_BUDGET_MS = 100;

/**
 * An STS client for the unsigned `AssumeRoleWithSAML`: regional endpoint (or `AWS_ENDPOINT_URL_STS`, which
 * the SDK reads itself), standard jittered retries, bounded timeouts, and a credential provider that
 * refuses, so no credential lookup (environment, files, instance metadata) can ever happen.
 */
export function createStsClient(options: StsClientOptions): STSClient {
  return new STSClient({
    region: options.region,
    maxAttempts: options.maxAttempts ?? 3,
    retryMode: 'standard',
    requestHandler: {
      connectionTimeout: options.connectionTimeoutMs ?? 1000,
      requestTimeout: options.requestTimeoutMs ?? 3000,
      throwOnRequestTimeout: true,
    },
    credentials: refuseCredentials,
  });
}

function refuseCredentials(): Promise<never> {
  return Promise.reject(new Error('AssumeRoleWithSAML is unsigned; the STS client has no credentials'));
}

/** Maps any failure of the STS call to the answer the client gets; the STS message is never passed on. */
export function stsFailureToDelegationError(error: unknown): DelegationError {
  const failure = classifyAwsFailure(error);
  if (REJECTION_CODES.has(failure.code)) {
    return new DelegationError(
      403,
      'access_denied',
      'AWS STS refused to issue credentials for this user and role',
      {},
      `sts_${failure.code}`,
    );
  }
  return dependencyUnavailable('sts', failure, 'AWS STS is temporarily unavailable; retry later');
}

/** Calls `sts:AssumeRoleWithSAML` within the deadline and returns STS's answer; throws only {@link DelegationError}. */
export async function assumeRoleWithSaml(
  client: STSClient,
  input: AssumeRoleWithSamlInput,
  options: AssumeRoleWithSamlOptions = {},
): Promise<AssumeRoleWithSamlResult> {
  const budgetMs = options.deadline === undefined ? undefined : options.deadline - Date.now();
  if (budgetMs !== undefined && budgetMs < MIN_CALL_BUDGET_MS) {
    throw dependencyUnavailable('sts', { code: 'timeout', throttled: false, transient: true }, 'AWS STS is temporarily unavailable; retry later');
  }
  let output;
  try {
    output = await client.send(new AssumeRoleWithSAMLCommand({
      RoleArn: input.roleArn,
      PrincipalArn: input.providerArn,
      SAMLAssertion: input.samlResponseBase64,
      DurationSeconds: input.durationSeconds,
    }), budgetMs === undefined ? {} : { abortSignal: AbortSignal.timeout(budgetMs) });
  } catch (error) {
    throw stsFailureToDelegationError(error);
  }
  const credentials = output.Credentials;
  const roleUser = output.AssumedRoleUser;
  if (!credentials?.AccessKeyId || !credentials.SecretAccessKey || !credentials.SessionToken || !(credentials.Expiration instanceof Date)
    || !roleUser?.Arn || !roleUser.AssumedRoleId) {
    throw dependencyUnavailable('sts', { code: 'incomplete_response', throttled: false, transient: true }, 'AWS STS is temporarily unavailable; retry later');
  }
  return {
    Credentials: {
      AccessKeyId: credentials.AccessKeyId,
      SecretAccessKey: credentials.SecretAccessKey,
      SessionToken: credentials.SessionToken,
      Expiration: credentials.Expiration,
    },
    AssumedRoleUser: { Arn: roleUser.Arn, AssumedRoleId: roleUser.AssumedRoleId },
    Subject: output.Subject,
    SubjectType: output.SubjectType,
    Issuer: output.Issuer,
    Audience: output.Audience,
    NameQualifier: output.NameQualifier,
    SourceIdentity: output.SourceIdentity,
    PackedPolicySize: output.PackedPolicySize,
  };
}
