import { Token } from 'aws-cdk-lib';
import { ClaimCondition, validateClaimName } from './claim-condition';
import { SamlAttributeConfig } from './contract/delegation-environment';
import { SAML_ATTRIBUTE_CONDITION_KEYS } from './contract/saml-attribute-keys';
import { JwtIssuer } from './jwt-issuer';

/**
 * A SAML attribute that AWS exposes to trust policies as a `saml:*` condition key, as Auth0's rules
 * could set them for `/delegation`. Each member's value is the attribute's SAML Name; its
 * documentation names the condition key.
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#condition-keys-saml
 */
export enum AwsSamlAttribute {
  /** `saml:edupersonaffiliation` (eduPersonAffiliation, urn:oid:1.3.6.1.4.1.5923.1.1.1.1). */
  EDU_PERSON_AFFILIATION = 'urn:oid:1.3.6.1.4.1.5923.1.1.1.1',
  /** `saml:edupersonnickname` (eduPersonNickname). */
  EDU_PERSON_NICKNAME = 'urn:oid:1.3.6.1.4.1.5923.1.1.1.2',
  /** `saml:edupersonorgdn` (eduPersonOrgDN). */
  EDU_PERSON_ORG_DN = 'urn:oid:1.3.6.1.4.1.5923.1.1.1.3',
  /** `saml:edupersonorgunitdn` (eduPersonOrgUnitDN). */
  EDU_PERSON_ORG_UNIT_DN = 'urn:oid:1.3.6.1.4.1.5923.1.1.1.4',
  /** `saml:edupersonprimaryaffiliation` (eduPersonPrimaryAffiliation). */
  EDU_PERSON_PRIMARY_AFFILIATION = 'urn:oid:1.3.6.1.4.1.5923.1.1.1.5',
  /** `saml:edupersonprincipalname` (eduPersonPrincipalName). */
  EDU_PERSON_PRINCIPAL_NAME = 'urn:oid:1.3.6.1.4.1.5923.1.1.1.6',
  /** `saml:edupersonentitlement` (eduPersonEntitlement). */
  EDU_PERSON_ENTITLEMENT = 'urn:oid:1.3.6.1.4.1.5923.1.1.1.7',
  /** `saml:edupersonprimaryorgunitdn` (eduPersonPrimaryOrgUnitDN). */
  EDU_PERSON_PRIMARY_ORG_UNIT_DN = 'urn:oid:1.3.6.1.4.1.5923.1.1.1.8',
  /** `saml:edupersonscopedaffiliation` (eduPersonScopedAffiliation). */
  EDU_PERSON_SCOPED_AFFILIATION = 'urn:oid:1.3.6.1.4.1.5923.1.1.1.9',
  /** `saml:edupersontargetedid` (eduPersonTargetedID). */
  EDU_PERSON_TARGETED_ID = 'urn:oid:1.3.6.1.4.1.5923.1.1.1.10',
  /** `saml:edupersonassurance` (eduPersonAssurance). */
  EDU_PERSON_ASSURANCE = 'urn:oid:1.3.6.1.4.1.5923.1.1.1.11',
  /** `saml:eduorghomepageuri` (eduOrgHomePageURI). */
  EDU_ORG_HOME_PAGE_URI = 'urn:oid:1.3.6.1.4.1.5923.1.2.1.2',
  /** `saml:eduorgidentityauthnpolicyuri` (eduOrgIdentityAuthNPolicyURI). */
  EDU_ORG_IDENTITY_AUTHN_POLICY_URI = 'urn:oid:1.3.6.1.4.1.5923.1.2.1.3',
  /** `saml:eduorglegalname` (eduOrgLegalName). */
  EDU_ORG_LEGAL_NAME = 'urn:oid:1.3.6.1.4.1.5923.1.2.1.4',
  /** `saml:eduorgsuperioruri` (eduOrgSuperiorURI). */
  EDU_ORG_SUPERIOR_URI = 'urn:oid:1.3.6.1.4.1.5923.1.2.1.5',
  /** `saml:eduorgwhitepagesuri` (eduOrgWhitePagesURI). */
  EDU_ORG_WHITE_PAGES_URI = 'urn:oid:1.3.6.1.4.1.5923.1.2.1.6',
  /** `saml:commonName` (cn, urn:oid:2.5.4.3). */
  COMMON_NAME = 'urn:oid:2.5.4.3',
  /** `saml:givenName` (urn:oid:2.5.4.42). */
  GIVEN_NAME = 'urn:oid:2.5.4.42',
  /** `saml:surname` (sn, urn:oid:2.5.4.4). */
  SURNAME = 'urn:oid:2.5.4.4',
  /** `saml:name` (urn:oid:2.5.4.41). */
  NAME = 'urn:oid:2.5.4.41',
  /** `saml:mail` (urn:oid:0.9.2342.19200300.100.1.3). */
  MAIL = 'urn:oid:0.9.2342.19200300.100.1.3',
  /** `saml:uid` (urn:oid:0.9.2342.19200300.100.1.1). */
  UID = 'urn:oid:0.9.2342.19200300.100.1.1',
  /** `saml:x500UniqueIdentifier` (urn:oid:2.5.4.45). */
  X500_UNIQUE_IDENTIFIER = 'urn:oid:2.5.4.45',
  /** `saml:organizationStatus` (urn:oid:0.9.2342.19200300.100.1.45). */
  ORGANIZATION_STATUS = 'urn:oid:0.9.2342.19200300.100.1.45',
  /** `saml:primaryGroupSID` (urn:oid:1.2.840.113556.1.4.98). */
  PRIMARY_GROUP_SID = 'urn:oid:1.2.840.113556.1.4.98',
}

