import {
  DelegationEnv,
  DelegationMetric,
  SignerKind,
  type IssuerConfig,
  type RoleConfig,
  type ClaimConditionConfig,
  type RoleRuleConfig,
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

/** How assertions are signed: a KMS key, an inline PEM key, or a PEM key kept in Secrets Manager. */
export type SignerConfig =
  | { readonly kind: 'kms'; readonly kmsKeyArn: string }
  | { readonly kind: 'pem'; readonly signingKeyPem: string }
  | { readonly kind: 'pem'; readonly signingKeySecretArn: string };

/** Asymmetric JWS algorithms an issuer may be configured with; `none` and HMAC are never accepted. */
export const ALLOWED_JWS_ALGORITHMS: readonly string[] = [
  'RS256', 'RS384', 'RS512',
  'PS256', 'PS384', 'PS512',
  'ES256', 'ES384', 'ES512',
  'EdDSA',
];

export const DEFAULT_SESSION_DURATION_SECONDS = 3600;
export const MIN_SESSION_DURATION_SECONDS = 900;
export const MAX_SESSION_DURATION_SECONDS = 43200;
export const DEFAULT_ASSERTION_LIFETIME_SECONDS = 300;
export const MIN_ASSERTION_LIFETIME_SECONDS = 60;
export const MAX_ASSERTION_LIFETIME_SECONDS = 300;
export const MAX_CLOCK_TOLERANCE_SECONDS = 300;
export const DEFAULT_METRICS_NAMESPACE = DelegationMetric.DEFAULT_NAMESPACE;
/** AWS accepts at most 50 session tags per session. */
export const MAX_SESSION_TAGS = 50;

/** IAM role ARN; commas are refused because AWS splits the SAML Role value `roleArn,providerArn` on them. */
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/(?:[\w+=.@-]+\/)*[\w+=.@-]{1,64}$/;
const SAML_PROVIDER_ARN = /^arn:aws[a-z-]*:iam::\d{12}:saml-provider\/[\w.-]{1,128}$/;
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(?:key\/[0-9A-Za-z-]{1,128}|alias\/[\w/-]{1,250})$/;
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]{1,512}$/;
const NAMESPACE = /^[a-z0-9-]{1,32}$/;
/** AWS session tag keys: 1..128 characters of letters, spaces, digits and `_.:/=+-@`. */
const TAG_KEY = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u;
const CLOUDWATCH_NAMESPACE = /^[A-Za-z0-9.\-_/#: ]{1,255}$/;
const PEM_PRIVATE_KEY = /-----BEGIN (?:RSA |ENCRYPTED )?PRIVATE KEY-----[\s\S]+-----END (?:RSA |ENCRYPTED )?PRIVATE KEY-----/;
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
const CONTROL_OR_SPACE = /[\s\u0000-\u001f\u007f]/;

type Env = Record<string, string | undefined>;

/**
 * Reads and validates every variable of `DelegationEnv`. Throws an Error whose message names the
 * variable (and JSON path) and what is wrong; key material is never quoted.
 */
export function loadConfig(env: Env): DelegationConfig {
  const issuers = parseIssuers(requireJson(env, DelegationEnv.ISSUERS));
  const providerArn = requireString(env, DelegationEnv.SAML_PROVIDER_ARN);
  if (!SAML_PROVIDER_ARN.test(providerArn)) {
    fail(DelegationEnv.SAML_PROVIDER_ARN, 'must be an IAM SAML provider ARN (arn:aws:iam::<account>:saml-provider/<name>)');
  }
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

function fail(path: string, problem: string): never {
  throw new Error(`${path}: ${problem}`);
}

function requireString(env: Env, name: string): string {
  const value = env[name];
  if (value === undefined || value.trim() === '') {
    fail(name, 'is required');
  }
  return value;
}

function requireJson(env: Env, name: string): unknown {
  return parseJson(name, requireString(env, name));
}

function optionalJson(env: Env, name: string, fallback: unknown): unknown {
  const value = env[name];
  return value === undefined || value.trim() === '' ? fallback : parseJson(name, value);
}

function parseJson(name: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // JSON.parse messages quote the input, which could be anything the operator pasted.
    return fail(name, 'is not valid JSON');
  }
}

/** `true` or `false`; absent or empty means false. */
function optionalFlag(env: Env, name: string): boolean {
  const value = env[name]?.trim();
  if (value === undefined || value === '' || value === 'false') return false;
  if (value === 'true') return true;
  return fail(name, 'must be "true" or "false"');
}

function optionalInteger(env: Env, name: string, fallback: number, min: number, max: number): number {
  const value = env[name];
  if (value === undefined || value.trim() === '') {
    return fallback;
  }
  if (!/^\d{1,6}$/.test(value.trim())) {
    fail(name, `must be a whole number of seconds between ${min} and ${max}`);
  }
  const parsed = Number(value.trim());
  if (parsed < min || parsed > max) {
    fail(name, `must be between ${min} and ${max}, got ${parsed}`);
  }
  return parsed;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Refuses properties outside `allowed`, so a misspelt option never silently falls back to a weaker default. */
function expectObject(value: unknown, path: string, required: readonly string[], optional: readonly string[] = []): Record<string, unknown> {
  if (!isPlainObject(value)) {
    fail(path, 'must be a JSON object');
  }
  for (const key of Object.keys(value)) {
    if (!required.includes(key) && !optional.includes(key)) {
      fail(path, `unknown property ${JSON.stringify(key.slice(0, 64))}`);
    }
  }
  for (const key of required) {
    if (!Object.hasOwn(value, key)) {
      fail(`${path}.${key}`, 'is required');
    }
  }
  return value;
}

function expectArray(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) {
    fail(path, 'must be a JSON array');
  }
  return value;
}

function expectString(value: unknown, path: string, options: { allowEmpty?: boolean; maxLength?: number } = {}): string {
  if (typeof value !== 'string') {
    fail(path, 'must be a string');
  }
  if (!options.allowEmpty && value === '') {
    fail(path, 'must not be empty');
  }
  const maxLength = options.maxLength ?? 2048;
  if (value.length > maxLength) {
    fail(path, `must be at most ${maxLength} characters`);
  }
  return value;
}

function expectInteger(value: unknown, path: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    fail(path, 'must be an integer');
  }
  if (value < min || value > max) {
    fail(path, `must be between ${min} and ${max}, got ${value}`);
  }
  return value;
}

