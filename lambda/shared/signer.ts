/**
 * Signs bytes with RSASSA-PKCS1-v1_5 over SHA-256 (XML-DSig `rsa-sha256`, X.509 `sha256WithRSAEncryption`).
 * Implementations: a KMS key (the default) and an in-memory RSA key (tests, local runs, bring-your-own-key).
 */
export interface Signer {
  /** Returns the raw signature of `data` (the implementation hashes it with SHA-256 itself). */
  sign(data: Uint8Array): Promise<Uint8Array>;
}
