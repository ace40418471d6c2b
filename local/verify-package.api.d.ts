/**
 * cdk-token-delegation/verify: the isolation check of `cdk-token-delegation verify`, for a test.
 *
 * ```ts
 * import { Template } from 'aws-cdk-lib/assertions';
 * import { formatIsolationReport, verifyIsolation } from 'cdk-token-delegation/verify';
 *
 * test('each signed-in user reaches only their own data', async () => {
 *   const report = await verifyIsolation(Template.fromStack(stack).toJSON());
 *   expect(formatIsolationReport(report)).toMatch(/^Per-user isolation holds/);
 * });
 * ```
 *
 * It evaluates policies with @cloud-copilot/iam-simulate (AGPL-3.0), which cdk-token-delegation does not
 * ship: add it to the app (npm install --save-dev @cloud-copilot/iam-simulate).
 */

/** Options of {@link verifyIsolation}: the data every signed-in user may reach on purpose. */
export interface VerifyIsolationOptions {
  /** Key prefixes every user may reach in every bucket (`public/`): reported as shared, not as breaches. */
  readonly sharedPrefixes?: readonly string[];
  /** Buckets every user may reach as a whole, by logical id or name. */
  readonly sharedBuckets?: readonly string[];
  /** Tables every user may reach as a whole (their items, indexes and streams), by logical id or name. */
  readonly sharedTables?: readonly string[];
  /** The account of a template object that names none (a stack without `env`). Default: the one account its ARNs name, else 123456789012. */
  readonly account?: string;
  /** The region of a template object. Default: us-east-1. */
  readonly region?: string;
}

/** A policy statement, named as the template names it. */
export interface StatementReference {
  /** The logical id of its policy (or the role's and its inline policy's name, or the bucket's or key's policy). */
  readonly policy: string;
  /** Its `Sid`, when it has one. */
  readonly sid?: string;
  /** Its position in the policy, from 1. */
  readonly index: number;
  /** Its effect, actions and resources as written (`${Bucket.Arn}/users/*` for a reference to the bucket's ARN). */
  readonly text: string;
}

/** A request a session was allowed to make on data that is not its user's. */
export interface IsolationFinding {
  /** The stack, when the template came from a cloud assembly. */
  readonly stack?: string;
  /** The logical id of the role. */
  readonly role: string;
  /** The user (`${saml:sub}`) of the session. */
  readonly subject: string;
  readonly action: string;
  readonly resource: string;
  /** The request's context keys that matter (`s3:prefix`, `dynamodb:LeadingKeys`, `kms:EncryptionContext:aws:s3:arn`). */
  readonly context?: Readonly<Record<string, string | readonly string[]>>;
  /** What the request reaches, in words. */
  readonly reaches: string;
  /** The users whose data it reaches; empty for data of no user in particular (a parent prefix, a whole bucket or table, a key). */
  readonly owners: readonly string[];
  /** The statements that allow it. */
  readonly allowedBy: readonly StatementReference[];
  /** How to keep each user to their own data. */
  readonly fix: string;
}

/** What the check found. */
export interface IsolationReport {
  /** Whether no session may reach data that is not its user's (declared sharing aside). */
  readonly holds: boolean;
  /** How many decisions were made (requests times sessions). */
  readonly decisions: number;
  /** How many of them the policy evaluator made; the others are requests whose action no Allow statement covers, which it could only deny. */
  readonly evaluated: number;
  /** How many distinct actions were asked about. */
  readonly actions: number;
  readonly services: readonly string[];
  /** The roles checked, as `<stack>/<logical id>` when the stack is known. */
  readonly roles: readonly string[];
  /** The users whose sessions were checked. */
  readonly subjects: readonly string[];
  /** Requests allowed on other users' data or data of no user in particular: each a breach. */
  readonly breaches: readonly IsolationFinding[];
  /** Requests allowed on data declared shared. */
  readonly shared: readonly IsolationFinding[];
  /** Requests on each user's own data, and how many of them the user was allowed. */
  readonly own: { readonly decisions: number; readonly allowed: number };
  /** What the check could not see in the template, and grants it does not judge. */
  readonly notes: readonly string[];
  /** How long the check took. */
  readonly seconds: number;
}

/**
 * Checks that each signed-in user reaches only their own data under a synthesized template: a template
 * object (`Template.fromStack(stack).toJSON()`), a template file, or a cdk.out folder (every stack in it
 * with a role a SAML provider may assume). Resolves with the report; rejects with an IsolationCheckError
 * when the template cannot be checked, and with an IamSimulateMissingError when
 * @cloud-copilot/iam-simulate is not installed.
 */
export declare function verifyIsolation(template: string | { readonly [key: string]: unknown }, options?: VerifyIsolationOptions): Promise<IsolationReport>;

/** The report as `cdk-token-delegation verify` prints it: one line when isolation holds, else every breach with its statement and fix. */
export declare function formatIsolationReport(report: IsolationReport, options?: { readonly all?: boolean }): string;

/** Thrown when the template cannot be checked (nothing to check, or not a template); the message says what to give instead. */
export declare class IsolationCheckError extends Error {
  constructor(message: string);
}

/** Thrown when @cloud-copilot/iam-simulate is not installed; the message says how to install it. */
export declare class IamSimulateMissingError extends Error {
  constructor();
}
