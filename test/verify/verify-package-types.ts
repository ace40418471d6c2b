import * as implementation from '../../local/verify-package';
import type * as declared from '../../local/verify-package.api';

/**
 * The hand-written declarations shipped as cdk-token-delegation/verify (assets/verify/index.d.ts) describe the
 * bundled entry: compiled by test/verify/verify-function.test.ts, a mismatch is a type error.
 */

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

export const functions: Pick<typeof declared, 'verifyIsolation' | 'formatIsolationReport'> = implementation;
export const implemented: Pick<typeof implementation, 'verifyIsolation' | 'formatIsolationReport'> = {
  verifyIsolation: null as unknown as typeof declared.verifyIsolation,
  formatIsolationReport: null as unknown as typeof declared.formatIsolationReport,
};
export const errors: [typeof declared.IsolationCheckError, typeof declared.IamSimulateMissingError] = [
  implementation.IsolationCheckError, implementation.IamSimulateMissingError,
];
export const report: Same<declared.IsolationReport, implementation.IsolationReport> = true;
export const finding: Same<declared.IsolationFinding, implementation.IsolationFinding> = true;
export const statement: Same<declared.StatementReference, implementation.StatementReference> = true;
export const options: Same<declared.VerifyIsolationOptions, implementation.VerifyIsolationOptions> = true;
