import type { ActionDetails, PolicyDocument } from './iam-decisions';
import { policyElementList } from '../src/contract/policy-elements';

/**
 * The requests a signed-in user's session is asked about, shared by the local command's permission table
 * (a few requests an app makes, for the users signed in) and the isolation check (every action the policy
 * evaluator's data knows, for users with ids chosen to overlap): what the role's policies grant per user
 * (`${saml:sub}` in a prefix or a leading key), and requests on each user's data, on data that belongs to no
 * user in particular, and on the resources that hold it (buckets, tables, indexes, streams, keys).
 */

/** The policy variable every per-user grant is written with. */
export const SUBJECT_VARIABLE = '${saml:sub}';

/** Where a request reaches, for declared sharing and for reports. */
export interface ProbePlace {
  readonly service: string;
  readonly bucket?: string;
  /** The object's key, for an object request. */
  readonly objectKey?: string;
  /** The listing's `s3:prefix`, for a listing request; undefined for none. */
  readonly listPrefix?: string;
  readonly listing?: boolean;
  readonly table?: string;
  readonly keyArn?: string;
}

/** A request of a session, and whose data it reaches. */
export interface Probe {
  readonly action: string;
  readonly resource: string;
  readonly context?: Record<string, string | string[]>;
  /**
   * The users whose data the request reaches: it is theirs when they are all the session's user. Empty when
   * it reaches data of no user in particular (a parent prefix, a whole bucket or table, a stream, a key).
   */
  readonly owners: readonly string[];
  /** What it reaches, in words ("al's object", "the bucket's whole listing"). */
  readonly reaches: string;
  readonly place: ProbePlace;
  /** Whether the action takes no resource, so that the request's resource is `"*"` and only statements on `"*"` grant it. */
  readonly wildcardOnly?: boolean;
}

/** The statements of policy documents, a lone statement made a list. */
export function policyStatements(policies: readonly PolicyDocument[]): Array<Record<string, unknown>> {
  return policies.flatMap((policy) => (Array.isArray(policy.Statement) ? policy.Statement : [policy.Statement]) as Array<Record<string, unknown>>);
}

/** A policy element (Action, Resource, a condition value) as a list of strings. */
export const asList = policyElementList;

const S3_OBJECT_ARN = /^arn:aws[a-z-]*:s3:::([^/]+)\/(.*)$/;

/** The `(bucket, prefix)` pairs of object resources like `arn:aws:s3:::bucket/users/${saml:sub}/*`. */
export function userPrefixGrants(policies: readonly PolicyDocument[]): Array<{ bucket: string; prefix: string }> {
  const found = new Map<string, { bucket: string; prefix: string }>();
  for (const statement of policyStatements(policies)) {
    if (statement.Effect !== 'Allow') continue;
    for (const resource of asList(statement.Resource)) {
      const match = S3_OBJECT_ARN.exec(resource);
      const at = match?.[2].indexOf(SUBJECT_VARIABLE) ?? -1;
      if (match && at >= 0) {
        const grant = { bucket: match[1], prefix: match[2].slice(0, at) };
        found.set(`${grant.bucket}/${grant.prefix}`, grant);
      }
    }
  }
  return [...found.values()];
}

/** Whether a statement limits DynamoDB requests to the user's own partition (`dynamodb:LeadingKeys` = `${saml:sub}`). */
export function limitsToOwnPartition(statement: Record<string, unknown>): boolean {
  const condition = statement.Condition as Record<string, Record<string, unknown>> | undefined;
  return Object.values(condition ?? {}).some((keys) => Object.entries(keys ?? {})
    .some(([key, value]) => key.toLowerCase() === 'dynamodb:leadingkeys' && asList(value).includes(SUBJECT_VARIABLE)));
}

/** `table/Notes` or `table/Notes/index/byDate` of a DynamoDB ARN; other ARNs unchanged. */
export function shortDynamoDbResource(resource: string): string {
  return /^arn:aws[a-z-]*:dynamodb:[^:]*:[^:]*:(table\/.+)$/.exec(resource)?.[1] ?? resource;
}

