/**
 * Types shared by the pure modules of the delegation handler, so each module can be built and tested
 * on its own and the handler only wires them together.
 */

/** What the client asked for, after strict parsing of `POST /delegation`. */
export interface DelegationRequest {
  /** The compact-serialized id_token (never logged). */
  readonly idToken: string;
  /** Which of the two accepted request forms was used. */
  readonly form: 'auth0-legacy' | 'bearer';
  /** A role ARN the client named (Auth0 `role`, or `role` in the bearer body); honoured only when allowed. */
  readonly requestedRoleArn?: string;
  /** A provider ARN the client named (Auth0 `principal`); must equal our provider when given. */
  readonly requestedPrincipalArn?: string;
  /** A shorter session the client asked for, in seconds. */
  readonly requestedDurationSeconds?: number;
  /** Auth0 legacy `client_id`, when given (must be one of the issuer's audiences). */
  readonly clientId?: string;
}

/** A verified id token. */
export interface VerifiedToken {
  /** The `iss` of the token, exactly as configured. */
  readonly issuer: string;
  /** The issuer's namespace from configuration ('' with a single issuer). */
  readonly namespace: string;
  /** Subject claim name configured for that issuer. */
  readonly subjectClaim: string;
  /** All claims of the verified payload. */
  readonly claims: Readonly<Record<string, unknown>>;
}

/** The server's decision for one request: who the user is in AWS and what they get. */
export interface DelegationGrant {
  /** The value of NameID and so of `${saml:sub}`: `<namespace>:<sub>` or `<sub>`. */
  readonly subject: string;
  readonly roleArn: string;
  /** `[A-Za-z0-9_=,.@+-]{2,64}`, derived deterministically from the subject. */
  readonly roleSessionName: string;
  /** `[A-Za-z0-9_=,.@+-]{2,64}`, derived deterministically from the subject. */
  readonly sourceIdentity: string;
  /** Session tags (already validated against AWS's rules). */
  readonly sessionTags: ReadonlyArray<{ readonly key: string; readonly value: string }>;
  /** Further SAML attributes (OID URN names, validated values), which AWS exposes as `saml:*` keys. */
  readonly samlAttributes?: ReadonlyArray<{ readonly name: string; readonly values: readonly string[] }>;
  readonly durationSeconds: number;
}

/** Everything the SAML emitter needs for one signed Response. */
export interface AssertionInput {
  /** Our IdP entityID (Issuer of Response and Assertion). */
  readonly issuer: string;
  /** SubjectConfirmationData Recipient (`https://signin.aws.amazon.com/saml` or regional). */
  readonly recipient: string;
  /** Audience values of the single AudienceRestriction, e.g. `urn:amazon:webservices` and the recipient. */
  readonly audiences: readonly string[];
  /** ARN of the IAM SAML provider (second half of each Role value). */
  readonly providerArn: string;
  readonly grant: DelegationGrant;
  /** Issue instant. */
  readonly now: Date;
  /** Validity of the assertion in seconds (NotOnOrAfter = now + lifetime). */
  readonly lifetimeSeconds: number;
}
