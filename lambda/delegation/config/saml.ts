import { CONTROL_OR_SPACE, expectSecureUrl, fail, requireString, type Env } from './checks';
import { DelegationEnv, MAX_ENTITY_ID_LENGTH } from '../../../src/contract/delegation-environment';
import { isBase64OneLine } from '../../../src/contract/formats';

/**
 * Reads how this deployment speaks SAML to AWS: its entityID, the Recipient, the IAM SAML provider,
 * the key that signs (KMS, an inline PEM key, or one in Secrets Manager) and its certificate.
 */

const SAML_PROVIDER_ARN = /^arn:aws[a-z-]*:iam::\d{12}:saml-provider\/[\w.-]{1,128}$/;

export function readProviderArn(env: Env): string {
  const value = requireString(env, DelegationEnv.SAML_PROVIDER_ARN);
  if (!SAML_PROVIDER_ARN.test(value)) {
    fail(DelegationEnv.SAML_PROVIDER_ARN, 'must be an IAM SAML provider ARN (arn:aws:iam::<account>:saml-provider/<name>)');
  }
  return value;
}

export function readEntityId(env: Env): string {
  const name = DelegationEnv.SAML_ENTITY_ID;
  const value = requireString(env, name);
  if (value.length > MAX_ENTITY_ID_LENGTH) {
    fail(name, `must be at most ${MAX_ENTITY_ID_LENGTH} characters (SAML entityID limit)`);
  }
  if (CONTROL_OR_SPACE.test(value)) {
    fail(name, 'must not contain whitespace or control characters');
  }
  return value;
}

export function readRecipient(env: Env): string {
  return expectSecureUrl(requireString(env, DelegationEnv.SAML_RECIPIENT), DelegationEnv.SAML_RECIPIENT, { allowQuery: false });
}

/** An X.509 certificate of an RSA key of up to 4096 bits fits in well under this many base64 characters. */
const MAX_CERTIFICATE_CHARS = 4096;

export function readSigningCertificate(env: Env): { signingCertificate?: string } {
  const name = DelegationEnv.SIGNING_CERTIFICATE;
  const value = env[name]?.trim();
  if (value === undefined || value === '') {
    return {};
  }
  if (value.length > MAX_CERTIFICATE_CHARS || !isBase64OneLine(value)) {
    fail(name, `must be the base64 DER of an X.509 certificate on one line (no PEM armour), at most ${MAX_CERTIFICATE_CHARS} characters`);
  }
  // DER of a Certificate is a SEQUENCE (0x30) with a long-form length.
  const der = Buffer.from(value, 'base64');
  if (der.length < 64 || der[0] !== 0x30) {
    fail(name, 'is not a DER X.509 certificate');
  }
  return { signingCertificate: value };
}
