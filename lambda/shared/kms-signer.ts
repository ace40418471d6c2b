import { createHash } from 'node:crypto';
import { MessageType, SignCommand, SigningAlgorithmSpec, type KMSClient } from '@aws-sdk/client-kms';
import type { Signer } from './signer';

/**
 * A {@link Signer} backed by an asymmetric KMS key (RSA, SIGN_VERIFY): the private key never leaves KMS.
 * The SHA-256 digest is computed here so that only 32 bytes travel to KMS; SDK errors propagate unchanged.
 */
export class KmsSigner implements Signer {
  constructor(private readonly keyArn: string, private readonly client: KMSClient) {}

  async sign(data: Uint8Array): Promise<Uint8Array> {
    const digest = createHash('sha256').update(data).digest();
    const result = await this.client.send(new SignCommand({
      KeyId: this.keyArn,
      Message: digest,
      MessageType: MessageType.DIGEST,
      SigningAlgorithm: SigningAlgorithmSpec.RSASSA_PKCS1_V1_5_SHA_256,
    }));
    if (!result.Signature || result.Signature.length === 0) {
      throw new Error(`KMS Sign returned no signature for key ${this.keyArn}`);
    }
    return result.Signature;
  }
}
