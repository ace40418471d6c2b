/**
 * What the live proof's stack and its two Lambda bundles must agree on, free of imports so that the
 * CDK app loads no AWS SDK client.
 */

export const DISCOVERY_PATH = '/.well-known/openid-configuration';
export const JWKS_PATH = '/.well-known/jwks.json';

/** The test issuer's environment: the ARN of its KMS key. */
export const ISSUER_KEY_ARN_ENV = 'TEST_ISSUER_KEY_ARN';

/** The prover's environment variables. */
export const PROVER_ENV = {
  ISSUER_URL: 'TEST_ISSUER_URL',
  ISSUER_KEY_ARN: 'TEST_ISSUER_KEY_ARN',
  AUDIENCE: 'TEST_AUDIENCE',
  DELEGATION_URL: 'TEST_DELEGATION_URL',
  BUCKET_NAME: 'TEST_BUCKET_NAME',
  USER_PREFIX: 'TEST_USER_PREFIX',
} as const;
