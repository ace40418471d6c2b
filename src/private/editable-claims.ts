import { Token } from 'aws-cdk-lib';
import { JwtIssuer } from '../jwt-issuer';
import { RoleRule } from '../role-rule';
import { SamlAttribute } from '../saml-attribute';
import { SessionTag } from '../session-tag';

/**
 * Standard OpenID Connect claims that users choose or edit themselves at most providers (OpenID
 * Connect Core 5.1), with the flag that says the provider verified the value, where one exists.
 * Cognito user pools add `custom:*` attributes, which app clients may write unless told otherwise,
 * and `cognito:username`, which the user picks at sign-up.
 */
const EDITABLE_CLAIMS: Record<string, string | undefined> = {
  'email': 'email_verified',
  'phone_number': 'phone_number_verified',
  'name': undefined,
  'given_name': undefined,
  'family_name': undefined,
  'middle_name': undefined,
  'nickname': undefined,
  'preferred_username': undefined,
  'profile': undefined,
  'picture': undefined,
  'website': undefined,
  'gender': undefined,
  'birthdate': undefined,
  'zoneinfo': undefined,
  'locale': undefined,
  'address': undefined,
  'username': undefined,
  'cognito:username': undefined,
};

/** A synth-time warning. */
export interface ClaimWarning {
  readonly id: string;
  readonly message: string;
}

function isEditable(claim: string): boolean {
  return !Token.isUnresolved(claim) && (Object.hasOwn(EDITABLE_CLAIMS, claim) || claim.startsWith('custom:'));
}

function verifiedFlagHint(claim: string): string {
  const flag = EDITABLE_CLAIMS[claim];
  return flag === undefined
    ? 'base it on a claim the provider controls (a group or role claim), or require a companion claim the provider sets'
    : `require the provider's verification flag too: requireClaims: [ClaimCondition.isTrue('${flag}')]`;
}

/** Hosts whose JWKS does not live at `<issuer>/.well-known/jwks.json`, with where it does. */
const JWKS_ELSEWHERE: ReadonlyArray<{ readonly host: RegExp; readonly where: string }> = [
  { host: /^accounts\.google\.com$/, where: 'https://www.googleapis.com/oauth2/v3/certs' },
  { host: /^login\.microsoftonline\.(com|us)$|^sts\.windows\.net$/, where: 'https://login.microsoftonline.com/<tenant>/discovery/v2.0/keys' },
  { host: /\.okta(preview)?\.com$|\.oktapreview\.com$/, where: '<issuer>/v1/keys' },
  { host: /\.onelogin\.com$/, where: '<issuer>/certs' },
];

/**
 * Warnings for likely mistakes in an endpoint's issuers, rules, tags and SAML attributes: rules, tags
 * and attributes on claims the user can edit (rules and attributes unless they require companion
 * claims), an editable subject claim, an Auth0 issuer without its trailing slash, and a provider whose
 * JWKS is not at the default path while `jwksUri` was left to its default.
 */
export function editableClaimWarnings(
  issuers: readonly JwtIssuer[], rules: readonly RoleRule[], tags: readonly SessionTag[], attributes: readonly SamlAttribute[] = [],
): ClaimWarning[] {
  const warnings: ClaimWarning[] = [];
  for (const rule of rules) {
    if (isEditable(rule.claim) && rule.requireClaims.length === 0) {
      warnings.push({
        id: 'cdk-token-delegation:editableClaimRule',
        message: `RoleRule on claim '${rule.claim}' grants a role on a value users can choose or edit at most providers: ${verifiedFlagHint(rule.claim)}.`,
      });
    }
  }
  for (const tag of tags) {
    if (isEditable(tag.claim)) {
      warnings.push({
        id: 'cdk-token-delegation:editableClaimTag',
        message: `SessionTag '${tag.key}' takes its value from '${tag.claim}', which users can choose or edit at most providers: policies that trust aws:PrincipalTag/${tag.key} trust the user's own word.`,
      });
    }
  }
  for (const attribute of attributes) {
    if (isEditable(attribute.claim) && attribute.requireClaims.length === 0) {
      warnings.push({
        id: 'cdk-token-delegation:editableClaimAttribute',
        message: `SamlAttribute ${attribute.conditionKey} takes its values from '${attribute.claim}', which users can choose or edit at most providers: `
          + `trust policies that test ${attribute.conditionKey} trust the user's own word; ${verifiedFlagHint(attribute.claim)}.`,
      });
    }
  }
  for (const issuer of issuers) {
    if (isEditable(issuer.subjectClaim)) {
      warnings.push({
        id: 'cdk-token-delegation:editableSubjectClaim',
        message: `Issuer ${issuer._description} takes the user id from '${issuer.subjectClaim}', which users can choose or edit: a user who changes it reaches another user's prefix. Use an immutable id such as 'sub'.`,
      });
    }
    if (Token.isUnresolved(issuer.issuerUrl)) continue;
    const url = new URL(issuer.issuerUrl);
    if (/\.auth0\.com$/.test(url.hostname) && !issuer.issuerUrl.endsWith('/')) {
      warnings.push({
        id: 'cdk-token-delegation:auth0IssuerSlash',
        message: `Auth0 issues tokens with iss '${issuer.issuerUrl}/' (with a trailing slash); '${issuer.issuerUrl}' never matches, so every token would be refused.`,
      });
    }
    const elsewhere = JWKS_ELSEWHERE.find((entry) => entry.host.test(url.hostname));
    if (elsewhere && issuer._jwksUriDefaulted) {
      warnings.push({
        id: 'cdk-token-delegation:jwksUriDefault',
        message: `Issuer ${issuer.issuerUrl} does not serve its keys at ${issuer.jwksUri}; set jwksUri to the jwks_uri of its discovery document (${elsewhere.where}).`,
      });
    }
  }
  return warnings;
}
