import type { SignerConfig } from './config';
import { CONTROL_OR_SPACE, expectSecureUrl, fail, type Env } from './config-checks';
import { DelegationEnv, MAX_ENTITY_ID_LENGTH, SignerKind } from '../../src/delegation-environment';
import { parseRsaPrivateKey } from '../shared/pem-signer';

/**
 * Reads how this deployment speaks SAML to AWS: its entityID, the Recipient, the IAM SAML provider,
 * the key that signs (KMS, an inline PEM key, or one in Secrets Manager) and its certificate.
 */

const SAML_PROVIDER_ARN = /^arn:aws[a-z-]*:iam::\d{12}:saml-provider\/[\w.-]{1,128}$/;
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(?:key\/[0-9A-Za-z-]{1,128}|alias\/[\w/-]{1,250})$/;
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]{1,512}$/;

export function parseProviderArn(value: string): string {
  if (!SAML_PROVIDER_ARN.test(value)) {
    fail(DelegationEnv.SAML_PROVIDER_ARN, 'must be an IAM SAML provider ARN (arn:aws:iam::<account>:saml-provider/<name>)');
  }
  return value;
}

/** The signer `DELEGATION_SIGNER` names, with exactly the variables that signer needs and none of the others'. */
export function parseSigner(env: Env): SignerConfig {
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

export function parseEntityId(value: string): string {
  const name = DelegationEnv.SAML_ENTITY_ID;
  if (value.length > MAX_ENTITY_ID_LENGTH) {
    fail(name, `must be at most ${MAX_ENTITY_ID_LENGTH} characters (SAML entityID limit)`);
  }
  if (CONTROL_OR_SPACE.test(value)) {
    fail(name, 'must not contain whitespace or control characters');
  }
  return value;
}

export function parseRecipient(value: string): string {
  return expectSecureUrl(value, DelegationEnv.SAML_RECIPIENT, { allowQuery: false });
}

/** An X.509 certificate of an RSA key of up to 4096 bits fits in well under this many base64 characters. */
const MAX_CERTIFICATE_CHARS = 4096;
const BASE64_ONE_LINE = /^[A-Za-z0-9+/]+={0,2}$/;

export function parseSigningCertificate(env: Env): { signingCertificate?: string } {
  const name = DelegationEnv.SIGNING_CERTIFICATE;
  const value = env[name]?.trim();
  if (value === undefined || value === '') {
    return {};
  }
  if (value.length > MAX_CERTIFICATE_CHARS || value.length % 4 !== 0 || !BASE64_ONE_LINE.test(value)) {
    fail(name, `must be the base64 DER of an X.509 certificate on one line (no PEM armour), at most ${MAX_CERTIFICATE_CHARS} characters`);
  }
  // DER of a Certificate is a SEQUENCE (0x30) with a long-form length.
  const der = Buffer.from(value, 'base64');
  if (der.length < 64 || der[0] !== 0x30) {
    fail(name, 'is not a DER X.509 certificate');
  }
  return { signingCertificate: value };
}
