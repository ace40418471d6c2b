/**
 * Reading IAM policy statements as IAM does, for both sides: the role's synth-time check of its own grants
 * (src/) and the isolation check (local/). Import-free, like everything in src/contract/.
 */

/** A policy element (`Action`, `Resource`, a condition's values) as a list of strings: a lone value becomes a list of one. */
export function policyElementList(value: unknown): string[] {
  return value === undefined ? [] : (Array.isArray(value) ? value : [value]).map(String);
}

/** Whether an IAM action pattern (`s3:Get*`, `dynamodb:?etItem`, `*`) matches an action, case-insensitively, as IAM matches them. */
export function actionPatternMatches(pattern: string, action: string): boolean {
  const expression = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
  return expression.test(action);
}
