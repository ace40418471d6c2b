import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { boundedClientConfig, classifyAwsFailure, retryAfterSecondsFor, type AwsClientOptions } from './aws-errors';
import type { SignerConfig } from './config';
import { DelegationError } from './errors';
import { KmsSigner } from '../shared/kms-signer';
import { PemSigner } from '../shared/pem-signer';
import { SecretPemSigner } from '../shared/secret-pem-signer';
import type { Signer } from '../shared/signer';

/**
 * Keeps KMS failures from becoming 500s: whatever goes wrong while KMS signs (throttling, an outage,
 * a disabled key or missing permission, which are the operator's to fix) is answered with 503 and a
 * `kms_…` reason, and signing never outlives the request's time budget.
 */

/** Bounds of the KMS and Secrets Manager clients; one attempt may take 2000 ms unless `requestTimeoutMs` says otherwise. */
export type KmsClientOptions = AwsClientOptions;

const KMS_REQUEST_TIMEOUT_MS = 2000;

/** A Secrets Manager client for the one read of a bring-your-own signing key, with the same bounds as KMS. */
export function createSecretsManagerClient(options: KmsClientOptions): SecretsManagerClient {
  return new SecretsManagerClient(boundedClientConfig(options, KMS_REQUEST_TIMEOUT_MS));
}

/** A KMS client for `kms:Sign` with standard jittered retries and bounded timeouts; `AWS_ENDPOINT_URL_KMS` is honoured by the SDK. */
export function createKmsClient(options: KmsClientOptions): KMSClient {
  return new KMSClient(boundedClientConfig(options, KMS_REQUEST_TIMEOUT_MS));
}

/** Where a remote signer's key lives: KMS holds it, or Secrets Manager hands it out once per container. */
export type SigningDependency = 'kms' | 'secretsmanager';

/** A signer of the configuration, and the AWS service its signatures depend on (none for an in-memory key). */
export interface ConfiguredSigner {
  readonly signer: Signer;
  /** Signatures that depend on it are bounded by the request's deadline and their failures answered with 503. */
  readonly dependency?: SigningDependency;
}

/** The signer `config` names, with its AWS client in `region` when it needs one. */
export function createConfiguredSigner(config: SignerConfig, region: string): ConfiguredSigner {
  switch (config.kind) {
    case 'kms':
      return { signer: new KmsSigner(config.kmsKeyArn, createKmsClient({ region })), dependency: 'kms' };
    case 'pem':
      return { signer: new PemSigner(config.signingKeyPem) };
    case 'secret-pem':
      return { signer: new SecretPemSigner(config.signingKeySecretArn, createSecretsManagerClient({ region })), dependency: 'secretsmanager' };
  }
}

/** Maps any failure of a remote signature to a 503 whose reason names the dependency and its error code. */
export function signingFailureToDelegationError(error: unknown, dependency: SigningDependency = 'kms'): DelegationError {
  const failure = classifyAwsFailure(error);
  return DelegationError.unavailable(dependency, failure.code, retryAfterSecondsFor(failure));
}

/**
 * Wraps a signer that calls AWS (KMS, or Secrets Manager for its key) so that every failure becomes a
 * {@link DelegationError} and a signature that
 * has not arrived by `deadline` (epoch milliseconds) is given up with 503 `kms_timeout`.
 */
export function remoteSignerWithinDeadline(signer: Signer, deadline: number, dependency: SigningDependency): Signer {
  return {
    sign: async (data) => {
      const budgetMs = deadline - Date.now();
      if (budgetMs <= 0) {
        throw signingFailureToDelegationError(Object.assign(new Error('no time left to sign'), { name: 'TimeoutError' }), dependency);
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
        throw error instanceof DelegationError ? error : signingFailureToDelegationError(error, dependency);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
