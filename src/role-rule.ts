import { Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { RoleRuleConfig } from './delegation-environment';

/**
 * A server-side rule that makes a role available to users whose verified claims match.
 *
 * Rules are evaluated in order: every matching rule makes its role available (for clients that name
 * a role), and the first match is the role a request gets when it names none.
 *
 * @example
 * import { RoleRule } from 'cdk-token-delegation';
 *
 * RoleRule.claimContains('https://example.com/groups', 'admin', adminRole);
 */
export class RoleRule {
  /** The claim is a string equal to `value`. */
  public static claimEquals(claim: string, value: string, role: iam.IRole): RoleRule {
    return new RoleRule(claim, 'equals', value, role);
  }

  /** The claim is an array of strings that contains `value` (e.g. a groups claim). */
  public static claimContains(claim: string, value: string, role: iam.IRole): RoleRule {
    return new RoleRule(claim, 'contains', value, role);
  }

  /** The role this rule makes available. */
  public readonly role: iam.IRole;
  /** The claim examined. */
  public readonly claim: string;
  /** The value looked for. */
  public readonly value: string;
  private readonly match: 'equals' | 'contains';

  private constructor(claim: string, match: 'equals' | 'contains', value: string, role: iam.IRole) {
    if (!Token.isUnresolved(claim) && (claim.length === 0 || /\s/.test(claim))) {
      throw new Error(`RoleRule: claim must be a non-empty claim name without spaces, got '${claim}'`);
    }
    if (!Token.isUnresolved(value) && value.length === 0) {
      throw new Error(`RoleRule on claim '${claim}': value must not be empty`);
    }
    this.claim = claim;
    this.match = match;
    this.value = value;
    this.role = role;
  }

  /** @internal */
  public _toConfig(): RoleRuleConfig {
    return { roleArn: this.role.roleArn, claim: this.claim, match: this.match, value: this.value };
  }
}
