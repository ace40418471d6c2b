import { optionalFlag, optionalInteger, type Env } from './checks';
import { readMetricsNamespace, readOrigins } from './endpoint';
import { readRoles, readSamlAttributes, readSessionTags } from './grants';
import { readIssuers } from './issuers';
import { readEntityId, readProviderArn, readRecipient, readSigningCertificate } from './saml';
import { readSigner, type SignerConfig } from './signer';
import {
  DelegationEnv,
  MAX_SESSION_DURATION_SECONDS,
  MIN_SESSION_DURATION_SECONDS,
  type IssuerConfig,
  type RoleConfig,
  type SamlAttributeConfig,
  type SessionTagConfig,
} from '../../../src/contract/delegation-environment';

/**
 * The handler's configuration, read once per container from the environment variables named in
 * `DelegationEnv` and validated so that a misconfigured deployment fails at cold start, not per user.
 */
export interface DelegationConfig {
  /** Accepted OpenID Connect issuers, each with a unique exact `iss`. */
  readonly issuers: readonly IssuerConfig[];
  /** Our IdP entityID, the `Issuer` of every assertion. */
  readonly samlEntityId: string;
  /** SubjectConfirmation `Recipient` (AWS's `SAML:aud`). */
  readonly samlRecipient: string;
  /** ARN of the IAM SAML provider, the second half of every Role attribute value. */
  readonly providerArn: string;
  readonly roles: RoleConfig;
  readonly sessionTags: readonly SessionTagConfig[];
  /** Further SAML attributes taken from claims. */
  readonly samlAttributes: readonly SamlAttributeConfig[];
  /** Default and maximum session duration in seconds. */
  readonly sessionDurationSeconds: number;
  /** Whether a session ends when the id token expires (never sooner than 900 s after the exchange). */
  readonly limitSessionToToken: boolean;
  readonly signer: SignerConfig;
  /** Exact browser origins (`scheme://host[:port]`) allowed by CORS. */
  readonly allowedOrigins: readonly string[];
  readonly assertionLifetimeSeconds: number;
  readonly metricsNamespace: string;
  /** Base64 DER of the signing certificate, written into every signature's `ds:KeyInfo`; absent: no KeyInfo. */
  readonly signingCertificate?: string;
}

export type { SignerConfig } from './signer';

export const DEFAULT_SESSION_DURATION_SECONDS = 3600;
export const DEFAULT_ASSERTION_LIFETIME_SECONDS = 300;
export const MIN_ASSERTION_LIFETIME_SECONDS = 60;
export const MAX_ASSERTION_LIFETIME_SECONDS = 300;

/**
 * Reads and validates every variable of `DelegationEnv`. Throws an Error whose message names the
 * variable (and JSON path) and what is wrong; key material is never quoted.
 */
export function loadConfig(env: Env): DelegationConfig {
  const issuers = readIssuers(env);
  const providerArn = readProviderArn(env);
  const sessionDurationSeconds = optionalInteger(
    env, DelegationEnv.SESSION_DURATION_SECONDS, DEFAULT_SESSION_DURATION_SECONDS,
    MIN_SESSION_DURATION_SECONDS, MAX_SESSION_DURATION_SECONDS,
  );
  return {
    issuers,
    samlEntityId: readEntityId(env),
    samlRecipient: readRecipient(env),
    providerArn,
    roles: readRoles(env, issuers),
    sessionTags: readSessionTags(env, issuers),
    samlAttributes: readSamlAttributes(env, issuers),
    sessionDurationSeconds,
    limitSessionToToken: optionalFlag(env, DelegationEnv.LIMIT_SESSION_TO_TOKEN),
    signer: readSigner(env),
    allowedOrigins: readOrigins(env),
    assertionLifetimeSeconds: optionalInteger(
      env, DelegationEnv.ASSERTION_LIFETIME_SECONDS, DEFAULT_ASSERTION_LIFETIME_SECONDS,
      MIN_ASSERTION_LIFETIME_SECONDS, MAX_ASSERTION_LIFETIME_SECONDS,
    ),
    metricsNamespace: readMetricsNamespace(env),
    ...readSigningCertificate(env),
  };
}
