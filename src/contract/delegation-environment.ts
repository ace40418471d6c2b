/**
 * The contract between the constructs and the delegation handler: the names of the environment
 * variables the handler reads, the shape of their values, and the limits both sides check (the
 * constructs at synth, the handler at cold start or per request), so that each is written once.
 *
 * This file is read by both sides (src/ writes the variables, lambda/ parses them) and so must stay
 * free of imports: the handler bundle must never pull in construct code. It is not exported from the
 * package's entry point; docs/environment-contract.md documents the same contract for people who run the handler
 * outside CDK.
 */

/** Names of the environment variables the delegation handler reads. */
export const DelegationEnv = {
  /** JSON `IssuerConfig[]`: the OpenID Connect issuers whose id tokens are accepted. Required. */
  ISSUERS: 'DELEGATION_ISSUERS',
  /** The IdP entityID: the `Issuer` of every assertion; must equal the metadata's entityID. Required. */
  SAML_ENTITY_ID: 'DELEGATION_SAML_ENTITY_ID',
  /** The SubjectConfirmation Recipient, which AWS exposes as `SAML:aud`. Required. */
  SAML_RECIPIENT: 'DELEGATION_SAML_RECIPIENT',
  /** ARN of the IAM SAML provider, the second half of every Role attribute value. Required. */
  SAML_PROVIDER_ARN: 'DELEGATION_SAML_PROVIDER_ARN',
  /** JSON `RoleConfig`: the default role, claim-based rules and the client-selectable allow-list. Required. */
  ROLES: 'DELEGATION_ROLES',
  /** JSON `SamlAttributeConfig[]`: further SAML attributes taken from claims (AWS's `saml:*` keys). Optional, default `[]`. */
  SAML_ATTRIBUTES: 'DELEGATION_SAML_ATTRIBUTES',
  /** JSON `SessionTagConfig[]`: session tags taken from claims. Optional, default `[]`. */
  SESSION_TAGS: 'DELEGATION_SESSION_TAGS',
  /** Default (and maximum) session duration in whole seconds, 900..43200. Optional, default `3600`. */
  SESSION_DURATION_SECONDS: 'DELEGATION_SESSION_DURATION_SECONDS',
  /**
   * `true`: a session ends when the id token expires (`exp`), though never sooner than 900 s after the
   * exchange (STS's minimum). Optional, default `false` (every session lasts the full duration).
   */
  LIMIT_SESSION_TO_TOKEN: 'DELEGATION_LIMIT_SESSION_TO_TOKEN',
  /** Which signer signs assertions: `kms` or `pem`. Optional, default `kms`. */
  SIGNER: 'DELEGATION_SIGNER',
  /** With `kms`: the KMS key ARN (an RSA_2048+ SIGN_VERIFY key). */
  KMS_KEY_ARN: 'DELEGATION_KMS_KEY_ARN',
  /** With `pem`: a PKCS#8 or PKCS#1 RSA private key in PEM. For tests and local runs. */
  SIGNING_KEY_PEM: 'DELEGATION_SIGNING_KEY_PEM',
  /** With `pem`: ARN of a Secrets Manager secret whose SecretString is the PEM key (instead of SIGNING_KEY_PEM). */
  SIGNING_KEY_SECRET_ARN: 'DELEGATION_SIGNING_KEY_SECRET_ARN',
  /** JSON `string[]`: browser origins allowed by CORS, e.g. `["https://app.example.com"]`. Optional, default `[]`. */
  ALLOWED_ORIGINS: 'DELEGATION_ALLOWED_ORIGINS',
  /** Lifetime of an assertion in seconds (Conditions and SubjectConfirmation), 60..300. Optional, default `300`. */
  ASSERTION_LIFETIME_SECONDS: 'DELEGATION_ASSERTION_LIFETIME_SECONDS',
  /** Name of the CloudWatch namespace for per-outcome metrics (embedded metric format). Optional, default `TokenDelegation`. */
  METRICS_NAMESPACE: 'DELEGATION_METRICS_NAMESPACE',
  /**
   * Base64 DER (one line, no PEM armour) of the signing key's X.509 certificate, sent in every signature's
   * `ds:KeyInfo`. Optional: without it signatures carry no KeyInfo. It must be the certificate of the key
   * that signs (the relying party verifies with the certificates of the IdP metadata, never this one).
   */
  SIGNING_CERTIFICATE: 'DELEGATION_SIGNING_CERTIFICATE',
} as const;

/**
 * The largest id token accepted, in characters, however it arrives: in the Auth0 body (JSON or form) or
 * as `Authorization: Bearer`. The API Gateway request model uses the same limit.
 */
