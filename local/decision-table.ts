import { s3Decision, type Decision, type PolicyDocument } from './iam-decisions';

/**
 * What each signed-in user may do under the template's own policies: the S3 requests an app makes on
 * every per-user prefix the role grants (the user's own, another user's, a look-alike sibling, the parent
 * listing), the DynamoDB requests on every user's partition where the role admits only the user's own,
 * and every other concrete action the role allows, each evaluated with iam-simulate for that session's
 * `${saml:sub}` and session tags.
 */

/** One signed-in user as the delegation endpoint answered. */
export interface SignedInSession {
  readonly user: string;
  /** The local issuer that signed the user in (one per issuer of the template, in order). @default 0 */
  readonly issuerIndex?: number;
  /** `${saml:sub}` (the answer's `Subject`). */
  readonly subject: string;
  readonly roleArn: string;
  readonly sessionTags: ReadonlyArray<{ readonly key: string; readonly value: string }>;
}

export interface DecisionRow {
  readonly label: string;
  readonly decisions: readonly Decision[];
}

interface Request {
  readonly label: string;
  readonly action: string;
  readonly resource: (subject: string) => string;
  readonly context?: Record<string, string | string[]>;
}

const SUBJECT_VARIABLE = '${saml:sub}';
const S3_OBJECT_ARN = /^arn:aws[a-z-]*:s3:::([^/]+)\/(.*)$/;

function statements(policies: readonly PolicyDocument[]): Array<Record<string, unknown>> {
  return policies.flatMap((policy) => (Array.isArray(policy.Statement) ? policy.Statement : [policy.Statement]) as Array<Record<string, unknown>>);
}

function list(value: unknown): string[] {
  return value === undefined ? [] : (Array.isArray(value) ? value : [value]).map(String);
}

