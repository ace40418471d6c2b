import { AssumeRoleWithSAMLCommand, STSClient } from '@aws-sdk/client-sts';
import { boundedClientConfig, classifyAwsFailure, RETRY_AFTER_TRANSIENT_SECONDS, retryAfterSecondsFor, type AwsClientOptions } from './aws-errors';
import { DelegationError } from './errors';

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

/** Bounds of the STS client; one attempt may take 3000 ms unless `requestTimeoutMs` says otherwise. */
export type StsClientOptions = AwsClientOptions;

const STS_REQUEST_TIMEOUT_MS = 3000;

/** STS refusals caused by the assertion or the role's trust policy: the client gets 403 and nothing else. */
const REJECTION_CODES = new Set([
  'IDPRejectedClaim',
  'InvalidIdentityToken',
  'AccessDenied',
  'MalformedPolicyDocument',
  'PackedPolicyTooLarge',
  'ExpiredToken',
]);

/**
 * STS refusals that only the operator can fix, whoever the user is: `ValidationError` refuses the request's
 * parameters (a `DurationSeconds` above the role's MaxSessionDuration, a malformed role or provider ARN),
 * every one of which comes from the deployment's configuration (user input is validated before);
 * `RegionDisabled` (HTTP 403, a sender fault) says STS is deactivated in the handler's Region, which
 * stays so until someone activates it in the account settings, so a client told to retry would retry forever.
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_enable-regions.html
 */
const CONFIGURATION_CODES = new Set(['ValidationError', 'RegionDisabled']);

/** Leaves less than this to STS and the call is not even started. */
const MIN_CALL_BUDGET_MS = 100;

/**
 * An STS client for the unsigned `AssumeRoleWithSAML`: regional endpoint (or `AWS_ENDPOINT_URL_STS`, which
 * the SDK reads itself), standard jittered retries, bounded timeouts, and a credential provider that
 * refuses, so no credential lookup (environment, files, instance metadata) can ever happen.
 *
 * A plain client: each call passes its deadline as `send`'s `abortSignal`. Caching the middleware stack
 * (`cacheMiddleware`, which serves only calls sent without options) and carrying the signal around it
 * saves less than a tenth of a warm request as deployed, too little to pay for patching the SDK; see "STS
 * client" in docs/benchmarks.md.
 */
export function createStsClient(options: StsClientOptions): STSClient {
  return new STSClient({
    ...boundedClientConfig(options, STS_REQUEST_TIMEOUT_MS),
    credentials: refuseCredentials,
  });
}

function refuseCredentials(): Promise<never> {
  return Promise.reject(new Error('AssumeRoleWithSAML is unsigned; the STS client has no credentials'));
}

/** Maps any failure of the STS call to the answer the client gets; the STS message is never passed on. */
export function stsFailureToDelegationError(error: unknown): DelegationError {
  const failure = classifyAwsFailure(error);
  if (CONFIGURATION_CODES.has(failure.code)) {
    // The STS error travels as `cause`, so the handler logs what AWS said (never to the client).
    return DelegationError.misconfigured(`sts_${failure.code}_configuration`, error);
  }
  if (REJECTION_CODES.has(failure.code)) {
    return DelegationError.accessDenied(`sts_${failure.code}`, 'AWS STS refused to issue credentials for this user and role');
  }
  return DelegationError.unavailable('sts', failure.code, retryAfterSecondsFor(failure));
}

/** Calls `sts:AssumeRoleWithSAML` within the deadline and returns STS's answer; throws only {@link DelegationError}. */
export async function assumeRoleWithSaml(
  client: STSClient,
  input: AssumeRoleWithSamlInput,
  options: AssumeRoleWithSamlOptions = {},
): Promise<AssumeRoleWithSamlResult> {
  const budgetMs = options.deadline === undefined ? undefined : options.deadline - Date.now();
  if (budgetMs !== undefined && budgetMs < MIN_CALL_BUDGET_MS) {
    throw DelegationError.unavailable('sts', 'timeout', RETRY_AFTER_TRANSIENT_SECONDS);
  }
  let output;
  try {
    const commandInput = {
      RoleArn: input.roleArn,
      PrincipalArn: input.providerArn,
      SAMLAssertion: input.samlResponseBase64,
      DurationSeconds: input.durationSeconds,
    };
    // The SDK gives the signal to every attempt (one in flight is destroyed) and to its retry backoff, so
    // the call ends when the deadline passes and nothing is sent after it.
    const abortSignal = budgetMs === undefined ? undefined : AbortSignal.timeout(budgetMs);
    output = await client.send(new AssumeRoleWithSAMLCommand(commandInput), { abortSignal });
  } catch (error) {
    throw stsFailureToDelegationError(error);
  }
  const credentials = output.Credentials;
  const roleUser = output.AssumedRoleUser;
  if (!credentials?.AccessKeyId || !credentials.SecretAccessKey || !credentials.SessionToken || !(credentials.Expiration instanceof Date)
    || !roleUser?.Arn || !roleUser.AssumedRoleId) {
    throw DelegationError.unavailable('sts', 'incomplete_response', RETRY_AFTER_TRANSIENT_SECONDS);
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