/** The name of the table of a DynamoDB table, index or stream ARN. */
export function tableNameOf(resource: string): string | undefined {
  return /^arn:aws[a-z-]*:dynamodb:[^:]*:[^:]*:table\/([^/]+)/.exec(resource)?.[1];
}

/** An object request: `action` on `key` in `bucket`. */
export function objectProbe(bucket: string, key: string, action: string, owners: readonly string[], reaches: string): Probe {
  return { action, resource: `arn:aws:s3:::${bucket}/${key}`, owners, reaches, place: { service: 's3', bucket, objectKey: key } };
}

/** A listing of `bucket` with `s3:prefix` = `prefix` (none when undefined). */
export function listingProbe(bucket: string, prefix: string | undefined, action: string, owners: readonly string[], reaches: string): Probe {
  return {
    action,
    resource: `arn:aws:s3:::${bucket}`,
    context: prefix === undefined ? undefined : { 's3:prefix': prefix },
    owners,
    reaches,
    place: { service: 's3', bucket, listing: true, listPrefix: prefix },
  };
}

/** A request on the items of a table or index whose partition keys are `leadingKeys` (none: the request carries none). */
export function partitionProbe(resource: string, action: string, leadingKeys: readonly string[] | undefined, reaches: string): Probe {
  return {
    action,
    resource,
    context: leadingKeys === undefined ? undefined : { 'dynamodb:LeadingKeys': [...leadingKeys] },
    owners: leadingKeys ?? [],
    reaches,
    place: { service: 'dynamodb', table: tableNameOf(resource) },
  };
}

/** The users of the isolation check: ids that share prefixes (`al`, `alice`, `alice.b`), carry every character a subject may, and a namespace. */
export const ISOLATION_SUBJECTS: readonly string[] = ['alice', 'al', 'alice.b', 'a-l_i=c,e@x', 'corp:alice'];

/** One service's actions, as the policy evaluator's data describes them. */
export interface ServiceActions {
  readonly service: string;
  readonly actions: readonly ActionDetails[];
  /** The ARN pattern of each of its resource types (`arn:${Partition}:s3:::${BucketName}`). */
  readonly resourceArns: Readonly<Record<string, string>>;
}

/** A bucket as the check sees it: the per-user prefixes the roles grant in it, and the prefixes declared shared. */
export interface CheckedBucket {
  readonly name: string;
  readonly userPrefixes: readonly string[];
  readonly sharedPrefixes: readonly string[];
}

/** A table as the check sees it: its indexes and its stream. */
export interface CheckedTable {
  readonly name: string;
  readonly arn: string;
  readonly indexes: readonly string[];
  readonly streamArn?: string;
}

/** A key as the check sees it, with the per-user objects it encrypts (as S3 names them in the encryption context). */
export interface CheckedKey {
  readonly arn: string;
  readonly objects: ReadonlyArray<{ readonly bucket: string; readonly key: string; readonly owners: readonly string[]; readonly reaches: string }>;
}

/** What the check asks about: the template's buckets, tables and keys (and those the roles name), in one account and region. */
export interface CheckedResources {
  readonly account: string;
  readonly region: string;
  readonly buckets: readonly CheckedBucket[];
  readonly tables: readonly CheckedTable[];
  readonly keys: readonly CheckedKey[];
  /** Resources of other services the roles grant per user (`${saml:sub}` in the ARN), by service. */
  readonly perUserResources: Readonly<Record<string, readonly string[]>>;
}

function actionName(service: string, action: ActionDetails): string {
  return `${service}:${action.name}`;
}

function conditionKeysOf(action: ActionDetails): string[] {
  return [...action.conditionKeys, ...action.resourceTypes.flatMap((type) => type.conditionKeys)].map((key) => key.toLowerCase());
}

