import { expectArray, expectBoolean, expectObject, expectString, expectUnique, fail, optionalJson, requireJson, type Env } from './checks';
import { expectIssuerRef } from './issuers';
import {
  DelegationEnv,
  MAX_SAML_ATTRIBUTES,
  MAX_SESSION_TAGS,
  SESSION_TAG_KEY_PATTERN,
  type ClaimConditionConfig,
  type IssuerConfig,
  type RoleConfig,
  type RoleRuleConfig,
  type SamlAttributeConfig,
  type SessionTagConfig,
} from '../../../src/contract/delegation-environment';

/**
 * Reads what a verified user may be granted: the roles and their claim rules (`DELEGATION_ROLES`), and
 * the session tags and SAML attributes filled from claims (`DELEGATION_SESSION_TAGS`,
 * `DELEGATION_SAML_ATTRIBUTES`), each scoped to one configured issuer.
 */

/** IAM role ARN; commas are refused because AWS splits the SAML Role value `roleArn,providerArn` on them. */
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/(?:[\w+=.@-]+\/)*[\w+=.@-]{1,64}$/;

function expectRoleArn(value: unknown, path: string): string {
  const text = expectString(value, path);
  if (!ROLE_ARN.test(text)) {
    fail(path, 'must be an IAM role ARN (arn:aws:iam::<12-digit account>:role/[path/]<name>, without commas)');
  }
  return text;
}

export function readRoles(env: Env, issuers: readonly IssuerConfig[]): RoleConfig {
  const name = DelegationEnv.ROLES;
  const item = expectObject(requireJson(env, name), name, ['defaultRoleArn', 'rules', 'clientSelectable']);
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
  return {
    roleArn: expectRoleArn(item.roleArn, `${path}.roleArn`),
    issuer: expectIssuerRef(item.issuer, `${path}.issuer`, issuers),
    claim: expectString(item.claim, `${path}.claim`, { maxLength: 256 }),
    match,
    value: expectString(item.value, `${path}.value`, { maxLength: 1024 }),
    ...parseRequires(item.requires, `${path}.requires`),
  };
}

/** The optional companion conditions of a rule or attribute (`requires`), left out when there are none. */
function parseRequires(value: unknown, path: string): { requires?: ClaimConditionConfig[] } {
  const requires = value === undefined
    ? []
    : expectArray(value, path).map((condition, index) => parseClaimCondition(condition, `${path}[${index}]`));
  return requires.length > 0 ? { requires } : {};
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

export function readSessionTags(env: Env, issuers: readonly IssuerConfig[]): SessionTagConfig[] {
  const name = DelegationEnv.SESSION_TAGS;
  const list = expectArray(optionalJson(env, name, []), name);
  const tags = list.map((tag, index) => {
    const path = `${name}[${index}]`;
    const item = expectObject(tag, path, ['key', 'claim', 'required'], ['issuer']);
    const key = expectString(item.key, `${path}.key`, { maxLength: 128 });
    if (!SESSION_TAG_KEY_PATTERN.test(key)) {
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

export function readSamlAttributes(env: Env, issuers: readonly IssuerConfig[]): SamlAttributeConfig[] {
  const name = DelegationEnv.SAML_ATTRIBUTES;
  const attributes = expectArray(optionalJson(env, name, []), name).map((item, index) => {
    const path = `${name}[${index}]`;
    const object = expectObject(item, path, ['name', 'claim', 'required'], ['issuer', 'requires']);
    const attributeName = expectString(object.name, `${path}.name`, { maxLength: 128 });
    if (!OID_URN.test(attributeName)) {
      fail(`${path}.name`, 'must be an OID URN such as urn:oid:1.3.6.1.4.1.5923.1.1.1.1');
    }
    return {
      issuer: expectIssuerRef(object.issuer, `${path}.issuer`, issuers),
      name: attributeName,
      claim: expectString(object.claim, `${path}.claim`, { maxLength: 256 }),
      required: expectBoolean(object.required, `${path}.required`),
      ...parseRequires(object.requires, `${path}.requires`),
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
