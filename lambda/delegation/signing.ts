import { KMSClient } from '@aws-sdk/client-kms';
import { classifyAwsFailure, dependencyUnavailable } from './aws-errors';
import { DelegationError } from './types';
import type { Signer } from '../shared/signer';

/**
 * Keeps KMS failures from becoming 500s: whatever goes wrong while KMS signs (throttling, an outage,
 * a disabled key or missing permission, which are the operator's to fix) is answered with 503 and a
 * `kms_…` reason, and signing never outlives the request's time budget.
 */

export interface KmsClientOptions {
  readonly region: string;
  /** @default 3 */
  readonly maxAttempts?: number;
  /** Milliseconds to open a connection. @default 1000 */
  readonly connectionTimeoutMs?: number;
  /** Milliseconds one attempt may take. @default 2000 */
  readonly requestTimeoutMs?: number;
}

/** A KMS client for `kms:Sign` with standard jittered retries and bounded timeouts; `AWS_ENDPOINT_URL_KMS` is honoured by the SDK. */
export function createKmsClient(options: KmsClientOptions): KMSClient {
  return new KMSClient({
    region: options.region,
    maxAttempts: options.maxAttempts ?? 3,
    retryMode: 'standard',
    requestHandler: {
      connectionTimeout: options.connectionTimeoutMs ?? 1000,
      requestTimeout: options.requestTimeoutMs ?? 2000,
      throwOnRequestTimeout: true,
    },
  });
}

const KMS_UNAVAILABLE = 'The signing service is temporarily unavailable; retry later';

/** Maps any failure of a KMS signature to a 503 whose reason names the KMS error code. */
export function kmsFailureToDelegationError(error: unknown): DelegationError {
  return dependencyUnavailable('kms', classifyAwsFailure(error), KMS_UNAVAILABLE);
}

/**
 * Wraps a KMS-backed signer so that every failure becomes a {@link DelegationError} and a signature that
 * has not arrived by `deadline` (epoch milliseconds) is given up with 503 `kms_timeout`.
 */
export function kmsSignerWithinDeadline(signer: Signer, deadline: number): Signer {
  return {
    sign: async (data) => {
      const budgetMs = deadline - Date.now();
      if (budgetMs <= 0) {
        throw kmsFailureToDelegationError(Object.assign(new Error('no time left to sign'), { name: 'TimeoutError' }));
      }
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error('signing exceeded the time budget'), { name: 'TimeoutError' })), budgetMs);
      });
      const signing = signer.sign(data);
      // A late KMS failure after the deadline has nobody left to handle it.
      signing.catch(() => undefined);
      try {
        return await Promise.race([signing, timeout]);
      } catch (error) {
        throw error instanceof DelegationError ? error : kmsFailureToDelegationError(error);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