export const MAX_ID_TOKEN_CHARS = 8 * 1024;

/** SAML 2.0 core, 8.3.6: an entity identifier (the IdP's entityID) has at most 1024 characters. */
export const MAX_ENTITY_ID_LENGTH = 1024;

/** Lambda's limit on the environment variables of a function: their JSON serialization, in bytes. */
export const LAMBDA_ENVIRONMENT_LIMIT_BYTES = 4096;

/**
 * STS's bounds of a session (`DurationSeconds` of AssumeRoleWithSAML, and the SAML SessionDuration
 * attribute): 15 minutes to 12 hours. Props, the request model and the handler's configuration all
 * refuse durations outside them.
 */
export const MIN_SESSION_DURATION_SECONDS = 900;
export const MAX_SESSION_DURATION_SECONDS = 43_200;

/** AWS accepts at most 50 session tags per session; each issuer's tags must fit into one session. */
export const MAX_SESSION_TAGS = 50;

/** Further SAML attributes per issuer: enough for the condition keys AWS offers, small enough for the environment. */
export const MAX_SAML_ATTRIBUTES = 20;

/** The largest clock tolerance an issuer may be given: more would stretch every token's lifetime noticeably. */
export const MAX_CLOCK_TOLERANCE_SECONDS = 300;

/**
 * Asymmetric JWS algorithms an issuer may be configured with (the values of `JwtAlgorithm`); `none` and
 * HMAC are never accepted, because an HMAC secret shared with the issuer would let anyone holding it mint tokens.
 */
export const ALLOWED_JWS_ALGORITHMS: readonly string[] = [
  'RS256', 'RS384', 'RS512',
  'PS256', 'PS384', 'PS512',
  'ES256', 'ES384', 'ES512',
  'EdDSA',
];

/**
 * An issuer's subject namespace: short, lower-case and without `:`, so `<namespace>:<subject>` splits
 * one way only and subjects of different issuers never collide.
 */
export const ISSUER_NAMESPACE_PATTERN = /^[a-z0-9-]{1,32}$/;

/** AWS session tag keys: 1..128 characters of letters, spaces, digits and `_.:/=+-@`. */
export const SESSION_TAG_KEY_PATTERN = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u;

/**
 * AWS as a SAML service provider, per partition: the sign-in endpoint that is the assertion's Recipient
 * (and so `SAML:aud`), and the entityID of AWS that every assertion lists as an Audience.
 *
 * Sources:
 * - aws: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_saml_assertions.html
 *   (Recipient `https://signin.aws.amazon.com/saml`, Audience `urn:amazon:webservices`).
 * - aws-cn: https://docs.amazonaws.cn/en_us/IAM/latest/UserGuide/id_roles_providers_create_saml_relying-party.html
 *   names `https://signin.amazonaws.cn/saml` and the service provider metadata
 *   `https://signin.amazonaws.cn/static/saml-metadata.xml`, whose entityID `urn:amazon:webservices:cn-north-1`
 *   is the Audience that identity providers configure for the China Regions (both Beijing and Ningxia).
 *   An assumption: AWS's aws-cn pages name the metadata document, not this value, which is documented
 *   only by third-party identity providers' setup guides for the China Regions (aws-us-gov's Audience,
 *   below, is documented by AWS and has the same form).
 * - aws-us-gov: https://docs.aws.amazon.com/govcloud-us/latest/UserGuide/govcloud-iam.html
 *   ("Application ACS URL: https://signin.amazonaws-us-gov.com/saml", "Application SAML audience:
 *   urn:amazon:webservices:govcloud").
 */
export const SAML_SERVICE_PROVIDERS = {
  'aws': { recipient: 'https://signin.aws.amazon.com/saml', audience: 'urn:amazon:webservices' },
  'aws-cn': { recipient: 'https://signin.amazonaws.cn/saml', audience: 'urn:amazon:webservices:cn-north-1' },
  'aws-us-gov': { recipient: 'https://signin.amazonaws-us-gov.com/saml', audience: 'urn:amazon:webservices:govcloud' },
} as const;