function expectBoolean(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') {
    fail(path, 'must be true or false');
  }
  return value;
}

function expectUnique(values: readonly string[], path: string, what: string, normalize = (value: string) => value): void {
  const seen = new Set<string>();
  values.forEach((value, index) => {
    const key = normalize(value);
    if (seen.has(key)) {
      fail(`${path}[${index}]`, `duplicate ${what}`);
    }
    seen.add(key);
  });
}

/**
 * Parses an absolute URL that must use https; plain http is allowed only for loopback hosts so that
 * tests and local runs work without ever sending tokens or keys over the network in clear text.
 */
function expectSecureUrl(value: unknown, path: string, options: { allowQuery: boolean }): string {
  const text = expectString(value, path);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail(path, 'must be an https URL');
  }
  const loopbackHttp = url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);
  if (url.protocol !== 'https:' && !loopbackHttp) {
    fail(path, 'must be an https URL');
  }
  if (url.username !== '' || url.password !== '') {
    fail(path, 'must not contain credentials');
  }
  if (url.hash !== '' || text.includes('#')) {
    fail(path, 'must not contain a fragment');
  }
  if (!options.allowQuery && (url.search !== '' || text.includes('?'))) {
    fail(path, 'must not contain a query');
  }
  if (CONTROL_OR_SPACE.test(text)) {
    fail(path, 'must not contain whitespace or control characters');
  }
  return text;
}

function parseIssuers(value: unknown): IssuerConfig[] {
  const name = DelegationEnv.ISSUERS;
  const list = expectArray(value, name);
  if (list.length === 0) {
    fail(name, 'must list at least one issuer');
  }
  const issuers = list.map((item, index) => parseIssuer(item, `${name}[${index}]`));
  expectUnique(issuers.map((issuer) => issuer.issuer), name, 'issuer');
  issuers.forEach((issuer, index) => {
    if (issuer.namespace !== '' && !NAMESPACE.test(issuer.namespace)) {
      fail(`${name}[${index}].namespace`, 'must be empty or match [a-z0-9-]{1,32}');
    }
  });
  // A bare subject never contains ':', so it never equals a namespaced one: at most one issuer may go without.
  expectUnique(issuers.map((issuer) => issuer.namespace), name, 'namespace (at most one issuer may have none), so that subjects never collide');
  return issuers;
}

