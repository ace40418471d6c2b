import { Token } from 'aws-cdk-lib';
import { IssuerConfig, MAX_SAML_ATTRIBUTES, MAX_SESSION_TAGS, RoleRuleConfig, SamlAttributeConfig, SessionTagConfig } from '../contract/delegation-environment';
import { JwtIssuer } from '../jwt-issuer';
import { RoleRule } from '../role-rule';
import { SamlAttribute } from '../saml-attribute';
import { SessionTag } from '../session-tag';


/** Checks a list of issuers as a whole and returns their handler configuration. */
export function issuerConfigs(issuers: JwtIssuer[]): IssuerConfig[] {
  if (issuers.length === 0) {
    throw new Error('At least one issuer is required');
  }
  const urls = issuers.map((issuer) => issuer.issuerUrl).filter((url) => !Token.isUnresolved(url));
  const duplicate = urls.find((url, index) => urls.indexOf(url) !== index);
  if (duplicate) {
    throw new Error(`Issuer ${duplicate} is configured twice`);
  }
  checkNamespaces(issuers.map((issuer) => ({ issuer, where: 'this endpoint' })));
  return issuers.map((issuer) => issuer._toConfig());
}

/** An issuer and where it was bound, for error messages. */
export interface BoundIssuer {
  readonly issuer: JwtIssuer;
  /** e.g. the construct path of the endpoint. */
  readonly where: string;
}

/**
 * Refuses two different subject spaces with the same namespace: they could produce the same
 * `${saml:sub}`. A subject space is an issuer URL with its subject claim; the same issuer bound twice
 * with the same claim and namespace is the same users, not a collision. The empty namespace counts as
 * one namespace, so at most one subject space goes without.
 */
export function checkNamespaces(bound: readonly BoundIssuer[]): void {
  const byNamespace = new Map<string, BoundIssuer>();
  for (const entry of bound) {
    const namespace = entry.issuer.subjectNamespace ?? '';
    const previous = byNamespace.get(namespace);
    if (previous === undefined) {
      byNamespace.set(namespace, entry);
      continue;
    }
    const sameSpace = previous.issuer.issuerUrl === entry.issuer.issuerUrl && previous.issuer.subjectClaim === entry.issuer.subjectClaim;
    if (sameSpace) continue;
    const shown = namespace === '' ? 'no subjectNamespace' : `subjectNamespace '${namespace}'`;
    throw new Error(
      `Issuers ${describe(previous)} and ${describe(entry)} both have ${shown}, so equal user ids of the two would share one `
      + '${saml:sub} and one prefix. Give each issuer bound to an identity provider its own subjectNamespace '
      + '(one of them may keep none).',
    );
  }
}

function describe(entry: BoundIssuer): string {
  const claim = entry.issuer.subjectClaim === 'sub' ? '' : ` (subject claim '${entry.issuer.subjectClaim}')`;
  return `${entry.issuer._description}${claim} in ${entry.where}`;
}

/** The `issuer` field of a rule, tag or attribute: left out with a single issuer, whose handler assumes it. */
function issuerField(issuer: JwtIssuer, issuers: readonly JwtIssuer[]): string | undefined {
  return issuers.length === 1 ? undefined : issuer.issuerUrl;
}

/**
 * The issuer a role rule or session tag belongs to: the one it names, which must be one of the
 * endpoint's, or the endpoint's only issuer.
 */
function owningIssuer(named: JwtIssuer | undefined, issuers: readonly JwtIssuer[], what: string): JwtIssuer {
  if (named === undefined) {
    if (issuers.length > 1) {
      throw new Error(`${what} needs an issuer (options.issuer): this endpoint accepts several issuers, and a rule or tag reads only the claims of its own issuer's tokens`);
    }
    return issuers[0];
  }
  const match = issuers.find((issuer) => issuer === named || issuer.issuerUrl === named.issuerUrl);
  if (match === undefined) {
    throw new Error(`${what} belongs to issuer ${named._description}, which is not one of this endpoint's issuers`);
  }
  return match;
}

/** The handler configuration of role rules, each bound to its issuer. */
export function roleRuleConfigs(rules: readonly RoleRule[], issuers: readonly JwtIssuer[]): RoleRuleConfig[] {
  return rules.map((rule) => {
    const issuer = owningIssuer(rule.issuer, issuers, `RoleRule on claim '${rule.claim}'`);
    return rule._toConfig(issuerField(issuer, issuers));
  });
}

/** Checks a list of session tags as a whole and returns their handler configuration, each bound to its issuer. */
export function sessionTagConfigs(tags: readonly SessionTag[], issuers: readonly JwtIssuer[]): SessionTagConfig[] {
  const owners = tags.map((tag) => owningIssuer(tag.issuer, issuers, `SessionTag '${tag.key}'`));
  const configs = tags.map((tag, index) => tag._toConfig(issuerField(owners[index], issuers)));
  for (const issuer of issuers) {
    const own = configs.filter((_, index) => owners[index] === issuer);
    if (own.length > MAX_SESSION_TAGS) {
      throw new Error(`At most ${MAX_SESSION_TAGS} session tags are allowed per issuer, got ${own.length} for ${issuer._description}`);
    }
    const keys = own.map((tag) => tag.key.toLowerCase());
    const duplicate = keys.find((key, index) => keys.indexOf(key) !== index);
    if (duplicate) {
      throw new Error(`Session tag keys must be unique (case-insensitively) per issuer: '${duplicate}' is used twice`);
    }
  }
  return configs;
}

/** The handler configuration of SAML attributes, each bound to its issuer; each attribute at most once per issuer. */
export function samlAttributeConfigs(attributes: readonly SamlAttribute[], issuers: readonly JwtIssuer[]): SamlAttributeConfig[] {
  const owners = attributes.map((attribute) => owningIssuer(attribute.issuer, issuers, `SamlAttribute ${attribute.attribute}`));
  const configs = attributes.map((attribute, index) => attribute._toConfig(issuerField(owners[index], issuers)));
  for (const issuer of issuers) {
    const names = configs.filter((_, index) => owners[index] === issuer).map((config) => config.name);
    if (names.length > MAX_SAML_ATTRIBUTES) {
      throw new Error(`At most ${MAX_SAML_ATTRIBUTES} SAML attributes are allowed per issuer, got ${names.length} for ${issuer._description}`);
    }
    const duplicate = names.find((name, index) => names.indexOf(name) !== index);
    if (duplicate) {
      throw new Error(`SAML attribute ${duplicate} is mapped twice for ${issuer._description}: an assertion carries each attribute once`);
    }
  }
  return configs;
}
