import type * as IamSimulate from '@cloud-copilot/iam-simulate';
import { Template, resolveIntrinsics } from './cloudformation';

/** The package that evaluates IAM policies here; AGPL, so the published command never bundles it. */
export const IAM_SIMULATE_PACKAGE = '@cloud-copilot/iam-simulate';

/** Thrown when iam-simulate is not installed next to the command; the message says how to install it. */
export class IamSimulateMissingError extends Error {
  constructor() {
    super(`${IAM_SIMULATE_PACKAGE} is not installed. It evaluates the template's IAM policies (trust and permissions) and is `
      + 'licensed AGPL-3.0, so cdk-token-delegation does not ship it. Run the command with it, e.g.\n'
      + `  npx -p cdk-token-delegation -p ${IAM_SIMULATE_PACKAGE} cdk-token-delegation local --template cdk.out/MyStack.template.json\n`
      + `or install it next to cdk-token-delegation: npm install --save-dev ${IAM_SIMULATE_PACKAGE}`);
    this.name = 'IamSimulateMissingError';
  }
}

let iamSimulate: typeof IamSimulate | undefined;

/** Loads iam-simulate from the user's installation on first use (never at import time). */
export function loadIamSimulate(): typeof IamSimulate {
  if (iamSimulate === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      iamSimulate = require(IAM_SIMULATE_PACKAGE) as typeof IamSimulate;
    } catch (error) {
      const missing = (error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && (error as Error).message.includes(`'${IAM_SIMULATE_PACKAGE}'`);
      if (missing) throw new IamSimulateMissingError();
      throw error;
    }
  }
  return iamSimulate;
}

/** The three answers of IAM policy evaluation. */
export type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

/** A resolved identity policy document. */
export interface PolicyDocument {
  readonly Version?: string;
  readonly Statement: unknown[];
}

const ACCOUNT = '123456789012';

/** Every identity policy attached to a role (inline `Policies` and `AWS::IAM::Policy` resources), resolved. */
export function rolePolicies(template: Template, roleLogicalId: string): PolicyDocument[] {
  const documents: PolicyDocument[] = [];
  const role = template.Resources[roleLogicalId];
  for (const inline of (role?.Properties?.Policies as Array<{ PolicyDocument: unknown }> | undefined) ?? []) {
    documents.push(resolveIntrinsics(template, inline.PolicyDocument) as PolicyDocument);
  }
  for (const resource of Object.values(template.Resources)) {
    if (resource.Type !== 'AWS::IAM::Policy') continue;
    const roles = (resource.Properties?.Roles as Array<{ Ref?: string }> | undefined) ?? [];
    if (roles.some((ref) => ref.Ref === roleLogicalId)) {
      documents.push(resolveIntrinsics(template, resource.Properties!.PolicyDocument) as PolicyDocument);
    }
  }
  return documents;
}

/**
 * Whether a session whose `${saml:sub}` is `subject` may make an S3 request, by the role's identity
 * policies alone (the S3 bucket of the tests has no bucket policy that allows anything).
 * `runUnsafeSimulation` is used because it substitutes `${saml:sub}`.
 */
export function s3Decision(
  policies: PolicyDocument[],
  request: { action: string; resource: string; subject: string; context?: Record<string, string | string[]> },
): Decision {
  return loadIamSimulate().runUnsafeSimulation({
    request: {
      principal: `arn:aws:sts::${ACCOUNT}:assumed-role/UserRole/session`,
      action: request.action,
      resource: { resource: request.resource, accountId: ACCOUNT },
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
      resource: { resource: request.roleArn, accountId: ACCOUNT },
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
