import { Token } from 'aws-cdk-lib';
import { validateClaimName } from './claim-condition';
import { SESSION_TAG_KEY_PATTERN, SessionTagConfig } from './contract/delegation-environment';
import { JwtIssuer } from './jwt-issuer';

/** Options of a session tag taken from a claim. */
export interface SessionTagOptions {
  /**
   * Whether a token without the claim is refused. When false, the tag is left out for such tokens.
   * @default false
   */
  readonly required?: boolean;
  /**
   * The issuer whose tokens carry the claim; tokens of any other issuer never get this tag.
   * Required when the endpoint accepts several issuers.
   * @default - the endpoint's only issuer
   */
  readonly issuer?: JwtIssuer;
}

/**
 * A session tag (`aws:PrincipalTag/<key>`) whose value comes from a verified claim, for
 * attribute-based access control in the role's policies.
 *
 * Keys are fixed here; values come only from the mapped claim and are checked against AWS's rules
 * before anything is signed.
 *
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html
 * @example
 * import { SessionTag } from 'cdk-token-delegation';
 *
 * SessionTag.fromClaim('department', 'custom:department');
 */
export class SessionTag {
  /** A tag named `key` whose value is the string claim `claim`. */
  public static fromClaim(key: string, claim: string, options: SessionTagOptions = {}): SessionTag {
    return new SessionTag(key, claim, options.required ?? false, options.issuer);
  }

  /** The tag key. */
  public readonly key: string;
  /** The claim the value comes from. */
  public readonly claim: string;
  /** Whether the claim must be present. */
  public readonly required: boolean;
  /** The issuer whose tokens carry the claim, when given. */
  public readonly issuer?: JwtIssuer;

  private constructor(key: string, claim: string, required: boolean, issuer: JwtIssuer | undefined) {
    if (!Token.isUnresolved(key)) {
      if (!SESSION_TAG_KEY_PATTERN.test(key)) {
        throw new Error(`SessionTag: key '${key}' must be 1-128 letters, digits, spaces or _.:/=+-@`);
      }
      if (key.toLowerCase().startsWith('aws:')) {
        throw new Error(`SessionTag: key '${key}' must not start with 'aws:'`);
      }
    }
    validateClaimName(claim, `SessionTag '${key}'`);
    this.key = key;
    this.claim = claim;
    this.required = required;
    this.issuer = issuer;
  }

  /**
   * The handler's configuration of this tag, for tokens of `issuer` (the exact `iss`; undefined when the endpoint has one issuer).
   * @internal
   */
  public _toConfig(issuer: string | undefined): SessionTagConfig {
    return { ...(issuer === undefined ? {} : { issuer }), key: this.key, claim: this.claim, required: this.required };
  }
}
