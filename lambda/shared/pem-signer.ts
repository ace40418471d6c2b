import { createPrivateKey, sign, type KeyObject } from 'node:crypto';
import type { Signer } from './signer';

/** The smallest RSA modulus we sign with; IAM accepts 1024, but 2048 is today's floor. */
export const MIN_RSA_MODULUS_BITS = 2048;

/**
 * A {@link Signer} backed by an in-memory RSA private key (PKCS#8 or PKCS#1 PEM), for tests, local runs
 * and users who keep their own key in Secrets Manager. Error messages never contain the key.
 */
export class PemSigner implements Signer {
  private readonly privateKey: KeyObject;

  constructor(pem: string) {
    this.privateKey = parseRsaPrivateKey(pem);
  }

  async sign(data: Uint8Array): Promise<Uint8Array> {
    return new Uint8Array(sign('sha256', data, this.privateKey));
  }
}

/** Parses a PEM private key and insists on RSA (PKCS#1 v1.5 capable) of at least 2048 bits. */
export function parseRsaPrivateKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    // The underlying message could quote parts of the input, so it is replaced rather than wrapped.
    throw new Error('Signing key is not a readable PEM private key (expected PKCS#8 or PKCS#1 RSA, unencrypted)');
  }
  if (key.asymmetricKeyType !== 'rsa') {
    throw new Error(`Signing key must be an RSA key (rsaEncryption), not ${key.asymmetricKeyType ?? 'unknown'}`);
  }
  const modulusLength = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (modulusLength < MIN_RSA_MODULUS_BITS) {
    throw new Error(`Signing key must be RSA of at least ${MIN_RSA_MODULUS_BITS} bits, got ${modulusLength}`);
  }
  return key;
}
