import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PemSigner } from './pem-signer';
import type { Signer } from './signer';

/** After a failed load, the secret is not asked for again for this long: a broken secret must not cost a call per request. */
export const SECRET_RETRY_INTERVAL_MS = 30_000;

/**
 * An in-memory RSA signer whose PEM key lives in AWS Secrets Manager (`SecretString`), for users who
 * bring their own key. The secret is read once per container, on the first signature, and kept in
 * memory; a failed read is remembered for {@link SECRET_RETRY_INTERVAL_MS} and then tried again.
 */
export class SecretPemSigner implements Signer {
  private loaded?: Promise<PemSigner>;
  private failedAt = 0;
  private lastFailure: unknown;

  constructor(
    private readonly secretArn: string,
    private readonly client: SecretsManagerClient,
    private readonly now: () => number = Date.now,
  ) {}

  async sign(data: Uint8Array): Promise<Uint8Array> {
    if (!this.loaded && this.failedAt !== 0 && this.now() - this.failedAt < SECRET_RETRY_INTERVAL_MS) {
      throw this.lastFailure;
    }
    this.loaded ??= this.load();
    let signer: PemSigner;
    try {
      signer = await this.loaded;
    } catch (error) {
      this.loaded = undefined;
      this.failedAt = this.now();
      this.lastFailure = error;
      throw error;
    }
    return signer.sign(data);
  }

  private async load(): Promise<PemSigner> {
    const secret = await this.client.send(new GetSecretValueCommand({ SecretId: this.secretArn }));
    if (typeof secret.SecretString !== 'string' || secret.SecretString.length === 0) {
      throw Object.assign(new Error('The signing key secret has no SecretString'), { name: 'InvalidSecretContent' });
    }
    try {
      return new PemSigner(secret.SecretString);
    } catch (error) {
      // PemSigner's messages never contain key material.
      throw Object.assign(new Error(`The signing key secret does not hold a usable key: ${(error as Error).message}`), { name: 'InvalidSecretContent' });
    }
  }
}
