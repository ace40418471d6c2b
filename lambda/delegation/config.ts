import { optionalFlag, optionalInteger, optionalJson, requireJson, requireString, type Env } from './config-checks';
import { parseMetricsNamespace, parseOrigins } from './config-endpoint';
import { parseRoles, parseSamlAttributes, parseSessionTags } from './config-grants';
import { parseIssuers } from './config-issuers';
import { parseEntityId, parseProviderArn, parseRecipient, parseSigner, parseSigningCertificate } from './config-saml';
import {
  DelegationEnv,
  MAX_SESSION_DURATION_SECONDS,
  MIN_SESSION_DURATION_SECONDS,
  type IssuerConfig,
  type RoleConfig,
  type SamlAttributeConfig,
  type SessionTagConfig,
} from '../../src/delegation-environment';

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

export const DEFAULT_SESSION_DURATION_SECONDS = 3600;
export const DEFAULT_ASSERTION_LIFETIME_SECONDS = 300;
export const MIN_ASSERTION_LIFETIME_SECONDS = 60;
export const MAX_ASSERTION_LIFETIME_SECONDS = 300;

/**
 * Reads and validates every variable of `DelegationEnv`. Throws an Error whose message names the
 * variable (and JSON path) and what is wrong; key material is never quoted.
 */
export function loadConfig(env: Env): DelegationConfig {
  const issuers = parseIssuers(requireJson(env, DelegationEnv.ISSUERS));
  const providerArn = parseProviderArn(requireString(env, DelegationEnv.SAML_PROVIDER_ARN));
  const sessionDurationSeconds = optionalInteger(
    env, DelegationEnv.SESSION_DURATION_SECONDS, DEFAULT_SESSION_DURATION_SECONDS,
    MIN_SESSION_DURATION_SECONDS, MAX_SESSION_DURATION_SECONDS,
  );
  return {
    issuers,
    samlEntityId: parseEntityId(requireString(env, DelegationEnv.SAML_ENTITY_ID)),
    samlRecipient: parseRecipient(requireString(env, DelegationEnv.SAML_RECIPIENT)),
    providerArn,
    roles: parseRoles(requireJson(env, DelegationEnv.ROLES), issuers),
    sessionTags: parseSessionTags(optionalJson(env, DelegationEnv.SESSION_TAGS, []), issuers),
    samlAttributes: parseSamlAttributes(optionalJson(env, DelegationEnv.SAML_ATTRIBUTES, []), issuers),
    sessionDurationSeconds,
    limitSessionToToken: optionalFlag(env, DelegationEnv.LIMIT_SESSION_TO_TOKEN),
    signer: parseSigner(env),
    allowedOrigins: parseOrigins(optionalJson(env, DelegationEnv.ALLOWED_ORIGINS, [])),
    assertionLifetimeSeconds: optionalInteger(
      env, DelegationEnv.ASSERTION_LIFETIME_SECONDS, DEFAULT_ASSERTION_LIFETIME_SECONDS,
      MIN_ASSERTION_LIFETIME_SECONDS, MAX_ASSERTION_LIFETIME_SECONDS,
    ),
    metricsNamespace: parseMetricsNamespace(env),
    ...parseSigningCertificate(env),
  };
}
