import { createHash } from 'node:crypto';
import type { AssertionFacts, SamlResponseFacts } from './sts-saml';

/**
 * What `sts:AssumeRoleWithSAML` demands of its parameters and of a verified SAML assertion, as pure
 * checks that throw the error STS would answer with.
 *
 * Error codes and HTTP statuses, as the STS API model (`@aws-sdk/client-sts` error shapes), the
 * AssumeRoleWithSAML API reference and the IAM guide "Troubleshoot SAML federation" give them:
 * - `ValidationError` 400 (Sender): request parameters out of their constraints (RoleArn, PrincipalArn,
 *   SAMLAssertion length 4..100,000, DurationSeconds 900..43,200) and "The requested DurationSeconds
 *   exceeds the MaxSessionDuration set for this role".
 * - `InvalidIdentityToken` 400: "Response signature invalid", "Issuer not present in specified provider",
 *   "RoleSessionName is required in AuthnResponse", "RoleSessionName in AuthnResponse must match …",
 *   "Source Identity must match … and not begin with aws:", "Response does not contain the required
 *   audience"; also (assumed, AWS does not document the code) unparseable documents, unknown providers,
 *   a Recipient that is not an AWS sign-in endpoint, assertions not yet valid, and PrincipalTag,
 *   TransitiveTagKeys or SessionDuration values outside AWS's rules.
 * - `ExpiredTokenException` 400: "Response has expired" (NotOnOrAfter passed) and "Token must be
 *   redeemed within 5 minutes of issuance" (IssueInstant too old).
 * - `AccessDenied` 403: "Not authorized to perform sts:AssumeRoleWithSAML" (role not in the Role
 *   attribute, unknown role, trust policy refuses; also a missing NameID), and the same for
 *   sts:TagSession / sts:SetSourceIdentity when tags or a source identity are sent without them.
 * - `IDPRejectedClaim` 403: the identity provider's Response carries a non-success status.
 * - `InvalidAction` 400: any other Action.
 */

/** The STS error shape: `ErrorResponse/Error/{Type,Code,Message}` and the HTTP status. */
export class StsError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly type: 'Sender' | 'Receiver' = 'Sender',
  ) {
    super(message);
    this.name = 'StsError';
  }
}

export const notAuthorized = (action: string) => new StsError(403, 'AccessDenied', `Not authorized to perform ${action}`);
export const invalidToken = (message: string) => new StsError(400, 'InvalidIdentityToken', message);
export const validationError = (message: string) => new StsError(400, 'ValidationError', message);
const expired = (message: string) => new StsError(400, 'ExpiredTokenException', message);

const AWS_SAML_ATTRIBUTE = 'https://aws.amazon.com/SAML/Attributes/';
const ROLE_ATTRIBUTE = `${AWS_SAML_ATTRIBUTE}Role`;
const ROLE_SESSION_NAME_ATTRIBUTE = `${AWS_SAML_ATTRIBUTE}RoleSessionName`;
const SESSION_DURATION_ATTRIBUTE = `${AWS_SAML_ATTRIBUTE}SessionDuration`;
const SOURCE_IDENTITY_ATTRIBUTE = `${AWS_SAML_ATTRIBUTE}SourceIdentity`;
const PRINCIPAL_TAG_PREFIX = `${AWS_SAML_ATTRIBUTE}PrincipalTag:`;
const TRANSITIVE_TAG_KEYS_ATTRIBUTE = `${AWS_SAML_ATTRIBUTE}TransitiveTagKeys`;
const AWS_SP_ENTITY_ID = 'urn:amazon:webservices';
const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';
const NAMEID_FORMAT_PREFIX = 'urn:oasis:names:tc:SAML:2.0:nameid-format:';
const NAMEID_UNSPECIFIED = 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified';
const STATUS_SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';

const AWS_SIGNIN_RECIPIENT = /^https:\/\/([a-z0-9-]+\.)?signin\.(aws\.amazon\.com|amazonaws\.cn|amazonaws-us-gov\.com)\/saml$/;
export const ROLE_ARN = /^arn:(aws[a-z-]*):iam::(\d{12}):role\/((?:[\w+=,.@-]+\/)*)([\w+=,.@-]{1,64})$/;
export const PROVIDER_ARN = /^arn:(aws[a-z-]*):iam::(\d{12}):saml-provider\/([\w.-]{1,128})$/;
const SESSION_NAME = /^[A-Za-z0-9_=,.@+-]{2,64}$/;
const TAG_KEY = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u;
const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u;
const MAX_SESSION_TAGS = 50;
const MAX_ASSERTION_CHARACTERS = 100_000;
export const MIN_DURATION_SECONDS = 900;
export const MAX_DURATION_SECONDS = 43_200;
export const DEFAULT_DURATION_SECONDS = 3600;