/** An ARN of a resource type with its placeholders filled: a resource of that type that belongs to no user. */
export function standInArn(pattern: string, account: string, region: string, names: Record<string, string> = {}): string {
  return pattern.replace(/\$\{([A-Za-z]+)\}/g, (_, name: string) => {
    if (name === 'Partition') return 'aws';
    if (name === 'Account') return account;
    if (name === 'Region') return region;
    return names[name] ?? 'example';
  });
}

/** Object keys of a bucket: each user's own, their look-alikes, the parent prefix, the root and the shared prefixes. */
function objectKeys(bucket: CheckedBucket, subjects: readonly string[]): Array<{ key: string; owners: string[]; reaches: string }> {
  const keys = new Map<string, { key: string; owners: string[]; reaches: string }>();
  const add = (key: string, owners: string[], reaches: string) => {
    if (!keys.has(key)) keys.set(key, { key, owners, reaches });
  };
  for (const prefix of bucket.userPrefixes) {
    for (const subject of subjects) add(`${prefix}${subject}/notes.txt`, [subject], `${subject}'s object`);
    for (const subject of subjects) add(`${prefix}${subject}x/notes.txt`, [`${subject}x`], `the object of ${subject}x, whose id starts with ${subject}`);
    for (const subject of subjects) add(`${prefix}${subject}`, [], `an object named like ${subject}'s folder, outside it`);
    add(`${prefix}notes.txt`, [], prefix === '' ? 'an object at the bucket\'s root' : `an object in the parent prefix ${prefix}`);
  }
  add('notes.txt', [], 'an object at the bucket\'s root');
  add('other/notes.txt', [], 'an object outside every user\'s folder');
  for (const prefix of bucket.sharedPrefixes) add(`${prefix}notes.txt`, [], `an object under the shared prefix ${prefix}`);
  return [...keys.values()];
}

/** `s3:prefix` values of listings: none, the whole bucket, the parent prefix, each user's folder and its hostile neighbours. */
function listPrefixes(bucket: CheckedBucket, subjects: readonly string[]): Array<{ prefix?: string; owners: string[]; reaches: string }> {
  const prefixes = new Map<string, { prefix?: string; owners: string[]; reaches: string }>();
  const add = (prefix: string | undefined, owners: string[], reaches: string) => {
    const id = prefix ?? '\u0000none';
    if (!prefixes.has(id)) prefixes.set(id, { prefix, owners, reaches });
  };
  add(undefined, [], 'the bucket\'s whole listing (no prefix)');
  add('', [], 'the bucket\'s whole listing (empty prefix)');
  for (const prefix of bucket.userPrefixes) {
    add(prefix, [], prefix === '' ? 'the bucket\'s whole listing (empty prefix)' : `the listing of the parent prefix ${prefix}`);
    add(`${prefix}*`, [], `the listing of ${prefix}*`);
    for (const subject of subjects) add(`${prefix}${subject}/`, [subject], `the listing of ${subject}'s folder`);
    for (const subject of subjects) add(`${prefix}${subject}x/`, [`${subject}x`], `the listing of ${subject}x's folder`);
    for (const subject of subjects) add(`${prefix}${subject}`, [], `the listing of ${prefix}${subject} without '/', which also lists ${subject}x/`);
  }
  for (const prefix of bucket.sharedPrefixes) add(prefix, [], `the listing of the shared prefix ${prefix}`);
  return [...prefixes.values()];
}

