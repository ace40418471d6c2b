import { createHash } from 'node:crypto';
import type { DelegationConfig } from './config';
import { DelegationError } from './errors';
import { isXmlText } from './saml';
import type { DelegationGrant, DelegationRequest, VerifiedToken } from './types';
import { MIN_SESSION_DURATION_SECONDS, type ClaimConditionConfig, type RoleRuleConfig } from '../../src/contract/delegation-environment';

/**
 * Characters a subject may contain: enough for Auth0 (`auth0|5f…`, `google-oauth2|1…`), Google and
 * Entra numeric or base64url ids, Cognito UUIDs and Okta ids, and nothing that could widen an IAM
 * resource (`/ * ? $ { }`), break XML, or split `<namespace>:<subject>` (`:`).
 */
export const SUBJECT_PATTERN = /^[A-Za-z0-9._@|+=-]{1,128}$/;
/** AWS RoleSessionName and SourceIdentity: `[A-Za-z0-9_=,.@+-]{2,64}`. */
export const AWS_SESSION_NAME_PATTERN = /^[A-Za-z0-9_=,.@+-]{2,64}$/;
/** AWS session tag values: at most 256 characters of letters, spaces, digits and `_.:/=+-@`. */
export const TAG_VALUE_PATTERN = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
export const MAX_TAG_VALUE_CHARS = 256;

const SESSION_NAME_DISALLOWED = /[^A-Za-z0-9_=,.@+-]/gu;
const SESSION_NAME_MAX = 64;
/** Hex digits of SHA-256 kept in a derived name: 96 bits. */
const HASH_CHARS = 24;
/** Marks a derived name; a subject kept as-is never ends like this, so kept and derived names never meet. */
const HASHED_SUFFIX = new RegExp(`=[0-9a-f]{${HASH_CHARS}}$`);

/**
 * The server's decision for a verified token: subject (namespaced when several issuers are configured),
 * role, RoleSessionName/SourceIdentity, session tags and duration. Throws DelegationError 400 or 403.
 */
export function decideGrant(token: VerifiedToken, request: DelegationRequest, config: DelegationConfig, now = new Date()): DelegationGrant {
  checkClientId(token, request);
  if (request.requestedPrincipalArn !== undefined && request.requestedPrincipalArn !== config.providerArn) {
    throw DelegationError.accessDenied('principal_not_allowed', 'The requested principal is not this endpoint\'s SAML provider');
  }
  const subject = subjectOf(token);
  const sessionName = awsSessionNameFor(subject);
  return {
    subject,
    roleArn: chooseRole(token, request.requestedRoleArn, config),
    roleSessionName: sessionName,
    sourceIdentity: sessionName,
    sessionTags: sessionTagsOf(token, config),
    samlAttributes: samlAttributesOf(token, config),
    durationSeconds: limitedToToken(durationOf(request.requestedDurationSeconds, config.sessionDurationSeconds), token, config, now),
  };
}

/** A claim of the verified payload, ignoring inherited properties such as `constructor`. */
function claim(claims: Readonly<Record<string, unknown>>, name: string): unknown {
  return Object.hasOwn(claims, name) ? claims[name] : undefined;
}

/** The Auth0 legacy `client_id` must be one of the token's audiences (which jose already matched against ours). */
function checkClientId(token: VerifiedToken, request: DelegationRequest): void {
  if (request.clientId === undefined) return;
  const aud = claim(token.claims, 'aud');
  const audiences = Array.isArray(aud) ? aud : [aud];
  if (!audiences.includes(request.clientId)) {
    throw DelegationError.badRequest('client_id_mismatch', 'client_id is not an audience of the id_token');
  }
}

/** `<namespace>:<subject>` or `<subject>`; neither part can contain `:`, so subjects of different issuers never collide. */
function subjectOf(token: VerifiedToken): string {
  const value = claim(token.claims, token.subjectClaim);
  if (typeof value !== 'string' || value === '') {
    throw DelegationError.accessDenied('subject_missing', 'The token has no usable subject');
  }
  // SUBJECT_PATTERN is ASCII, a subset of XML's characters: the NameID can always carry a subject it admits.
  if (!SUBJECT_PATTERN.test(value) || value === '.' || value === '..') {
    throw DelegationError.accessDenied('subject_charset', 'The token subject contains characters that are not allowed');
  }
  return token.namespace === '' ? value : `${token.namespace}:${value}`;
}