/** The parameters of one `AssumeRoleWithSAML` call, as received. */
export interface AssumeRoleWithSamlParameters {
  readonly RoleArn?: string;
  readonly PrincipalArn?: string;
  readonly SAMLAssertion?: string;
  readonly DurationSeconds?: string;
  readonly Policy?: string;
  readonly PolicyArns?: boolean;
}

export interface CheckedParameters {
  readonly roleArn: string;
  readonly providerArn: string;
  readonly samlAssertion: string;
  readonly durationSeconds?: number;
}

/** The request parameters within the API's constraints; throws `ValidationError`. */
export function checkParameters(parameters: AssumeRoleWithSamlParameters): CheckedParameters {
  const { RoleArn: roleArn, PrincipalArn: providerArn, SAMLAssertion: samlAssertion, DurationSeconds: duration } = parameters;
  if (roleArn === undefined || providerArn === undefined || samlAssertion === undefined) {
    const name = roleArn === undefined ? 'roleArn' : providerArn === undefined ? 'principalArn' : 'sAMLAssertion';
    throw validationError(`1 validation error detected: Value null at '${name}' failed to satisfy constraint: Member must not be null`);
  }
  if (roleArn.length < 20 || roleArn.length > 2048 || !ROLE_ARN.test(roleArn)) {
    throw validationError('Role ARN is invalid');
  }
  if (providerArn.length < 20 || providerArn.length > 2048 || !PROVIDER_ARN.test(providerArn)) {
    throw validationError('Principal ARN is invalid');
  }
  if (ROLE_ARN.exec(roleArn)![2] !== PROVIDER_ARN.exec(providerArn)![2]) {
    throw validationError('Principal exists outside the account of the Role being assumed.');
  }
  if (samlAssertion.length < 4 || samlAssertion.length > MAX_ASSERTION_CHARACTERS) {
    throw validationError(`1 validation error detected: Value at 'sAMLAssertion' failed to satisfy constraint: Member must have length between 4 and ${MAX_ASSERTION_CHARACTERS}`);
  }
  if (parameters.Policy !== undefined || parameters.PolicyArns) {
    throw validationError('Session policies are not emulated by the loopback STS');
  }
  let durationSeconds: number | undefined;
  if (duration !== undefined) {
    durationSeconds = /^\d{1,6}$/.test(duration) ? Number(duration) : NaN;
    if (!(durationSeconds >= MIN_DURATION_SECONDS && durationSeconds <= MAX_DURATION_SECONDS)) {
      throw validationError(`1 validation error detected: Value at 'durationSeconds' failed to satisfy constraint: Member must have value between ${MIN_DURATION_SECONDS} and ${MAX_DURATION_SECONDS}`);
    }
  }
  return { roleArn, providerArn, samlAssertion, durationSeconds };
}

/** What STS takes from an assertion it accepted. */
export interface AssertionClaims {
  /** SubjectConfirmationData Recipient: `saml:aud` and the response's Audience. */
  readonly recipient: string;
  readonly subject: string;
  readonly subjectType: string;
  readonly roleSessionName: string;
  readonly sourceIdentity?: string;
  readonly sessionDurationSeconds?: number;
  readonly sessionNotOnOrAfter?: Date;
  readonly tags: ReadonlyArray<{ readonly key: string; readonly value: string }>;
  readonly transitiveTagKeys: readonly string[];
}

export interface AssertionExpectations {
  /** The provider's entityID. */
  readonly issuer: string;
  readonly roleArn: string;
  readonly providerArn: string;
  /** Epoch milliseconds. */
  readonly now: number;
  readonly clockSkewMs: number;
  /** How long after IssueInstant an assertion may be redeemed. */
  readonly maxAgeMs: number;
}

/** `saml:sub_type`: the SAML 2.0 name-id-format prefix removed, other formats unchanged. */
export function subjectTypeOf(format: string | undefined): string {
  const value = format ?? NAMEID_UNSPECIFIED;
  return value.startsWith(NAMEID_FORMAT_PREFIX) ? value.slice(NAMEID_FORMAT_PREFIX.length) : value;
}

/** `saml:namequalifier` and the response's NameQualifier: base64(SHA-1(issuer + account + "/" + provider name)). */
export function nameQualifierOf(issuer: string, accountId: string, providerName: string): string {
  return createHash('sha1').update(`${issuer}${accountId}/${providerName}`, 'utf8').digest('base64');
}

