import { sessionDecision, type Decision, type PolicyDocument } from './iam-decisions';
import {
  SUBJECT_VARIABLE, asList, limitsToOwnPartition, listingProbe, objectProbe, partitionProbe, policyStatements, shortDynamoDbResource,
  userPrefixGrants, type Probe,
} from './probes';

export { userPrefixGrants };

/**
 * What each signed-in user may do under the template's own policies: the S3 requests an app makes on
 * every per-user prefix the role grants (the user's own, another user's, a look-alike sibling, the parent
 * listing), the DynamoDB requests on every user's partition where the role admits only the user's own,
 * and every other concrete action the role allows, each evaluated with iam-simulate for that session's
 * `${saml:sub}` and session tags. Its requests are built by the same code as the isolation check's (local/probes.ts)
 * and decided by the same evaluator, so a row here is a probe there, with the same answer.
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
  /** The request each session was asked about: its action and context, and its resource per session. */
  readonly action: string;
  readonly context?: Readonly<Record<string, string | string[]>>;
  readonly resources: readonly string[];
}

interface Request {
  readonly label: string;
  readonly action: string;
  readonly resource: (subject: string) => string;
  readonly context?: Record<string, string | string[]>;
}

/** A row for a probe of the isolation check. */
function probeRequest(label: string, probe: Probe): Request {
  return { label, action: probe.action, resource: () => probe.resource, context: probe.context };
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
    const object = (action: string, key: string, owners: string[]): Request =>
      probeRequest(`${action.slice(3).padEnd(12)} ${where(key)}`, objectProbe(bucket, key, action, owners, key));
    const listing = (listPrefix: string, owners: string[]): Request =>
      probeRequest(`${'ListBucket'.padEnd(12)} ${where(`${listPrefix}`)} (prefix)`, listingProbe(bucket, listPrefix, 's3:ListBucket', owners, listPrefix));
    for (const subject of subjects) {
      requests.push(
        object('s3:PutObject', `${prefix}${subject}/notes.txt`, [subject]),
        object('s3:GetObject', `${prefix}${subject}/notes.txt`, [subject]),
        object('s3:DeleteObject', `${prefix}${subject}/notes.txt`, [subject]),
        listing(`${prefix}${subject}/`, [subject]),
      );
    }
    requests.push(object('s3:GetObject', `${prefix}${subjects[0]}x/notes.txt`, [`${subjects[0]}x`]), listing(prefix, []));
  }
  if (grants.length === 0) {
    for (const bucket of bucketNames) {
      requests.push(
        probeRequest(`${'GetObject'.padEnd(12)} ${bucket}/notes.txt`, objectProbe(bucket, 'notes.txt', 's3:GetObject', [], 'notes.txt')),
        probeRequest(`${'ListBucket'.padEnd(12)} ${bucket}`, listingProbe(bucket, undefined, 's3:ListBucket', [], bucket)),
      );
    }
  }
  return requests;
}

/**
 * DynamoDB requests on each user's partition, for statements that admit only the user's own
 * (`dynamodb:LeadingKeys` = `${saml:sub}`): every action on the table, Query on its indexes, each with
 * the partition key of every signed-in user, as a request for that user's items would carry it.
 */
function partitionRequests(policies: readonly PolicyDocument[], subjects: readonly string[]): Request[] {
  const requests = new Map<string, Request>();
  for (const statement of policyStatements(policies)) {
    if (statement.Effect !== 'Allow' || !limitsToOwnPartition(statement)) continue;
    for (const resource of asList(statement.Resource)) {
      const isIndex = resource.includes('/index/');
      for (const action of asList(statement.Action)) {
        if (action.includes('*') || (isIndex && action.toLowerCase() !== 'dynamodb:query')) continue;
        for (const owner of subjects) {
          const label = `${action.slice(action.indexOf(':') + 1).padEnd(12)} ${shortDynamoDbResource(resource)} (partition ${owner})`;
          requests.set(label, probeRequest(label, partitionProbe(resource.replace(/\*/g, 'example'), action, [owner], `${owner}'s partition`)));
        }
      }
    }
  }
  return [...requests.values()];
}

/** Concrete non-S3 actions the policies allow, each on its resources (`${saml:sub}` filled in per user). */
function otherRequests(policies: readonly PolicyDocument[]): Request[] {
  const requests = new Map<string, Request>();
  for (const statement of policyStatements(policies)) {
    if (statement.Effect !== 'Allow' || limitsToOwnPartition(statement)) continue;
    for (const action of asList(statement.Action)) {
      if (action.toLowerCase().startsWith('s3:') || action.includes('*')) continue;
      for (const resource of asList(statement.Resource)) {
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
    action: request.action,
    context: request.context,
    resources: sessions.map((session) => request.resource(session.subject)),
    decisions: sessions.map((session) => sessionDecision({ identity: policiesOf(session.roleArn) }, {
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
export function formatDecisionTable(rows: ReadonlyArray<Pick<DecisionRow, 'label' | 'decisions'>>, users: readonly string[]): string {
  const width = Math.max(...rows.map((row) => row.label.length), 'request'.length) + 2;
  const columns = users.map((user) => Math.max(user.length, 'allowed'.length) + 2);
  const cell = (decision: Decision, index: number) => (decision === 'Allowed' ? 'allowed' : 'denied').padEnd(columns[index]);
  return [
    `${'request'.padEnd(width)}${users.map((user, index) => user.padEnd(columns[index])).join('')}`,
    ...rows.map((row) => `${row.label.padEnd(width)}${row.decisions.map(cell).join('')}`),
  ].map((line) => line.trimEnd()).join('\n');
}