/** One accepted OpenID Connect issuer (an element of `DELEGATION_ISSUERS`). */
export interface IssuerConfig {
  /** Exact `iss` value, an https URL. */
  readonly issuer: string;
  /** Pinned https URL of the issuer's JWKS; never taken from the token. */
  readonly jwksUri: string;
  /** Accepted `aud` values (client ids); at least one. When `aud` is an array, `azp` must be one of these. */
  readonly audiences: string[];
  /** JWS algorithms allowed, e.g. `["RS256"]`. Never `none` or an HMAC algorithm. */
  readonly algorithms: string[];
  /** Claim that holds the user id. Usually `sub`. */
  readonly subjectClaim: string;
  /**
   * Namespace put before the subject (`<namespace>:<subject>`) so that equal subjects of different
   * issuers never share a prefix; empty string for bare subjects. `[a-z0-9-]{1,32}` when set; never
   * contains `:`. Namespaces are unique among the issuers, and at most one issuer has none: a bare
   * subject never contains `:`, so it can never equal a namespaced one.
   */
  readonly namespace: string;
  /** Maximum age of the token (now - iat) in seconds. */
  readonly maxTokenAgeSeconds: number;
  /** Clock tolerance in seconds for exp/nbf/iat. */
  readonly clockToleranceSeconds: number;
  /** When set, the claim `token_use` must equal it (Cognito: `id`). */
  readonly tokenUse?: string;
}

/** Which roles a user may assume (the value of `DELEGATION_ROLES`). */
export interface RoleConfig {
  /** Role used when no rule matches; empty string means "no default: a rule must match". */
  readonly defaultRoleArn: string;
  /** Evaluated in order; every matching rule makes its role available, the first match is the server's choice. */
  readonly rules: RoleRuleConfig[];
  /**
   * Role ARNs a client may name in the request (`role`). A named role is honoured only when it is in
   * this list and is also available to the user (the default role or a role of a matching rule).
   */
  readonly clientSelectable: string[];
}

/** One claim-based role rule. */
export interface RoleRuleConfig {
  readonly roleArn: string;
  /**
   * The exact `iss` of the issuer whose tokens the rule examines (one of `DELEGATION_ISSUERS`): a token
   * of any other issuer never matches it, whatever its claims say. Required with several issuers;
   * absent means the only one (which keeps the environment small).
   */
  readonly issuer?: string;
  /** Claim name, e.g. `groups` or `https://example.com/roles`. */
  readonly claim: string;
  /** `equals`: the claim is a string equal to value; `contains`: the claim is an array holding value. */
  readonly match: 'equals' | 'contains';
  readonly value: string;
  /** Companion conditions that must all hold too, e.g. `email_verified` is true. Optional, default `[]`. */
  readonly requires?: ClaimConditionConfig[];
}

/** A condition on one claim of a verified token. */
export interface ClaimConditionConfig {
  /** Claim name. */
  readonly claim: string;
  /**
   * `equals`: a string equal to value; `contains`: an array holding value; `true`: the boolean `true`
   * (or the string `"true"`, as some providers send verification flags).
   */
  readonly match: 'equals' | 'contains' | 'true';
  /** The value compared; absent with `true`. */
  readonly value?: string;
}

/** One session tag mapped from a claim (an element of `DELEGATION_SESSION_TAGS`). */
export interface SessionTagConfig {
  /**
   * The exact `iss` of the issuer whose tokens carry the claim (one of `DELEGATION_ISSUERS`); other
   * issuers' tokens never get this tag. Required with several issuers; absent means the only one.
   */
  readonly issuer?: string;
  /** Tag key, sent as `PrincipalTag:<key>`; `[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}`. */
  readonly key: string;
  /** Claim whose string value becomes the tag value. */
  readonly claim: string;
  /** When true, a missing claim refuses the request; when false, the tag is left out. */
  readonly required: boolean;
}

/** Allowed values of `DELEGATION_SIGNER`. */
export const SignerKind = {
  KMS: 'kms',
  PEM: 'pem',
} as const;

/** A SAML attribute filled from a claim (an element of `DELEGATION_SAML_ATTRIBUTES`). */
export interface SamlAttributeConfig {
  /** The exact `iss` of the issuer whose tokens carry the claim (one of `DELEGATION_ISSUERS`). Required with several issuers; absent means the only one. */
  readonly issuer?: string;
  /** The attribute's Name, an OID URN such as `urn:oid:1.3.6.1.4.1.5923.1.1.1.1`. */
  readonly name: string;
  /** Claim whose string, number or array of strings gives the values. */
  readonly claim: string;
  /** When true, a missing claim refuses the request; when false, the attribute is left out. */
  readonly required: boolean;
  /**
   * Companion conditions that must all hold for the claim to count, e.g. `email_verified` is true; when
   * one fails the claim is treated as absent (left out, or refused when `required`). Optional, default `[]`.
   */
  readonly requires?: ClaimConditionConfig[];
}

/** The handler's per-outcome metric (embedded metric format), read by `DelegationEndpoint.metricOutcome`. */
export const DelegationMetric = {
  /** Namespace unless `DELEGATION_METRICS_NAMESPACE` names another. */
  DEFAULT_NAMESPACE: 'TokenDelegation',
  NAME: 'Requests',
  DIMENSION: 'Outcome',
} as const;