function checkTimes(assertion: AssertionFacts, { now, clockSkewMs, maxAgeMs }: AssertionExpectations): void {
  if (assertion.issueInstant.getTime() > now + clockSkewMs
    || (assertion.conditionsNotBefore && assertion.conditionsNotBefore.getTime() > now + clockSkewMs)) {
    throw invalidToken('Response is not yet valid');
  }
  if (assertion.conditionsNotOnOrAfter && assertion.conditionsNotOnOrAfter.getTime() <= now - clockSkewMs) {
    throw expired('Response has expired');
  }
  if (now - assertion.issueInstant.getTime() > maxAgeMs + clockSkewMs) {
    throw expired('Token must be redeemed within 5 minutes of issuance');
  }
}

/** The one bearer SubjectConfirmation: its Recipient is an AWS sign-in endpoint and it has not expired. */
function checkSubjectConfirmation(assertion: AssertionFacts, { now, clockSkewMs }: AssertionExpectations): string {
  const [confirmation] = assertion.subjectConfirmations;
  if (assertion.subjectConfirmations.length !== 1 || confirmation.method !== BEARER) {
    throw invalidToken('The assertion must have exactly one bearer SubjectConfirmation');
  }
  const { recipient, notOnOrAfter, notBefore } = confirmation;
  if (!recipient || !AWS_SIGNIN_RECIPIENT.test(recipient)) {
    throw invalidToken('SubjectConfirmationData Recipient is not an AWS sign-in endpoint');
  }
  if (!notOnOrAfter) {
    throw invalidToken('SubjectConfirmationData must have NotOnOrAfter');
  }
  if (notOnOrAfter.getTime() <= now - clockSkewMs) {
    throw expired('Response has expired');
  }
  if (notBefore && notBefore.getTime() > now + clockSkewMs) {
    throw invalidToken('Response is not yet valid');
  }
  return recipient;
}

/** Every AudienceRestriction names AWS (`urn:amazon:webservices`) or the Recipient. */
function checkAudience(assertion: AssertionFacts, recipient: string): void {
  const accepted = new Set([AWS_SP_ENTITY_ID, recipient]);
  const restrictions = assertion.audienceRestrictions;
  if (restrictions.length === 0 || !restrictions.every((audiences) => audiences.some((audience) => accepted.has(audience)))) {
    throw invalidToken('Response does not contain the required audience');
  }
}

function singleValue(assertion: AssertionFacts, name: string, label: string): string | undefined {
  const values = assertion.attributes.get(name);
  if (values === undefined) return undefined;
  if (values.length !== 1) {
    throw invalidToken(`${label} in AuthnResponse must have exactly one value`);
  }
  return values[0].trim();
}

function sessionTagsOf(assertion: AssertionFacts): Pick<AssertionClaims, 'tags' | 'transitiveTagKeys'> {
  const tags: Array<{ key: string; value: string }> = [];
  const seen = new Set<string>();
  for (const [name, values] of assertion.attributes) {
    if (!name.startsWith(PRINCIPAL_TAG_PREFIX)) continue;
    const key = name.slice(PRINCIPAL_TAG_PREFIX.length);
    if (!TAG_KEY.test(key)) {
      throw invalidToken('PrincipalTag keys must be 1 to 128 letters, digits, spaces or _.:/=+-@');
    }
    if (seen.has(key.toLowerCase())) {
      throw invalidToken('PrincipalTag keys must be unique (case-insensitively)');
    }
    seen.add(key.toLowerCase());
    if (values.length !== 1 || !TAG_VALUE.test(values[0])) {
      throw invalidToken('PrincipalTag values must be one value of at most 256 letters, digits, spaces or _.:/=+-@');
    }
    tags.push({ key, value: values[0] });
  }
  if (tags.length > MAX_SESSION_TAGS) {
    throw invalidToken(`At most ${MAX_SESSION_TAGS} session tags may be passed`);
  }
  const transitiveTagKeys = assertion.attributes.get(TRANSITIVE_TAG_KEYS_ATTRIBUTE) ?? [];
  if (transitiveTagKeys.some((key) => !seen.has(key.toLowerCase()))) {
    throw invalidToken('TransitiveTagKeys must name session tags of the same assertion');
  }
  return { tags, transitiveTagKeys: [...transitiveTagKeys] };
}