/** Requests of every S3 action, on every bucket (and a bucket outside the template) and every other resource type. */
function s3Probes(catalog: ServiceActions, checked: CheckedResources, subjects: readonly string[]): Probe[] {
  const probes: Probe[] = [];
  const buckets: CheckedBucket[] = [...checked.buckets, { name: 'another-bucket-of-the-account', userPrefixes: [], sharedPrefixes: [] }];
  for (const action of catalog.actions) {
    const name = actionName('s3', action);
    const listsWithPrefix = conditionKeysOf(action).includes('s3:prefix');
    if (action.resourceTypes.length === 0) {
      probes.push({ action: name, resource: '*', owners: [], reaches: 'the account\'s S3 as a whole', place: { service: 's3' }, wildcardOnly: true });
    }
    for (const type of action.resourceTypes) {
      if (type.name === 'object') {
        for (const bucket of buckets) {
          for (const { key, owners, reaches } of objectKeys(bucket, subjects)) probes.push(objectProbe(bucket.name, key, name, owners, reaches));
        }
      } else if (type.name === 'bucket' && listsWithPrefix) {
        for (const bucket of buckets) {
          for (const { prefix, owners, reaches } of listPrefixes(bucket, subjects)) {
            probes.push(listingProbe(bucket.name, prefix, name, owners, reaches));
          }
        }
      } else if (type.name === 'bucket') {
        for (const bucket of buckets) {
          probes.push({ action: name, resource: `arn:aws:s3:::${bucket.name}`, owners: [], reaches: 'the bucket itself', place: { service: 's3', bucket: bucket.name } });
        }
      } else {
        const resource = standInArn(catalog.resourceArns[type.name] ?? '*', checked.account, checked.region);
        probes.push({ action: name, resource, owners: [], reaches: `an S3 ${type.name} of the account`, place: { service: 's3' } });
      }
    }
  }
  return probes;
}

/** Requests of every DynamoDB action on every table (and one outside the template), its indexes and stream, for each user's partition. */
function dynamoDbProbes(catalog: ServiceActions, checked: CheckedResources, subjects: readonly string[]): Probe[] {
  const probes: Probe[] = [];
  const outside = `arn:aws:dynamodb:${checked.region}:${checked.account}:table/another-table-of-the-account`;
  const tables: CheckedTable[] = [...checked.tables, { name: 'another-table-of-the-account', arn: outside, indexes: ['another-index'], streamArn: `${outside}/stream/2026-01-01T00:00:00.000` }];
  // Each user alone, and batches that mix a user with the next one.
  const keySets: Array<{ keys: string[]; reaches: string }> = [
    ...subjects.map((subject) => ({ keys: [subject], reaches: `${subject}'s partition` })),
    ...subjects.map((subject, index) => {
      const next = subjects[(index + 1) % subjects.length];
      return { keys: [subject, next], reaches: `a batch of ${subject}'s and ${next}'s items` };
    }),
  ];
  for (const action of catalog.actions) {
    const name = actionName('dynamodb', action);
    const keys = conditionKeysOf(action);
    const carriesLeadingKeys = keys.includes('dynamodb:leadingkeys');
    // A PartiQL select may scan the whole table, and then carries no leading key.
    const mayScan = !carriesLeadingKeys || keys.includes('dynamodb:fulltablescan');
    const itemRequests = (resource: string, where: string): Probe[] => [
      ...(carriesLeadingKeys ? keySets.map(({ keys: leading, reaches }) => partitionProbe(resource, name, leading, `${reaches} in ${where}`)) : []),
      ...(mayScan ? [partitionProbe(resource, name, undefined, `all of ${where} (no leading key)`)] : []),
    ];
    if (action.resourceTypes.length === 0) {
      probes.push({ action: name, resource: '*', owners: [], reaches: 'the account\'s DynamoDB as a whole', place: { service: 'dynamodb' }, wildcardOnly: true });
    }
    for (const type of action.resourceTypes) {
      for (const table of tables) {
        if (type.name === 'table') {
          probes.push(...itemRequests(table.arn, `table ${table.name}`));
        } else if (type.name === 'index') {
          for (const index of table.indexes) probes.push(...itemRequests(`${table.arn}/index/${index}`, `index ${index} of ${table.name}`));
        } else if (type.name === 'stream') {
          if (table.streamArn) {
            probes.push({ action: name, resource: table.streamArn, owners: [], reaches: `the stream of ${table.name}, every user's changes`, place: { service: 'dynamodb', table: table.name } });
          }
        } else {
          const resource = standInArn(catalog.resourceArns[type.name] ?? '*', checked.account, checked.region, { TableName: table.name });
          probes.push({ action: name, resource, owners: [], reaches: `a ${type.name} of ${table.name}`, place: { service: 'dynamodb', table: table.name } });
        }
      }
    }
  }
  return probes;
}

