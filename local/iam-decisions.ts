import { basename, delimiter, dirname } from 'node:path';
import type * as IamSimulate from '@cloud-copilot/iam-simulate';
import { STAND_IN_ACCOUNT } from './cloud-assembly';
import { Template, resolveIntrinsics, type DeploymentValues } from './cloudformation';

/** The package that evaluates IAM policies here; AGPL, so the published command never bundles it. */
export const IAM_SIMULATE_PACKAGE = '@cloud-copilot/iam-simulate';

/** Thrown when iam-simulate is not installed next to the command; the message says how to install it. */
export class IamSimulateMissingError extends Error {
  constructor() {
    super(`${IAM_SIMULATE_PACKAGE} is not installed. It evaluates IAM policies and is licensed AGPL-3.0, so `
      + `cdk-token-delegation does not ship it: add it to your app with npm install --save-dev ${IAM_SIMULATE_PACKAGE}`);
    this.name = 'IamSimulateMissingError';
  }
}

let iamSimulate: typeof IamSimulate | undefined;

/**
 * Where iam-simulate may be installed, besides beside the command itself: the app the command runs in
 * (the working directory), and any package folder whose `node_modules/.bin` is on PATH, which is where
 * `npx -p @cloud-copilot/iam-simulate …` puts it.
 */
export function iamSimulateSearchPaths(cwd: string = process.cwd(), path: string = process.env.PATH ?? ''): string[] {
  const binFolders = path.split(delimiter).filter((entry) => basename(entry) === '.bin' && basename(dirname(entry)) === 'node_modules');
  return [...new Set([cwd, ...binFolders.map((entry) => dirname(dirname(entry)))])];
}

/** Loads iam-simulate from the user's installation on first use (never at import time). */
export function loadIamSimulate(): typeof IamSimulate {
  if (iamSimulate === undefined) {
    let location: string;
    try {
      location = require.resolve(IAM_SIMULATE_PACKAGE);
    } catch {
      try {
        location = require.resolve(IAM_SIMULATE_PACKAGE, { paths: iamSimulateSearchPaths() });
      } catch {
        throw new IamSimulateMissingError();
      }
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    iamSimulate = require(location) as typeof IamSimulate;
  }
  return iamSimulate;
}

/** Whether iam-simulate can be loaded (it is required only for the decisions that need it). */
export function iamSimulateAvailable(): boolean {
  try {
    loadIamSimulate();
    return true;
  } catch (error) {
    if (error instanceof IamSimulateMissingError) return false;
    throw error;
  }
}

/** The three answers of IAM policy evaluation. */
export type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

/** A resolved identity policy document. */
export interface PolicyDocument {
  readonly Version?: string;
  readonly Statement: unknown[];
}

/** The account of a role or assumed-role ARN. */
function accountOf(arn: string | undefined): string {
  return /^arn:aws[a-z-]*:(?:iam|sts)::(\d{12}):/.exec(arn ?? '')?.[1] ?? STAND_IN_ACCOUNT;
}

/** Every identity policy attached to a role (inline `Policies` and `AWS::IAM::Policy` resources), resolved. */
export function rolePolicies(template: Template, roleLogicalId: string, deployment: DeploymentValues = {}): PolicyDocument[] {
  const documents: PolicyDocument[] = [];
  const role = template.Resources[roleLogicalId];
  for (const inline of (role?.Properties?.Policies as Array<{ PolicyDocument: unknown }> | undefined) ?? []) {
    documents.push(resolveIntrinsics(template, inline.PolicyDocument, deployment) as PolicyDocument);
  }
  for (const resource of Object.values(template.Resources)) {
    if (resource.Type !== 'AWS::IAM::Policy') continue;
    const roles = (resource.Properties?.Roles as Array<{ Ref?: string }> | undefined) ?? [];
    if (roles.some((ref) => ref.Ref === roleLogicalId)) {
      documents.push(resolveIntrinsics(template, resource.Properties!.PolicyDocument, deployment) as PolicyDocument);
    }
  }
  return documents;
}

/**
 * Whether a session of `roleArn` whose `${saml:sub}` is `subject` may make a request (S3, DynamoDB, any
 * other service), by the role's identity policies alone (the buckets of the tests have no bucket policy
 * that allows anything).
 * `runUnsafeSimulation` is used because it substitutes `${saml:sub}`.
 */
export function s3Decision(
  policies: PolicyDocument[],
  request: { action: string; resource: string; subject: string; context?: Record<string, string | string[]>; roleArn?: string },
): Decision {
  const account = accountOf(request.roleArn);
  const roleName = request.roleArn?.slice(request.roleArn.lastIndexOf('/') + 1) ?? 'UserRole';
  return loadIamSimulate().runUnsafeSimulation({
    request: {
      principal: `arn:aws:sts::${account}:assumed-role/${roleName}/session`,
      action: request.action,
      resource: { resource: request.resource, accountId: account },
      contextVariables: {
        'saml:sub': request.subject,
        'saml:sub_type': 'persistent',
        'aws:SecureTransport': 'true',
        ...request.context,
      },
    },
    identityPolicies: policies.map((policy, index) => ({ name: `policy${index}`, policy })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
  }, {}) as Decision;
}

/** Whether a role's trust policy lets a SAML provider's assertion assume it with `action`. */
export async function trustDecision(
  trustPolicy: unknown,
  request: { roleArn: string; providerArn: string; action: string; context: Record<string, string | string[]> },
): Promise<{ decision: Decision; ignoredContextKeys: string[] }> {
  const result = await loadIamSimulate().runSimulation({
    request: {
      principal: request.providerArn,
      action: request.action,
      resource: { resource: request.roleArn, accountId: accountOf(request.roleArn) },
      contextVariables: request.context,
    },
    identityPolicies: [],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: trustPolicy,
  }, {});
  if (result.resultType === 'error') {
    throw new Error(`Trust policy simulation failed: ${JSON.stringify(result.errors)}`);
  }
  const ignored = result.resultType === 'single' ? result.result.ignoredContextKeys ?? [] : [];
  return { decision: result.overallResult as Decision, ignoredContextKeys: ignored };
}
