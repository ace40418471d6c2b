import { createHash, createPublicKey } from 'node:crypto';
import { GetPublicKeyCommand, SignCommand, type KMSClient } from '@aws-sdk/client-kms';

/**
 * The live integ test's OpenID issuer, reduced to what the delegation endpoint needs: RS256 id tokens
 * signed by a KMS key made at deploy time (the private key never exists outside KMS), and that key's
 * public half as a JWK. Written apart from lambda/ on purpose: the issuer must not share code with
 * the verifier it tests.
 */

/** Signs a SHA-256 digest with RSASSA-PKCS1-v1_5 and returns the raw signature. */
export type DigestSigner = (sha256Digest: Uint8Array) => Promise<Uint8Array>;

/** What goes into a minted id token. */
export interface IdTokenRequest {
  /** `iss`: the issuer URL exactly as the endpoint is configured with it. */
  readonly issuer: string;
  /** `aud`: the client id. */
  readonly audience: string;
  /** `sub`: the user id. */
  readonly subject: string;
  /** `kid` header: the id of the key in the issuer's JWKS. */
  readonly keyId: string;
  /** `iat`, in seconds since the epoch. */
  readonly issuedAt: number;
  /** `exp` - `iat`. @default 300 */
  readonly lifetimeSeconds?: number;
}

/** An RSA public key as a JWKS entry. */
export interface PublicJwk {
  readonly kty: 'RSA';
  readonly n: string;
  readonly e: string;
  readonly kid: string;
  readonly alg: 'RS256';
  readonly use: 'sig';
}

const SIGNING_ALGORITHM = 'RSASSA_PKCS1_V1_5_SHA_256';

function base64urlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/** A compact RS256 JWS over exactly the standard id token claims. */
export async function mintIdToken(request: IdTokenRequest, sign: DigestSigner): Promise<string> {
  const header = { alg: 'RS256', typ: 'JWT', kid: request.keyId };
  const claims = {
    iss: request.issuer,
    aud: request.audience,
    sub: request.subject,
    iat: request.issuedAt,
    exp: request.issuedAt + (request.lifetimeSeconds ?? 300),
  };
  const signingInput = `${base64urlJson(header)}.${base64urlJson(claims)}`;
  const signature = await sign(createHash('sha256').update(signingInput, 'utf8').digest());
  return `${signingInput}.${Buffer.from(signature).toString('base64url')}`;
}

/** The `kid` the issuer publishes for a KMS key: the key's id, the last part of its ARN. */
export function keyIdOf(keyArn: string): string {
  const keyId = keyArn.split('/').pop() ?? '';
  if (!/^[A-Za-z0-9-]{1,128}$/.test(keyId)) {
    throw new Error('The test issuer key ARN does not end in a key id');
  }
  return keyId;
}

/** The JWKS entry of an RSA public key given as DER SubjectPublicKeyInfo (what kms:GetPublicKey returns). */
export function publicJwk(subjectPublicKeyInfoDer: Uint8Array, kid: string): PublicJwk {
  const jwk = createPublicKey({ key: Buffer.from(subjectPublicKeyInfoDer), format: 'der', type: 'spki' }).export({ format: 'jwk' });
  if (jwk.kty !== 'RSA' || typeof jwk.n !== 'string' || typeof jwk.e !== 'string') {
    throw new Error(`The test issuer key must be RSA, got ${String(jwk.kty)}`);
  }
  return { kty: 'RSA', n: jwk.n, e: jwk.e, kid, alg: 'RS256', use: 'sig' };
}

/** A {@link DigestSigner} backed by `kms:Sign` with the given key. */
export function kmsDigestSigner(kms: KMSClient, keyArn: string): DigestSigner {
  return async (digest) => {
    const answer = await kms.send(new SignCommand({
      KeyId: keyArn,
      Message: digest,
      MessageType: 'DIGEST',
      SigningAlgorithm: SIGNING_ALGORITHM,
    }));
    if (!answer.Signature) {
      throw new Error('kms:Sign returned no signature');
    }
    return answer.Signature;
  };
}

/** The key's public half from `kms:GetPublicKey`, checked to be an RSA signing key. */
export async function kmsPublicKey(kms: KMSClient, keyArn: string): Promise<Uint8Array> {
  const answer = await kms.send(new GetPublicKeyCommand({ KeyId: keyArn }));
  if (!answer.PublicKey || answer.KeyUsage !== 'SIGN_VERIFY' || !answer.SigningAlgorithms?.includes(SIGNING_ALGORITHM)) {
    throw new Error('The test issuer key is not an RSA SIGN_VERIFY key');
  }
  return answer.PublicKey;
}