/** The `(bucket, prefix)` pairs of object resources like `arn:aws:s3:::bucket/users/${saml:sub}/*`. */
export function userPrefixGrants(policies: readonly PolicyDocument[]): Array<{ bucket: string; prefix: string }> {
  const found = new Map<string, { bucket: string; prefix: string }>();
  for (const statement of statements(policies)) {
    if (statement.Effect !== 'Allow') continue;
    for (const resource of list(statement.Resource)) {
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

function s3Requests(
  grants: ReadonlyArray<{ bucket: string; prefix: string }>,
  subjects: readonly string[],
  bucketNames: readonly string[],
): Request[] {
  const requests: Request[] = [];
  const named = grants.length > 1;
  for (const { bucket, prefix } of grants) {
    const where = (key: string) => (named ? `${bucket}/${key}` : key);
    const object = (action: string, key: string): Request => ({
      label: `${action.slice(3).padEnd(12)} ${where(key)}`, action, resource: () => `arn:aws:s3:::${bucket}/${key}`,
    });
    const listing = (listPrefix: string): Request => ({
      label: `${'ListBucket'.padEnd(12)} ${where(`${listPrefix}`)} (prefix)`, action: 's3:ListBucket', resource: () => `arn:aws:s3:::${bucket}`, context: { 's3:prefix': listPrefix },
    });
    for (const subject of subjects) {
      requests.push(
        object('s3:PutObject', `${prefix}${subject}/notes.txt`),
        object('s3:GetObject', `${prefix}${subject}/notes.txt`),
        object('s3:DeleteObject', `${prefix}${subject}/notes.txt`),
        listing(`${prefix}${subject}/`),
      );
    }
    requests.push(object('s3:GetObject', `${prefix}${subjects[0]}x/notes.txt`), listing(prefix));
  }
  if (grants.length === 0) {
    for (const bucket of bucketNames) {
      requests.push(
        { label: `${'GetObject'.padEnd(12)} ${bucket}/notes.txt`, action: 's3:GetObject', resource: () => `arn:aws:s3:::${bucket}/notes.txt` },
        { label: `${'ListBucket'.padEnd(12)} ${bucket}`, action: 's3:ListBucket', resource: () => `arn:aws:s3:::${bucket}` },
      );
    }
  }
  return requests;
}

/** Whether a statement limits DynamoDB requests to the user's own partition (`dynamodb:LeadingKeys` = `${saml:sub}`). */
function limitsToOwnPartition(statement: Record<string, unknown>): boolean {
  const condition = statement.Condition as Record<string, Record<string, unknown>> | undefined;
  return Object.values(condition ?? {}).some((keys) => Object.entries(keys ?? {})
    .some(([key, value]) => key.toLowerCase() === 'dynamodb:leadingkeys' && list(value).includes(SUBJECT_VARIABLE)));
}

/** `table/Notes` or `table/Notes/index/byDate` of a DynamoDB ARN; other ARNs unchanged. */
function shortDynamoDbResource(resource: string): string {
  return /^arn:aws[a-z-]*:dynamodb:[^:]*:[^:]*:(table\/.+)$/.exec(resource)?.[1] ?? resource;
}

/**
 * DynamoDB requests on each user's partition, for statements that admit only the user's own
 * (`dynamodb:LeadingKeys` = `${saml:sub}`): every action on the table, Query on its indexes, each with
 * the partition key of every signed-in user, as a request for that user's items would carry it.
 */
function partitionRequests(policies: readonly PolicyDocument[], subjects: readonly string[]): Request[] {
  const requests = new Map<string, Request>();
  for (const statement of statements(policies)) {
    if (statement.Effect !== 'Allow' || !limitsToOwnPartition(statement)) continue;
    for (const resource of list(statement.Resource)) {
      const isIndex = resource.includes('/index/');
      for (const action of list(statement.Action)) {
        if (action.includes('*') || (isIndex && action.toLowerCase() !== 'dynamodb:query')) continue;
        for (const owner of subjects) {
          const label = `${action.slice(action.indexOf(':') + 1).padEnd(12)} ${shortDynamoDbResource(resource)} (partition ${owner})`;
          requests.set(label, {
            label,
            action,
            resource: () => resource.replace(/\*/g, 'example'),
            context: { 'dynamodb:LeadingKeys': [owner] },
          });
        }
      }
    }
  }
  return [...requests.values()];
}

/** Concrete non-S3 actions the policies allow, each on its resources (`${saml:sub}` filled in per user). */
function otherRequests(policies: readonly PolicyDocument[]): Request[] {
  const requests = new Map<string, Request>();
  for (const statement of statements(policies)) {
    if (statement.Effect !== 'Allow' || limitsToOwnPartition(statement)) continue;
    for (const action of list(statement.Action)) {
      if (action.toLowerCase().startsWith('s3:') || action.includes('*')) continue;
      for (const resource of list(statement.Resource)) {
        const label = `${action} ${resource}`;
        requests.set(label, { label, action, resource: (subject) => resource.split(SUBJECT_VARIABLE).join(subject).replace(/\*/g, 'example') });
      }
    }
  }
  return [...requests.values()];
}

/** The rows of the table: one per request, one decision per session, in order. */
export function decisionRows(
  sessions: readonly SignedInSession[],
  policiesOf: (roleArn: string) => readonly PolicyDocument[],
  bucketNames: readonly string[],
): DecisionRow[] {
  const allPolicies = [...new Set(sessions.map((session) => session.roleArn))].flatMap((arn) => policiesOf(arn));
  const subjects = sessions.map((session) => session.subject);
  const requests = [
    ...s3Requests(userPrefixGrants(allPolicies), subjects, bucketNames),
    ...partitionRequests(allPolicies, subjects),
    ...otherRequests(allPolicies),
  ];
  return requests.map((request) => ({
    label: request.label,
    decisions: sessions.map((session) => s3Decision([...policiesOf(session.roleArn)], {
      action: request.action,
      resource: request.resource(session.subject),
      subject: session.subject,
      roleArn: session.roleArn,
      context: {
        ...Object.fromEntries(session.sessionTags.map((tag) => [`aws:PrincipalTag/${tag.key}`, tag.value])),
        ...request.context,
      },
    })),
  }));
}

/** The table as text: one row per request and one column per user. */
export function formatDecisionTable(rows: readonly DecisionRow[], users: readonly string[]): string {
  const width = Math.max(...rows.map((row) => row.label.length), 'request'.length) + 2;
  const columns = users.map((user) => Math.max(user.length, 'allowed'.length) + 2);
  const cell = (decision: Decision, index: number) => (decision === 'Allowed' ? 'allowed' : 'denied').padEnd(columns[index]);
  return [
    `${'request'.padEnd(width)}${users.map((user, index) => user.padEnd(columns[index])).join('')}`,
    ...rows.map((row) => `${row.label.padEnd(width)}${row.decisions.map(cell).join('')}`),
  ].map((line) => line.trimEnd()).join('\n');
}