/** Options of a {@link SamlAttribute}. */
export interface SamlAttributeOptions {
  /**
   * Whether a token without the claim is refused. When false, the attribute is left out.
   * @default false
   */
  readonly required?: boolean;
  /**
   * The issuer whose tokens carry the claim; tokens of any other issuer never get this attribute.
   * Required when the endpoint accepts several issuers.
   * @default - the endpoint's only issuer
   */
  readonly issuer?: JwtIssuer;
  /**
   * Companion conditions that must hold for the claim to count, e.g. `ClaimCondition.isTrue('email_verified')`
   * for an attribute from `email`: trust policies test these attributes, so a claim the user can edit
   * should count only once the issuer vouches for it. When a condition fails the claim is treated as
   * absent: the attribute is left out, or the request refused when `required` is true.
   * @default - none
   */
  readonly requireClaims?: ClaimCondition[];
}

/**
 * A SAML attribute of the assertion filled from a verified claim: a string, a number, or an array of
 * strings (one AttributeValue each). AWS then exposes it to the trust policy as a `saml:*`
 * condition key, so trust policies written for Auth0's mappings keep working. Values are checked
 * before anything is signed: at most 20, each 1 to 256 characters without control characters, and only
 * characters XML can carry (no U+FFFE, U+FFFF or lone surrogate).
 *
 * @example
 * import { AwsSamlAttribute, ClaimCondition, SamlAttribute } from 'cdk-token-delegation';
 *
 * SamlAttribute.fromClaim(AwsSamlAttribute.EDU_PERSON_AFFILIATION, 'https://example.edu/affiliation');
 * SamlAttribute.fromClaim(AwsSamlAttribute.MAIL, 'email', {
 *   requireClaims: [ClaimCondition.isTrue('email_verified')],
 * });
 */
export class SamlAttribute {
  /** The attribute `attribute` whose values are the claim `claim`. */
  public static fromClaim(attribute: AwsSamlAttribute, claim: string, options: SamlAttributeOptions = {}): SamlAttribute {
    return new SamlAttribute(attribute, claim, options);
  }

  /** The attribute, by its SAML Name. */
  public readonly attribute: AwsSamlAttribute;
  /** The claim its values come from. */
  public readonly claim: string;
  /** Whether the claim must be present. */
  public readonly required: boolean;
  /** The issuer whose tokens carry the claim, when given. */
  public readonly issuer?: JwtIssuer;
  /** Companion conditions that must hold for the claim to count. */
  public readonly requireClaims: ClaimCondition[];

  private constructor(attribute: AwsSamlAttribute, claim: string, options: SamlAttributeOptions) {
    // The type admits members of AwsSamlAttribute only, but plain JavaScript (and casts) can pass any string,
    // which the handler would refuse at every cold start (or AWS would silently ignore).
    if (!Token.isUnresolved(attribute) && (typeof attribute !== 'string' || !Object.hasOwn(SAML_ATTRIBUTE_CONDITION_KEYS, attribute))) {
      throw new Error(`SamlAttribute: '${String(attribute)}' is not an attribute AWS turns into a saml:* condition key; `
        + 'use a member of AwsSamlAttribute (e.g. AwsSamlAttribute.EDU_PERSON_AFFILIATION, whose value is urn:oid:1.3.6.1.4.1.5923.1.1.1.1)');
    }
    validateClaimName(claim, `SamlAttribute ${attribute}`);
    this.attribute = attribute;
    this.claim = claim;
    this.required = options.required ?? false;
    this.issuer = options.issuer;
    this.requireClaims = [...(options.requireClaims ?? [])];
  }

  /** The `saml:*` condition key AWS exposes this attribute as, e.g. `saml:mail`. */
  public get conditionKey(): string {
    return SAML_ATTRIBUTE_CONDITION_KEYS[this.attribute];
  }

  /**
   * The handler's configuration of this attribute, for tokens of `issuer` (the exact `iss`; undefined when the endpoint has one issuer).
   * @internal
   */
  public _toConfig(issuer: string | undefined): SamlAttributeConfig {
    return {
      ...(issuer === undefined ? {} : { issuer }),
      name: this.attribute,
      claim: this.claim,
      required: this.required,
      ...(this.requireClaims.length > 0 ? { requires: this.requireClaims.map((condition) => condition._toConfig()) } : {}),
    };
  }
}
