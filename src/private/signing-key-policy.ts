import { Aws, DefaultStackSynthesizer, Fn, Lazy, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

/** The only algorithm assertions and certificates are signed with. */
export const SIGNING_ALGORITHM = 'RSASSA_PKCS1_V1_5_SHA_256';

/** What the account's IAM policies may still allow on a signing key: reading it, nothing that changes it. */
const READ_ACTIONS = ['kms:Describe*', 'kms:Get*', 'kms:List*'];

/** What the key administrators may do: manage the key, but neither sign nor create grants (a grant could hand out `kms:Sign`). */
const ADMINISTRATION_ACTIONS = [
  'kms:CancelKeyDeletion',
  'kms:CreateAlias',
  'kms:DeleteAlias',
  'kms:DisableKey',
  'kms:EnableKey',
  'kms:PutKeyPolicy',
  'kms:RevokeGrant',
  'kms:ScheduleKeyDeletion',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:UpdateAlias',
  'kms:UpdateKeyDescription',
];

/**
 * What widens who may sign: rewriting the key policy, and the tags by which roles of other stacks are
 * granted the keys. Refused to everyone but the administrators, whatever their own policies allow.
 */
const WIDENING_ACTIONS = ['kms:PutKeyPolicy', 'kms:TagResource', 'kms:UntagResource'];

/**
 * The key policy of the signing keys a provider creates. Who may sign is a small, named set:
 *
 * - the administrators (by default the role CloudFormation deploys the stack with) may change the key
 *   and its policy; every other principal may only read it, and is refused the actions that widen who
 *   signs, whatever its own IAM policies allow;
 * - roles of the key's own stack sign by being named in the Principal element, which KMS pins to the
 *   role's unique id, so a role re-created under the same name does not inherit the power;
 * - roles of other stacks or apps (fixed names, `allowSigningBy`) sign by `aws:PrincipalArn`: KMS refuses
 *   a key policy that names a principal which does not exist yet, and such a role is created after the
 *   key. Their names are the part of the boundary an SCP should protect (docs/security.md);
 * - nobody else signs (an explicit deny), and nobody creates grants.
 */
export class SigningKeyPolicy {
  private readonly pinnedSigners: string[] = [];
  private readonly namedSigners: string[] = [];
  private readonly signerStatements: iam.PolicyStatement[] = [];
  private readonly documents: iam.PolicyDocument[] = [];
  private namedSignersAdded = false;

  constructor(private readonly scope: Construct) {}

  /** A new key's policy, administered by `administrators` or, by default, by the stack's deployment role. */
  public document(administrators?: iam.IPrincipal[]): iam.PolicyDocument {
    const administratorArns = administrators === undefined
      ? [deploymentRoleArn(this.scope)]
      : administrators.flatMap((principal) => principalArns(principal));
    const signers = new iam.PolicyStatement({
      sid: 'TheDelegationHandlersSign',
      principals: this.pinnedSigners.map((arn) => new iam.ArnPrincipal(arn)),
      actions: ['kms:Sign'],
      resources: ['*'],
      conditions: { StringEquals: { 'kms:SigningAlgorithm': SIGNING_ALGORITHM } },
    });
    this.signerStatements.push(signers);
    const document = new iam.PolicyDocument({
      statements: [
        new iam.PolicyStatement({
          sid: 'TheAccountReadsTheKey',
          principals: [new iam.AccountRootPrincipal()],
          actions: READ_ACTIONS,
          resources: ['*'],
        }),
        new iam.PolicyStatement({
          sid: 'TheAdministratorsManageTheKey',
          principals: [new iam.AccountRootPrincipal()],
          actions: ADMINISTRATION_ACTIONS,
          resources: ['*'],
          conditions: { ArnEquals: { 'aws:PrincipalArn': administratorArns } },
        }),
        new iam.PolicyStatement({
          sid: 'NobodyElseWidensWhoSigns',
          effect: iam.Effect.DENY,
          principals: [new iam.AnyPrincipal()],
          actions: WIDENING_ACTIONS,
          resources: ['*'],
          conditions: { ArnNotEquals: { 'aws:PrincipalArn': administratorArns } },
        }),
        signers,
        new iam.PolicyStatement({
          sid: 'NobodyElseSigns',
          effect: iam.Effect.DENY,
          principals: [new iam.AnyPrincipal()],
          actions: ['kms:Sign'],
          resources: ['*'],
          conditions: { ArnNotEquals: { 'aws:PrincipalArn': Lazy.list({ produce: () => unique([...this.pinnedSigners, ...this.namedSigners]) }) } },
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
    this.documents.push(document);
    if (this.namedSigners.length > 0) {
      document.addStatements(this.namedSignersStatement());
    }
    return document;
  }

  /** Lets a role of the key's own stack sign, named in the Principal element of every key's policy. */
  public allowPinnedSigner(roleArn: string): void {
    if (this.pinnedSigners.includes(roleArn)) return;
    this.pinnedSigners.push(roleArn);
    for (const statement of this.signerStatements) {
      statement.addArnPrincipal(roleArn);
    }
  }

  /** Lets a role of another stack or app sign, named by its ARN in a condition. */
  public allowNamedSigner(roleArn: string): void {
    if (this.namedSigners.includes(roleArn)) return;
    this.namedSigners.push(roleArn);
    if (!this.namedSignersAdded) {
      this.namedSignersAdded = true;
      for (const document of this.documents) {
        document.addStatements(this.namedSignersStatement());
      }
    }
  }

  private namedSignersStatement(): iam.PolicyStatement {
    return new iam.PolicyStatement({
      sid: 'NamedRolesOfOtherStacksSign',
      principals: [new iam.AccountRootPrincipal()],
      actions: ['kms:Sign'],
      resources: ['*'],
      conditions: {
        ArnEquals: { 'aws:PrincipalArn': Lazy.list({ produce: () => unique(this.namedSigners) }) },
        StringEquals: { 'kms:SigningAlgorithm': SIGNING_ALGORITHM },
      },
    });
  }
}

/**
 * The role CloudFormation deploys `scope`'s stack with, as the stack's synthesizer names it: the
 * principal that creates the key, which KMS requires to be able to change the policy it sets.
 */
function deploymentRoleArn(scope: Construct): string {
  const stack = Stack.of(scope);
  const synthesizer = stack.synthesizer;
  let arn: string | undefined;
  if (synthesizer instanceof DefaultStackSynthesizer) {
    try {
      arn = synthesizer.cloudFormationExecutionRoleArn;
    } catch {
      arn = undefined;
    }
  }
  if (arn === undefined) {
    throw new Error(
      `SigningKeys.create: the stack ${stack.node.path} is deployed without a CloudFormation execution role that CDK knows `
      + `(synthesizer ${synthesizer.constructor.name}), so name the principals that administer the signing keys: `
      + 'SigningKeys.create({ administrators: [...] }). They alone may change the key policy, which decides who can sign.',
    );
  }
  // The synthesizer writes ${AWS::AccountId}-style placeholders for an environment-agnostic stack.
  return arn.includes('${') ? Fn.sub(arn) : arn;
}

/** The IAM ARNs a principal stands for in a policy's Principal element. */
function principalArns(principal: iam.IPrincipal): string[] {
  const arns = principal.policyFragment.principalJson.AWS ?? [];
  if (arns.length === 0) {
    throw new Error('SigningKeys.create: administrators must be IAM principals of the account (roles, users or the account itself)');
  }
  // AccountPrincipal stands as the bare account id; aws:PrincipalArn of its root is the root ARN.
  return arns.map((arn) => (!Token.isUnresolved(arn) && /^\d{12}$/.test(arn) ? `arn:${Aws.PARTITION}:iam::${arn}:root` : arn));
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
