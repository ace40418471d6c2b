/**
 * What the prover Lambda answers: pass/fail facts only, never a token or a credential, because the
 * integ-tests assertion provider logs every answer and CloudFormation keeps it. The integ test expects
 * exactly {@link EXPECTED_FACTS}, and the loopback unit test checks the same objects.
 */

/** The prover's scenarios, one assertion each. */
export type Scenario = 'own-prefix' | 'cross-user' | 'refusals';

/** The prover's input (the integ test's `invokeFunction` payload). */
export interface ProverEvent {
  readonly scenario: Scenario;
  /** The signed-in user. */
  readonly subject: string;
  /** The other user, for `cross-user`. */
  readonly otherSubject?: string;
}

/** How one `POST /delegation` went. */
export interface ExchangeFacts {
  readonly status: number;
  /** The OAuth `error` of a refusal. */
  readonly error?: string;
  /** `Subject` of a success: the user id as AWS sees it (`${saml:sub}`). */
  readonly subject?: string;
  /** Whether a success carried `Cache-Control: no-store`. */
  readonly noStore?: boolean;
  /** Whether a success carried a complete, unexpired set of credentials. */
  readonly credentials?: 'issued' | 'malformed';
}

/** How one S3 request went: `ok`, or the S3 error code (`AccessDenied`), or `skipped` when no credentials came. */
export type S3Outcome = string;

export interface OwnPrefixFacts {
  readonly scenario: 'own-prefix';
  readonly exchange: ExchangeFacts;
  readonly putOwn: S3Outcome;
  readonly getOwn: S3Outcome;
  /** Whether the object read back is the one just written. */
  readonly sameContent: boolean;
}

export interface CrossUserFacts {
  readonly scenario: 'cross-user';
  /** The other user signs in and writes an object under their own prefix first, so it exists. */
  readonly owner: { readonly exchange: ExchangeFacts; readonly putOwn: S3Outcome };
  /** The signed-in user then tries to overwrite and to read it. */
  readonly intruder: { readonly exchange: ExchangeFacts; readonly putOther: S3Outcome; readonly getOther: S3Outcome };
  /** The owner can still read it (so the refusal is not a missing object). */
  readonly ownerGetsOwn: S3Outcome;
}

export interface RefusalFacts {
  readonly scenario: 'refusals';
  /** A token with the issuer's `kid`, signed by a key generated in the prover. */
  readonly foreignKey: ExchangeFacts;
  /** A token signed by the issuer's key for another client id. */
  readonly wrongAudience: ExchangeFacts;
}

/** An unexpected exception: the step and the error's name only. */
export interface FailureFacts {
  readonly scenario: Scenario | 'unknown';
  readonly failure: string;
}

export type ProverFacts = OwnPrefixFacts | CrossUserFacts | RefusalFacts | FailureFacts;

/** The users of the live proof. */
export const ALICE = 'alice';
export const BOB = 'bob';

const issued = (subject: string): ExchangeFacts => ({ status: 200, subject, noStore: true, credentials: 'issued' });
const invalidToken: ExchangeFacts = { status: 401, error: 'invalid_token' };

/** The facts a correct deployment produces, by scenario. */
export const EXPECTED_FACTS = {
  'own-prefix': {
    scenario: 'own-prefix',
    exchange: issued(ALICE),
    putOwn: 'ok',
    getOwn: 'ok',
    sameContent: true,
  },
  'cross-user': {
    scenario: 'cross-user',
    owner: { exchange: issued(BOB), putOwn: 'ok' },
    intruder: { exchange: issued(ALICE), putOther: 'AccessDenied', getOther: 'AccessDenied' },
    ownerGetsOwn: 'ok',
  },
  'refusals': {
    scenario: 'refusals',
    foreignKey: invalidToken,
    wrongAudience: invalidToken,
  },
} as const satisfies { readonly [S in Scenario]: ProverFacts & { scenario: S } };
