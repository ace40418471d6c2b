import { Token } from 'aws-cdk-lib';
import { ClaimConditionConfig } from './contract/delegation-environment';

/**
 * A condition on one claim of a verified id token, e.g. that `email_verified` is true. Role rules
 * and SAML attributes use them as companion conditions, so that a claim the user can edit counts only once the issuer
 * vouches for it.
 *
 * @example
 * import { ClaimCondition } from 'cdk-token-delegation';
 *
 * ClaimCondition.isTrue('email_verified');
 */
export class ClaimCondition {
  /** The claim is a string equal to `value`. */
  public static stringEquals(claim: string, value: string): ClaimCondition {
    return new ClaimCondition(claim, 'equals', value);
  }

  /** The claim is an array of strings that contains `value`. */
  public static listContains(claim: string, value: string): ClaimCondition {
    return new ClaimCondition(claim, 'contains', value);
  }

  /**
   * The claim is the boolean `true`, or the string `"true"` (some providers, Apple among them,
   * send verification flags as strings).
   */
  public static isTrue(claim: string): ClaimCondition {
    return new ClaimCondition(claim, 'true', undefined);
  }

  /** The claim examined. */
  public readonly claim: string;
  /** The value looked for, if any. */
  public readonly value?: string;
  private readonly match: 'equals' | 'contains' | 'true';

  private constructor(claim: string, match: 'equals' | 'contains' | 'true', value: string | undefined) {
    validateClaimName(claim, 'ClaimCondition');
    if (value !== undefined && !Token.isUnresolved(value) && value.length === 0) {
      throw new Error(`ClaimCondition on claim '${claim}': value must not be empty`);
    }
    this.claim = claim;
    this.match = match;
    this.value = value;
  }

  /** @internal */
  public _toConfig(): ClaimConditionConfig {
    return { claim: this.claim, match: this.match, ...(this.value === undefined ? {} : { value: this.value }) };
  }
}

/** Throws unless `claim` is a non-empty claim name without white space (tokens are skipped). */
export function validateClaimName(claim: string, what: string): void {
  if (!Token.isUnresolved(claim) && (claim.length === 0 || /\s/.test(claim))) {
    throw new Error(`${what}: claim must be a non-empty claim name without spaces, got '${claim}'`);
  }
}