function sessionDurationOf(assertion: AssertionFacts): number | undefined {
  const text = singleValue(assertion, SESSION_DURATION_ATTRIBUTE, 'SessionDuration');
  if (text === undefined) return undefined;
  const seconds = /^\d{1,6}$/.test(text) ? Number(text) : NaN;
  if (!(seconds >= MIN_DURATION_SECONDS && seconds <= MAX_DURATION_SECONDS)) {
    throw invalidToken(`SessionDuration in AuthnResponse must be between ${MIN_DURATION_SECONDS} and ${MAX_DURATION_SECONDS}`);
  }
  return seconds;
}

/**
 * Checks a verified Response against what STS demands (issuer, status, times, subject confirmation,
 * audience, the requested role pair, session name, source identity, session duration, tags) and returns
 * the claims STS uses. Throws {@link StsError}.
 */
export function checkAssertion(facts: SamlResponseFacts, expected: AssertionExpectations): AssertionClaims {
  const { assertion } = facts;
  if (assertion.issuer !== expected.issuer || (facts.responseIssuer !== undefined && facts.responseIssuer !== expected.issuer)) {
    throw invalidToken('Issuer not present in specified provider');
  }
  if (facts.statusCode !== STATUS_SUCCESS) {
    throw new StsError(403, 'IDPRejectedClaim', 'The identity provider reported that authentication failed');
  }
  checkTimes(assertion, expected);
  const recipient = checkSubjectConfirmation(assertion, expected);
  checkAudience(assertion, recipient);
  if (assertion.authnStatementCount === 0) {
    throw invalidToken('Invalid SAML response: no AuthnStatement');
  }

  const rolePairs = assertion.attributes.get(ROLE_ATTRIBUTE);
  if (!rolePairs || rolePairs.length === 0) {
    throw invalidToken('Invalid SAML response: no Role attribute');
  }
  if (!rolePairs.some((pair) => pair.trim() === `${expected.roleArn},${expected.providerArn}`)) {
    throw notAuthorized('sts:AssumeRoleWithSAML');
  }
  const roleSessionName = singleValue(assertion, ROLE_SESSION_NAME_ATTRIBUTE, 'RoleSessionName');
  if (roleSessionName === undefined) {
    throw invalidToken('RoleSessionName is required in AuthnResponse');
  }
  if (!SESSION_NAME.test(roleSessionName)) {
    throw invalidToken('RoleSessionName in AuthnResponse must match [a-zA-Z_0-9+=,.@-]{2,64}');
  }
  const sourceIdentity = singleValue(assertion, SOURCE_IDENTITY_ATTRIBUTE, 'SourceIdentity');
  if (sourceIdentity !== undefined && (!SESSION_NAME.test(sourceIdentity) || sourceIdentity.toLowerCase().startsWith('aws:'))) {
    throw invalidToken('Source Identity must match [a-zA-Z_0-9+=,.@-]{2,64} and not begin with "aws:"');
  }
  const sessionDurationSeconds = sessionDurationOf(assertion);
  const { tags, transitiveTagKeys } = sessionTagsOf(assertion);
  if (assertion.nameId === undefined || assertion.nameId === '') {
    throw notAuthorized('sts:AssumeRoleWithSAML');
  }
  return {
    recipient,
    subject: assertion.nameId,
    subjectType: subjectTypeOf(assertion.nameIdFormat),
    roleSessionName,
    sourceIdentity,
    sessionDurationSeconds,
    sessionNotOnOrAfter: assertion.sessionNotOnOrAfter,
    tags,
    transitiveTagKeys,
  };
}

function actionPatternMatches(pattern: string, action: string): boolean {
  const regex = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
  return regex.test(action);
}

export function asList(value: unknown): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

/**
 * The trust policy as it applies to `action`, rewritten so that iam-simulate evaluates it with the SAML
 * context keys: statements that cover `action` keep their principals and conditions, with their action
 * replaced by `sts:AssumeRoleWithSAML` (iam-simulate drops `saml:*` keys for other actions).
 */
export function trustPolicyForAction(trustPolicy: unknown, action: string): unknown {
  const document = trustPolicy as { Version?: string; Statement?: unknown };
  const statements: unknown[] = Array.isArray(document.Statement) ? document.Statement : [document.Statement];
  const applicable = statements.filter((statement): statement is Record<string, unknown> => typeof statement === 'object' && statement !== null)
    .filter((statement) => {
      if (statement.Action !== undefined) return asList(statement.Action).some((pattern) => actionPatternMatches(pattern, action));
      if (statement.NotAction !== undefined) return !asList(statement.NotAction).some((pattern) => actionPatternMatches(pattern, action));
      return false;
    })
    .map(({ NotAction: _notAction, ...statement }) => ({ ...statement, Action: 'sts:AssumeRoleWithSAML' }));
  return { Version: document.Version ?? '2012-10-17', Statement: applicable };
}
