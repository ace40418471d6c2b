import { Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { ClaimCondition, validateClaimName } from './claim-condition';
import { RoleRuleConfig } from './contract/delegation-environment';
import { JwtIssuer } from './jwt-issuer';

/** Options of a {@link RoleRule}. */
export interface RoleRuleOptions {
  /**
   * The issuer whose tokens the rule examines. A token of any other issuer never matches the rule,
   * whatever its claims say. Required when the endpoint accepts several issuers.
   * @default - the endpoint's only issuer
   */
  readonly issuer?: JwtIssuer;
  /**
   * Companion conditions that must hold too, e.g. `ClaimCondition.isTrue('email_verified')` for a
   * rule on `email`: a claim the user can edit should count only once the issuer vouches for it.
   * @default - none
   */
  readonly requireClaims?: ClaimCondition[];
}

/**
 * A server-side rule that makes a role available to users whose verified claims match.
 *
 * Rules are evaluated in order: every matching rule makes its role available (for clients that name
 * a role), and the first match is the role a request gets when it names none. Each rule belongs to
 * one issuer and sees only the claims of that issuer's tokens.
 *
 * @example
 * import { ClaimCondition, RoleRule } from 'cdk-token-delegation';
 *
 * RoleRule.claimContains('https://example.com/groups', 'admin', adminRole);
 * RoleRule.claimEquals('email', 'ops@example.com', adminRole, {
 *   requireClaims: [ClaimCondition.isTrue('email_verified')],
 * });
 */
export class RoleRule {
  /** The claim is a string equal to `value`. */
  public static claimEquals(claim: string, value: string, role: iam.IRole, options: RoleRuleOptions = {}): RoleRule {
    return new RoleRule(claim, 'equals', value, role, options);
  }

  /** The claim is an array of strings that contains `value` (e.g. a groups claim). */
  public static claimContains(claim: string, value: string, role: iam.IRole, options: RoleRuleOptions = {}): RoleRule {
    return new RoleRule(claim, 'contains', value, role, options);
  }

  /** The role this rule makes available. */
  public readonly role: iam.IRole;
  /** The claim examined. */
  public readonly claim: string;
  /** The value looked for. */
  public readonly value: string;
  /** The issuer whose tokens the rule examines, when given. */
  public readonly issuer?: JwtIssuer;
  /** Companion conditions that must hold too. */
  public readonly requireClaims: ClaimCondition[];
  private readonly match: 'equals' | 'contains';

  private constructor(claim: string, match: 'equals' | 'contains', value: string, role: iam.IRole, options: RoleRuleOptions) {
    validateClaimName(claim, 'RoleRule');
    if (!Token.isUnresolved(value) && value.length === 0) {
      throw new Error(`RoleRule on claim '${claim}': value must not be empty`);
    }
    this.claim = claim;
    this.match = match;
    this.value = value;
    this.role = role;
    this.issuer = options.issuer;
    this.requireClaims = [...(options.requireClaims ?? [])];
  }

  /**
   * The handler's configuration of this rule, for tokens of `issuer` (the exact `iss`; undefined when the endpoint has one issuer).
   * @internal
   */
  public _toConfig(issuer: string | undefined): RoleRuleConfig {
    return {
      roleArn: this.role.roleArn,
      ...(issuer === undefined ? {} : { issuer }),
      claim: this.claim,
      match: this.match,
      value: this.value,
      ...(this.requireClaims.length > 0 ? { requires: this.requireClaims.map((condition) => condition._toConfig()) } : {}),
    };
  }
}