/**
 * Derives RoleSessionName and SourceIdentity (`[A-Za-z0-9_=,.@+-]{2,64}`) from a subject, deterministically
 * and injectively in practice:
 * - a subject that already fits, and does not end like a derived name, is used as is (readable in CloudTrail);
 * - otherwise every disallowed character becomes `_`, the result is cut to 39 characters and
 *   `=` plus the first 24 hex digits of SHA-256(subject) (96 bits) are appended.
 * Two different subjects therefore share a name only if SHA-256 collides on 96 bits; kept names and
 * derived names never meet because only derived names end in `=` + 24 hex digits. The result
 * never contains `:` and so never starts with `aws:`.
 */
export function awsSessionNameFor(subject: string): string {
  if (AWS_SESSION_NAME_PATTERN.test(subject) && !HASHED_SUFFIX.test(subject)) {
    return subject;
  }
  const readable = subject.replace(SESSION_NAME_DISALLOWED, '_').slice(0, SESSION_NAME_MAX - HASH_CHARS - 1);
  return `${readable}=${createHash('sha256').update(subject, 'utf8').digest('hex').slice(0, HASH_CHARS)}`;
}

function conditionHolds(claims: Readonly<Record<string, unknown>>, condition: ClaimConditionConfig): boolean {
  const value = claim(claims, condition.claim);
  switch (condition.match) {
    case 'equals':
      return typeof value === 'string' && value === condition.value;
    case 'contains':
      return Array.isArray(value) && value.some((member) => typeof member === 'string' && member === condition.value);
    case 'true':
      return value === true || value === 'true';
  }
}

/** Whether every companion condition (`requires`) of a rule or attribute holds for these claims. */
function companionsHold(claims: Readonly<Record<string, unknown>>, requires: readonly ClaimConditionConfig[] | undefined): boolean {
  return (requires ?? []).every((condition) => conditionHolds(claims, condition));
}

/** A rule matches only tokens of its own issuer whose claims satisfy its condition and every companion condition. */
function ruleMatches(token: VerifiedToken, rule: RoleRuleConfig): boolean {
  return rule.issuer === token.issuer
    && conditionHolds(token.claims, rule)
    && companionsHold(token.claims, rule.requires);
}

/**
 * Roles available to the user are the default role and the roles of every matching rule; the server picks
 * the first matching rule's role, else the default. A role the client names must be client-selectable
 * and available, compared as exact strings.
 */
function chooseRole(token: VerifiedToken, requestedRoleArn: string | undefined, config: DelegationConfig): string {
  const { defaultRoleArn, rules, clientSelectable } = config.roles;
  const matchedRoles = rules.filter((rule) => ruleMatches(token, rule)).map((rule) => rule.roleArn);
  const available = defaultRoleArn === '' ? matchedRoles : [...matchedRoles, defaultRoleArn];
  if (requestedRoleArn !== undefined) {
    if (!clientSelectable.includes(requestedRoleArn) || !available.includes(requestedRoleArn)) {
      throw DelegationError.accessDenied('role_not_allowed', 'The requested role is not allowed for this user');
    }
    return requestedRoleArn;
  }
  const chosen = available[0];
  if (chosen === undefined) {
    throw DelegationError.accessDenied('no_role', 'No role is available for this user');
  }
  return chosen;
}

/**
 * Refuses (403 `claim_not_xml`) a claim value that the assertion cannot carry: a character outside XML
 * 1.0's `Char` (U+FFFE, U+FFFF, a lone surrogate, most controls), which the emitter would refuse only
 * after the request had been accepted. `what` names the mapping, never the value.
 */
function requireXmlText(value: string, what: string): void {
  if (!isXmlText(value)) {
    throw DelegationError.accessDenied('claim_not_xml', `The claim for ${what} contains a character a SAML assertion cannot carry`);
  }
}

/**
 * Session tags from the claims mapped for the token's issuer. A claim value may be a string or a finite number (written in
 * JavaScript's shortest form, e.g. `42`, `1.5`); booleans, arrays, objects and null are refused, as is
 * any value outside AWS's tag rules, so a request never gets part of its tags.
 */