function parseIssuer(value: unknown, path: string): IssuerConfig {
  const item = expectObject(
    value, path,
    ['issuer', 'jwksUri', 'audiences', 'algorithms', 'subjectClaim', 'namespace', 'maxTokenAgeSeconds', 'clockToleranceSeconds'],
    ['tokenUse'],
  );
  const audiences = expectArray(item.audiences, `${path}.audiences`)
    .map((audience, index) => expectString(audience, `${path}.audiences[${index}]`, { maxLength: 1024 }));
  if (audiences.length === 0) {
    fail(`${path}.audiences`, 'must list at least one audience');
  }
  expectUnique(audiences, `${path}.audiences`, 'audience');
  const algorithms = expectArray(item.algorithms, `${path}.algorithms`).map((algorithm, index) => {
    const algorithmPath = `${path}.algorithms[${index}]`;
    const text = expectString(algorithm, algorithmPath, { maxLength: 16 });
    if (!ALLOWED_JWS_ALGORITHMS.includes(text)) {
      fail(algorithmPath, `must be one of ${ALLOWED_JWS_ALGORITHMS.join(', ')} (none and HMAC algorithms are never accepted)`);
    }
    return text;
  });
  if (algorithms.length === 0) {
    fail(`${path}.algorithms`, 'must list at least one algorithm');
  }
  expectUnique(algorithms, `${path}.algorithms`, 'algorithm');
  const tokenUse = item.tokenUse === undefined
    ? undefined
    : expectString(item.tokenUse, `${path}.tokenUse`, { maxLength: 64 });
  return {
    issuer: expectSecureUrl(item.issuer, `${path}.issuer`, { allowQuery: false }),
    jwksUri: expectSecureUrl(item.jwksUri, `${path}.jwksUri`, { allowQuery: true }),
    audiences,
    algorithms,
    subjectClaim: expectString(item.subjectClaim, `${path}.subjectClaim`, { maxLength: 256 }),
    namespace: expectString(item.namespace, `${path}.namespace`, { allowEmpty: true, maxLength: 32 }),
    maxTokenAgeSeconds: expectInteger(item.maxTokenAgeSeconds, `${path}.maxTokenAgeSeconds`, 1, 31 * 24 * 3600),
    clockToleranceSeconds: expectInteger(item.clockToleranceSeconds, `${path}.clockToleranceSeconds`, 0, MAX_CLOCK_TOLERANCE_SECONDS),
    ...(tokenUse === undefined ? {} : { tokenUse }),
  };
}

function expectRoleArn(value: unknown, path: string): string {
  const text = expectString(value, path);
  if (!ROLE_ARN.test(text)) {
    fail(path, 'must be an IAM role ARN (arn:aws:iam::<12-digit account>:role/[path/]<name>, without commas)');
  }
  return text;
}

/** The `issuer` of a rule or tag: the exact `iss` of one of the configured issuers. */
function expectIssuerRef(value: unknown, path: string, issuers: readonly IssuerConfig[]): string {
  if (value === undefined) {
    if (issuers.length !== 1) {
      fail(path, 'is required when several issuers are configured');
    }
    return issuers[0].issuer;
  }
  const text = expectString(value, path, { maxLength: 2048 });
  if (!issuers.some((issuer) => issuer.issuer === text)) {
    fail(path, `must be the issuer of one of ${DelegationEnv.ISSUERS}`);
  }
  return text;
}

function parseRoles(value: unknown, issuers: readonly IssuerConfig[]): RoleConfig {
  const name = DelegationEnv.ROLES;
  const item = expectObject(value, name, ['defaultRoleArn', 'rules', 'clientSelectable']);
  const defaultRoleArn = expectString(item.defaultRoleArn, `${name}.defaultRoleArn`, { allowEmpty: true });
  if (defaultRoleArn !== '') {
    expectRoleArn(defaultRoleArn, `${name}.defaultRoleArn`);
  }
  const rules = expectArray(item.rules, `${name}.rules`).map((rule, index) => parseRoleRule(rule, `${name}.rules[${index}]`, issuers));
  if (defaultRoleArn === '' && rules.length === 0) {
    fail(name, 'needs a defaultRoleArn or at least one rule, otherwise no user can ever get a role');
  }
  const grantable = new Set([defaultRoleArn, ...rules.map((rule) => rule.roleArn)]);
  const clientSelectable = expectArray(item.clientSelectable, `${name}.clientSelectable`).map((arn, index) => {
    const path = `${name}.clientSelectable[${index}]`;
    const roleArn = expectRoleArn(arn, path);
    if (!grantable.has(roleArn)) {
      fail(path, 'is neither the default role nor the role of a rule, so it could never be granted');
    }
    return roleArn;
  });
  expectUnique(clientSelectable, `${name}.clientSelectable`, 'role');
  return { defaultRoleArn, rules, clientSelectable };
}

