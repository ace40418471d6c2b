import { STAND_IN_ACCOUNT, STAND_IN_REGION, accountOfTemplate } from './cloud-assembly';
import type { Template } from './cloudformation';
import { IamSimulateMissingError } from './iam-decisions';
import {
  IsolationCheckError, checkTemplate, checkTemplates, formatIsolationReport, locateCheckedTemplates,
  type IsolationReport, type SharedData,
} from './isolation';

/**
 * `cdk-token-delegation/verify`: the isolation check of `cdk-token-delegation verify`, as a function for a
 * test (bundled into assets/verify/index.js; its types are the hand-written assets/verify/index.d.ts, copied
 * from local/verify-package.api.d.ts). The package's main entry is the jsii-compiled constructs, which
 * cannot carry this code.
 */

/** Options of {@link verifyIsolation}: the data every signed-in user may reach on purpose. */
export interface VerifyIsolationOptions extends SharedData {
  /**
   * The account of a template object that names none (a stack without `env`).
   * @default - the one account the template's ARNs name, else 123456789012
   */
  readonly account?: string;
  /** The region of a template object. @default 'us-east-1' */
  readonly region?: string;
}

/**
 * Checks that each signed-in user reaches only their own data under a synthesized template: a template
 * object (`Template.fromStack(stack).toJSON()`), a template file, or a cdk.out folder (every stack in it
 * with a role a SAML provider may assume). Resolves with the report; rejects when the template cannot be
 * checked, or when @cloud-copilot/iam-simulate is not installed (the message says how to add it).
 */
export async function verifyIsolation(
  template: string | { readonly [key: string]: unknown },
  options: VerifyIsolationOptions = {},
): Promise<IsolationReport> {
  const shared: SharedData = { sharedPrefixes: options.sharedPrefixes, sharedBuckets: options.sharedBuckets, sharedTables: options.sharedTables };
  if (typeof template === 'string') {
    return checkTemplates(locateCheckedTemplates(template), shared);
  }
  if (template === null || typeof template !== 'object' || typeof template.Resources !== 'object' || template.Resources === null) {
    throw new IsolationCheckError('verifyIsolation takes a synthesized template (Template.fromStack(stack).toJSON()), a template file or a cdk.out folder: this has no Resources');
  }
  const typed = template as unknown as Template;
  return checkTemplate(typed, {
    accountId: options.account ?? accountOfTemplate(typed) ?? STAND_IN_ACCOUNT,
    region: options.region ?? STAND_IN_REGION,
  }, shared);
}

export { formatIsolationReport, IamSimulateMissingError, IsolationCheckError };
export type { IsolationFinding, IsolationReport, StatementReference } from './isolation';