function sessionTagsOf(token: VerifiedToken, config: DelegationConfig): Array<{ key: string; value: string }> {
  const tags: Array<{ key: string; value: string }> = [];
  // Only the token's own issuer's tags: another issuer's claim of the same name means nothing here.
  for (const tag of config.sessionTags.filter((candidate) => candidate.issuer === token.issuer)) {
    const raw = claim(token.claims, tag.claim);
    if (raw === undefined) {
      if (tag.required) {
        throw DelegationError.accessDenied('tag_missing', `The token lacks the claim for session tag "${tag.key}"`);
      }
      continue;
    }
    const value = typeof raw === 'string' ? raw : typeof raw === 'number' && Number.isFinite(raw) ? String(raw) : undefined;
    // Length in UTF-16 units, the stricter of the two ways to count "characters", so AWS accepts whatever passes here.
    if (value === undefined || value.length > MAX_TAG_VALUE_CHARS || !TAG_VALUE_PATTERN.test(value)) {
      throw DelegationError.accessDenied('tag_invalid', `The claim for session tag "${tag.key}" is not a valid AWS tag value`);
    }
    // AWS's tag characters are XML characters today; checked anyway, so a wider tag rule can never reach the emitter.
    requireXmlText(value, `session tag "${tag.key}"`);
    tags.push({ key: tag.key, value });
  }
  return tags;
}

/** At most this many values per SAML attribute, each at most this long. */
export const MAX_SAML_ATTRIBUTE_VALUES = 20;
export const MAX_SAML_ATTRIBUTE_VALUE_CHARS = 256;
/** Control characters, and the Unicode line and paragraph separators: no attribute value carries them. */
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u;

/**
 * SAML attributes from the claims mapped for the token's issuer, each counted only when its companion
 * conditions hold: a string, a finite number, or a
 * non-empty array of strings (one value each), at most 20 values of 1 to 256 characters without
 * control characters, all of them XML characters. Anything else refuses the request, so no request gets
 * part of its attributes.
 */
function samlAttributesOf(token: VerifiedToken, config: DelegationConfig): Array<{ name: string; values: string[] }> {
  const attributes: Array<{ name: string; values: string[] }> = [];
  for (const mapping of config.samlAttributes.filter((candidate) => candidate.issuer === token.issuer)) {
    const raw = claim(token.claims, mapping.claim);
    if (raw === undefined) {
      if (mapping.required) {
        throw DelegationError.accessDenied('attribute_missing', `The token lacks the claim for SAML attribute ${mapping.name}`);
      }
      continue;
    }
    // A claim whose companion conditions fail (e.g. an unverified email) does not count: as if it were absent.
    if (!companionsHold(token.claims, mapping.requires)) {
      if (mapping.required) {
        throw DelegationError.accessDenied('attribute_unverified', `The token's claim for SAML attribute ${mapping.name} lacks the claims it requires`);
      }
      continue;
    }
    // An array holds strings only; a lone claim may also be a finite number.
    const values = Array.isArray(raw)
      ? raw.map((value) => typeof value === 'string' ? value : undefined)
      : [typeof raw === 'string' ? raw : typeof raw === 'number' && Number.isFinite(raw) ? String(raw) : undefined];
    const isValidValue = (value: string | undefined) =>
      value !== undefined && value.length > 0 && value.length <= MAX_SAML_ATTRIBUTE_VALUE_CHARS && !CONTROL_CHARACTERS.test(value);
    const valid = values.length > 0 && values.length <= MAX_SAML_ATTRIBUTE_VALUES && values.every(isValidValue);
    if (!valid) {
      throw DelegationError.accessDenied('attribute_invalid', `The claim for SAML attribute ${mapping.name} is not a valid attribute value`);
    }
    for (const value of values as string[]) {
      requireXmlText(value, `SAML attribute ${mapping.name}`);
    }
    attributes.push({ name: mapping.name, values: values as string[] });
  }
  return attributes;
}

/**
 * With `limitSessionToToken`, the session ends when the token does (`exp`, already verified), but
 * never sooner than STS's 900 s minimum: credentials then outlive the token by at most 15 minutes.
 */
function limitedToToken(seconds: number, token: VerifiedToken, config: DelegationConfig, now: Date): number {
  const exp = claim(token.claims, 'exp');
  if (!config.limitSessionToToken || typeof exp !== 'number') return seconds;
  const remaining = Math.floor(exp - now.getTime() / 1000);
  return Math.min(seconds, Math.max(MIN_SESSION_DURATION_SECONDS, remaining));
}

/** The server default, or a shorter whole number of seconds of at least 900 that the client asked for. */
function durationOf(requested: number | undefined, defaultSeconds: number): number {
  if (requested === undefined) return defaultSeconds;
  if (!Number.isInteger(requested) || requested < MIN_SESSION_DURATION_SECONDS || requested > defaultSeconds) {
    throw DelegationError.badRequest('duration_out_of_range', `durationSeconds must be an integer between ${MIN_SESSION_DURATION_SECONDS} and ${defaultSeconds}`);
  }
  return requested;
}