function parseRoleRule(value: unknown, path: string, issuers: readonly IssuerConfig[]): RoleRuleConfig {
  const item = expectObject(value, path, ['roleArn', 'claim', 'match', 'value'], ['issuer', 'requires']);
  const match = item.match;
  if (match !== 'equals' && match !== 'contains') {
    fail(`${path}.match`, 'must be "equals" or "contains"');
  }
  const requires = item.requires === undefined
    ? []
    : expectArray(item.requires, `${path}.requires`).map((condition, index) => parseClaimCondition(condition, `${path}.requires[${index}]`));
  return {
    roleArn: expectRoleArn(item.roleArn, `${path}.roleArn`),
    issuer: expectIssuerRef(item.issuer, `${path}.issuer`, issuers),
    claim: expectString(item.claim, `${path}.claim`, { maxLength: 256 }),
    match,
    value: expectString(item.value, `${path}.value`, { maxLength: 1024 }),
    ...(requires.length > 0 ? { requires } : {}),
  };
}

function parseClaimCondition(value: unknown, path: string): ClaimConditionConfig {
  const item = expectObject(value, path, ['claim', 'match'], ['value']);
  const claim = expectString(item.claim, `${path}.claim`, { maxLength: 256 });
  const match = item.match;
  if (match === 'true') {
    if (item.value !== undefined) {
      fail(`${path}.value`, 'must be absent when match is "true"');
    }
    return { claim, match };
  }
  if (match !== 'equals' && match !== 'contains') {
    fail(`${path}.match`, 'must be "equals", "contains" or "true"');
  }
  return { claim, match, value: expectString(item.value, `${path}.value`, { maxLength: 1024 }) };
}

function parseSessionTags(value: unknown, issuers: readonly IssuerConfig[]): SessionTagConfig[] {
  const name = DelegationEnv.SESSION_TAGS;
  const list = expectArray(value, name);
  const tags = list.map((tag, index) => {
    const path = `${name}[${index}]`;
    const item = expectObject(tag, path, ['key', 'claim', 'required'], ['issuer']);
    const key = expectString(item.key, `${path}.key`, { maxLength: 128 });
    if (!TAG_KEY.test(key)) {
      fail(`${path}.key`, 'must be 1..128 letters, digits, spaces or _.:/=+-@ (AWS tag key rules)');
    }
    if (key.toLowerCase().startsWith('aws:')) {
      fail(`${path}.key`, 'must not start with "aws:" (reserved by AWS)');
    }
    return {
      issuer: expectIssuerRef(item.issuer, `${path}.issuer`, issuers),
      key,
      claim: expectString(item.claim, `${path}.claim`, { maxLength: 256 }),
      required: expectBoolean(item.required, `${path}.required`),
    };
  });
  for (const issuer of issuers) {
    const own = tags.filter((tag) => tag.issuer === issuer.issuer);
    if (own.length > MAX_SESSION_TAGS) {
      fail(name, `must list at most ${MAX_SESSION_TAGS} tags per issuer (the AWS limit per session)`);
    }
    // AWS treats session tag keys case-insensitively: `Dept` and `dept` are the same tag.
    expectUnique(own.map((tag) => tag.key), name, 'tag key per issuer (keys are case-insensitive)', (key) => key.toLowerCase());
  }
  return tags;
}

/** An OID URN: the only attribute Names AWS maps to condition keys, and never one of AWS's own attributes. */
const OID_URN = /^urn:oid:[0-2](\.(0|[1-9][0-9]*)){1,30}$/;
/** Further SAML attributes per issuer. */
export const MAX_SAML_ATTRIBUTES = 20;

