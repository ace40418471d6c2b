import { runSimulation, runUnsafeSimulation } from '@cloud-copilot/iam-simulate';
import type { Decision, PolicyDocument } from '../../local/iam-decisions';

const ACCOUNT = '123456789012';

/**
 * Whether a role's session may call a KMS action on a key, by the key policy and the role's identity
 * policies together (KMS trusts identity policies only where the key policy lets the account do so).
 * `aws:PrincipalArn` is the role's ARN, as AWS sets it for a role session.
 */
export async function keyDecision(request: {
  keyPolicy: unknown;
  identityPolicies: PolicyDocument[];
  roleName: string;
  action: string;
  keyArn: string;
  context?: Record<string, string | string[]>;
}): Promise<Decision> {
  const result = await runSimulation({
    request: {
      principal: `arn:aws:sts::${ACCOUNT}:assumed-role/${request.roleName}/session`,
      action: request.action,
      resource: { resource: request.keyArn, accountId: ACCOUNT },
      contextVariables: { 'aws:PrincipalArn': `arn:aws:iam::${ACCOUNT}:role/${request.roleName}`, ...request.context },
    },
    identityPolicies: request.identityPolicies.map((policy, index) => ({ name: `policy${index}`, policy })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: request.keyPolicy,
  }, {});
  if (result.resultType === 'error') {
    throw new Error(`Key policy simulation failed: ${JSON.stringify(result.errors)}`);
  }
  return result.overallResult as Decision;
}

/** A key policy that leaves every decision to the account's IAM policies (CDK's default). */
const ACCOUNT_DECIDES = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' }],
};

/**
 * Whether a user session (`${saml:sub}` = subject) may call a KMS action, by its role's identity
 * policies under a key policy that lets the account's IAM policies decide. `runUnsafeSimulation`
 * substitutes `${saml:sub}` and, unlike `runSimulation`, keeps context keys such as
 * `kms:EncryptionContext:aws:s3:arn` whose variable part holds a colon.
 */
export function userKeyDecision(
  policies: PolicyDocument[],
  request: { subject: string; action: string; keyArn: string; context: Record<string, string> },
): Decision {
  return runUnsafeSimulation({
    request: {
      principal: `arn:aws:sts::${ACCOUNT}:assumed-role/UserRole/session`,
      action: request.action,
      resource: { resource: request.keyArn, accountId: ACCOUNT },
      contextVariables: { 'saml:sub': request.subject, 'saml:sub_type': 'persistent', ...request.context },
    },
    identityPolicies: policies.map((policy, index) => ({ name: `policy${index}`, policy })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    // The unsafe engine names the resource policy from its metadata, which only a validated policy carries.
    resourcePolicy: { __validated: true, policyDocument: ACCOUNT_DECIDES, metadata: { name: 'keyPolicy' }, errors: [] } as never,
  }, {}) as Decision;
}
