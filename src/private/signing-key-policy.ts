import * as iam from 'aws-cdk-lib/aws-iam';

/** The only algorithm assertions and certificates are signed with. */
export const SIGNING_ALGORITHM = 'RSASSA_PKCS1_V1_5_SHA_256';

/**
 * What the account may do with a signing key created by a provider: manage it, but neither sign nor
 * create grants (a grant could hand out `kms:Sign`). Whoever may rewrite the key policy can still add
 * a signer: that power is the boundary (see docs/security.md).
 */
const KEY_ADMINISTRATION_ACTIONS = [
  'kms:CancelKeyDeletion',
  'kms:CreateAlias',
  'kms:DeleteAlias',
  'kms:Describe*',
  'kms:DisableKey',
  'kms:EnableKey',
  'kms:Get*',
  'kms:List*',
  'kms:PutKeyPolicy',
  'kms:RevokeGrant',
  'kms:ScheduleKeyDeletion',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:UpdateAlias',
  'kms:UpdateKeyDescription',
];

/**
 * The key policy of a signing key created by a provider. Administration stays with the account (through
 * IAM), without kms:Sign or kms:CreateGrant; only `signers` (role ARNs, resolved when the policy is
 * synthesized) may sign, and an explicit deny refuses kms:Sign to every other principal whatever its
 * own policies allow.
 */
export function signingKeyPolicy(signers: string[]): iam.PolicyDocument {
  return new iam.PolicyDocument({
    statements: [
      new iam.PolicyStatement({
        sid: 'AccountAdministersTheKey',
        principals: [new iam.AccountRootPrincipal()],
        actions: KEY_ADMINISTRATION_ACTIONS,
        resources: ['*'],
      }),
      new iam.PolicyStatement({
        sid: 'OnlyTheDelegationHandlersSign',
        principals: [new iam.AccountRootPrincipal()],
        actions: ['kms:Sign'],
        resources: ['*'],
        conditions: {
          ArnEquals: { 'aws:PrincipalArn': signers },
          StringEquals: { 'kms:SigningAlgorithm': SIGNING_ALGORITHM },
        },
      }),
      new iam.PolicyStatement({
        sid: 'NobodyElseSigns',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['kms:Sign'],
        resources: ['*'],
        conditions: { ArnNotEquals: { 'aws:PrincipalArn': signers } },
      }),
      new iam.PolicyStatement({
        sid: 'NoGrants',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['kms:CreateGrant'],
        resources: ['*'],
      }),
    ],
  });
}