function parseSamlAttributes(value: unknown, issuers: readonly IssuerConfig[]): SamlAttributeConfig[] {
  const name = DelegationEnv.SAML_ATTRIBUTES;
  const attributes = expectArray(value, name).map((item, index) => {
    const path = `${name}[${index}]`;
    const object = expectObject(item, path, ['name', 'claim', 'required'], ['issuer']);
    const attributeName = expectString(object.name, `${path}.name`, { maxLength: 128 });
    if (!OID_URN.test(attributeName)) {
      fail(`${path}.name`, 'must be an OID URN such as urn:oid:1.3.6.1.4.1.5923.1.1.1.1');
    }
    return {
      issuer: expectIssuerRef(object.issuer, `${path}.issuer`, issuers),
      name: attributeName,
      claim: expectString(object.claim, `${path}.claim`, { maxLength: 256 }),
      required: expectBoolean(object.required, `${path}.required`),
    };
  });
  for (const issuer of issuers) {
    const own = attributes.filter((attribute) => attribute.issuer === issuer.issuer);
    if (own.length > MAX_SAML_ATTRIBUTES) {
      fail(name, `must list at most ${MAX_SAML_ATTRIBUTES} attributes per issuer`);
    }
    expectUnique(own.map((attribute) => attribute.name), name, 'attribute name per issuer');
  }
  return attributes;
}

function parseSigner(env: Env): SignerConfig {
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
      if (!PEM_PRIVATE_KEY.test(pem)) {
        fail(DelegationEnv.SIGNING_KEY_PEM, 'must be a PEM private key (-----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)');
      }
      return { kind: 'pem', signingKeyPem: pem };
    }
    if (!SECRET_ARN.test(secretArn!)) {
      fail(DelegationEnv.SIGNING_KEY_SECRET_ARN, 'must be a Secrets Manager secret ARN');
    }
    return { kind: 'pem', signingKeySecretArn: secretArn! };
  }
  return fail(DelegationEnv.SIGNER, 'must be "kms" or "pem"');
}

function parseEntityId(value: string): string {
  const name = DelegationEnv.SAML_ENTITY_ID;
  if (value.length > 1024) {
    fail(name, 'must be at most 1024 characters (SAML entityID limit)');
  }
  if (CONTROL_OR_SPACE.test(value)) {
    fail(name, 'must not contain whitespace or control characters');
  }
  return value;
}

function parseRecipient(value: string): string {
  return expectSecureUrl(value, DelegationEnv.SAML_RECIPIENT, { allowQuery: false });
}

/**
 * Origins must be exactly what a browser sends in `Origin` (lower-case host, no default port, no path),
 * because CORS compares them as strings; https only, except for loopback development servers.
 */
function parseOrigins(value: unknown): string[] {
  const name = DelegationEnv.ALLOWED_ORIGINS;
  const origins = expectArray(value, name).map((origin, index) => {
    const path = `${name}[${index}]`;
    const text = expectString(origin, path, { maxLength: 512 });
    let url: URL | undefined;
    try {
      url = new URL(text);
    } catch {
      url = undefined;
    }
    if (url === undefined || url.origin === 'null' || url.origin !== text) {
      fail(path, 'must be an exact origin scheme://host[:port] (lower-case, no path, no trailing slash, no default port)');
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))) {
      fail(path, 'must use https (http only for localhost, 127.0.0.1 or [::1])');
    }
    return text;
  });
  expectUnique(origins, name, 'origin');
  return origins;
}

function parseMetricsNamespace(env: Env): string {
  const name = DelegationEnv.METRICS_NAMESPACE;
  const value = env[name];
  if (value === undefined || value === '') {
    return DEFAULT_METRICS_NAMESPACE;
  }
  if (!CLOUDWATCH_NAMESPACE.test(value) || value.trim() === '' || value.startsWith('AWS/')) {
    fail(name, 'must be 1..255 characters of A-Z a-z 0-9 . - _ / # : or space, not starting with AWS/');
  }
  return value;
}

/** An X.509 certificate of an RSA key of up to 4096 bits fits in well under this many base64 characters. */
const MAX_CERTIFICATE_CHARS = 4096;
const BASE64_ONE_LINE = /^[A-Za-z0-9+/]+={0,2}$/;

function parseSigningCertificate(env: Env): { signingCertificate?: string } {
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
