import { fail, type Env } from './checks';
import { DelegationEnv, SignerKind } from '../../../src/contract/delegation-environment';
import { parseRsaPrivateKey } from '../../shared/pem-signer';

/** Reads which signer signs the assertions, and with which key. */

/**
 * How assertions are signed, one `kind` per signer in lambda/shared/: `kms` (KmsSigner, the default),
 * `pem` (PemSigner with an inline key, for tests and local runs) and `secret-pem` (SecretPemSigner, a
 * PEM key read from Secrets Manager). `DELEGATION_SIGNER` names only `kms` or `pem`: with `pem`, which
 * of the key variables is set decides between the last two.
 */
export type SignerConfig =
  | { readonly kind: 'kms'; readonly kmsKeyArn: string }
  | { readonly kind: 'pem'; readonly signingKeyPem: string }
  | { readonly kind: 'secret-pem'; readonly signingKeySecretArn: string };

const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(?:key\/[0-9A-Za-z-]{1,128}|alias\/[\w/-]{1,250})$/;
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]{1,512}$/;

/** The signer `DELEGATION_SIGNER` names, with exactly the variables that signer needs and none of the others'. */
export function readSigner(env: Env): SignerConfig {
  const kind = env[DelegationEnv.SIGNER]?.trim() || SignerKind.KMS;
  const kmsKeyArn = env[DelegationEnv.KMS_KEY_ARN]?.trim() || undefined;
  const pem = env[DelegationEnv.SIGNING_KEY_PEM]?.trim() || undefined;
  const secretArn = env[DelegationEnv.SIGNING_KEY_SECRET_ARN]?.trim() || undefined;
  if (kind === SignerKind.KMS) {
    if (pem !== undefined || secretArn !== undefined) {
      fail(DelegationEnv.SIGNER, `is kms, so ${DelegationEnv.SIGNING_KEY_PEM} and ${DelegationEnv.SIGNING_KEY_SECRET_ARN} must not be set`);
    }
    if (kmsKeyArn === undefined) {
      fail(DelegationEnv.KMS_KEY_ARN, 'is required when DELEGATION_SIGNER is kms');
    }
    if (!KMS_KEY_ARN.test(kmsKeyArn)) {
      fail(DelegationEnv.KMS_KEY_ARN, 'must be a KMS key or alias ARN');
    }
    return { kind: 'kms', kmsKeyArn };
  }
  if (kind === SignerKind.PEM) {
    if (kmsKeyArn !== undefined) {
      fail(DelegationEnv.SIGNER, `is pem, so ${DelegationEnv.KMS_KEY_ARN} must not be set`);
    }
    if ((pem === undefined) === (secretArn === undefined)) {
      fail(DelegationEnv.SIGNER, `is pem, so exactly one of ${DelegationEnv.SIGNING_KEY_PEM} and ${DelegationEnv.SIGNING_KEY_SECRET_ARN} must be set`);
    }
    if (pem !== undefined) {
      // In Lambda an environment variable is readable by every principal allowed
      // lambda:GetFunctionConfiguration and stays in every published version: a signing key there is
      // a key anyone with read access to the function can use to become any user.
      if (env.AWS_LAMBDA_FUNCTION_NAME !== undefined) {
        fail(DelegationEnv.SIGNING_KEY_PEM, `must not be used in AWS Lambda, where the function's configuration shows it to anyone allowed to read it; use the KMS signer or ${DelegationEnv.SIGNING_KEY_SECRET_ARN}`);
      }
      // The signer's own parser decides, so that the configuration admits exactly the keys it can open
      // (an encrypted PEM key, for one, cannot be).
      try {
        parseRsaPrivateKey(pem);
      } catch (error) {
        fail(DelegationEnv.SIGNING_KEY_PEM, `is not a key the PEM signer can open: ${(error as Error).message}`);
      }
      return { kind: 'pem', signingKeyPem: pem };
    }
    if (!SECRET_ARN.test(secretArn!)) {
      fail(DelegationEnv.SIGNING_KEY_SECRET_ARN, 'must be a Secrets Manager secret ARN');
    }
    return { kind: 'secret-pem', signingKeySecretArn: secretArn! };
  }
  return fail(DelegationEnv.SIGNER, 'must be "kms" or "pem"');
}