/** Requests of every KMS action on every key (and one outside the template), called directly, for each user's objects too. */
function kmsProbes(catalog: ServiceActions, checked: CheckedResources): Probe[] {
  const probes: Probe[] = [];
  const outside = `arn:aws:kms:${checked.region}:${checked.account}:key/00000000-0000-4000-8000-0000000000aa`;
  const keys: CheckedKey[] = [...checked.keys, { arn: outside, objects: [] }];
  const caller = { 'kms:CallerAccount': checked.account };
  for (const action of catalog.actions) {
    const name = actionName('kms', action);
    const takesContext = conditionKeysOf(action).some((key) => key.startsWith('kms:encryptioncontext:'));
    if (action.resourceTypes.length === 0) {
      probes.push({ action: name, resource: '*', context: caller, owners: [], reaches: 'the account\'s KMS as a whole', place: { service: 'kms' }, wildcardOnly: true });
    }
    for (const type of action.resourceTypes) {
      if (type.name !== 'key') {
        const resource = standInArn(catalog.resourceArns[type.name] ?? '*', checked.account, checked.region);
        probes.push({ action: name, resource, context: caller, owners: [], reaches: `a KMS ${type.name} of the account`, place: { service: 'kms' } });
        continue;
      }
      for (const key of keys) {
        probes.push({ action: name, resource: key.arn, context: caller, owners: [], reaches: 'the key, called directly', place: { service: 'kms', keyArn: key.arn } });
        if (!takesContext) continue;
        for (const object of key.objects) {
          probes.push({
            action: name,
            resource: key.arn,
            context: { ...caller, 'kms:EncryptionContext:aws:s3:arn': `arn:aws:s3:::${object.bucket}/${object.key}` },
            owners: object.owners,
            reaches: `the data key of ${object.reaches}, called directly`,
            place: { service: 'kms', keyArn: key.arn, bucket: object.bucket, objectKey: object.key },
          });
        }
      }
    }
  }
  return probes;
}

/** Requests of every action of another service on the resources the roles grant per user, with each user's id. */
function perUserProbes(catalog: ServiceActions, resources: readonly string[], subjects: readonly string[]): Probe[] {
  const probes: Probe[] = [];
  for (const action of catalog.actions) {
    for (const pattern of resources) {
      for (const subject of subjects) {
        probes.push({
          action: actionName(catalog.service, action),
          resource: pattern.split(SUBJECT_VARIABLE).join(subject).replace(/[*?]/g, 'example'),
          owners: [subject],
          reaches: `${subject}'s ${catalog.service} resource`,
          place: { service: catalog.service },
        });
      }
    }
  }
  return probes;
}

/**
 * Every request the isolation check asks each session about: every action of each service in `catalogs`
 * on each user's data and on data of no user in particular. The same request is asked of every session, so
 * what is one user's own is another user's cross-user probe.
 */
export function isolationProbes(
  catalogs: readonly ServiceActions[], checked: CheckedResources, subjects: readonly string[] = ISOLATION_SUBJECTS,
): Probe[] {
  return catalogs.flatMap((catalog) => {
    switch (catalog.service) {
      case 's3': return s3Probes(catalog, checked, subjects);
      case 'dynamodb': return dynamoDbProbes(catalog, checked, subjects);
      case 'kms': return kmsProbes(catalog, checked);
      default: return perUserProbes(catalog, checked.perUserResources[catalog.service] ?? [], subjects);
    }
  });
}
