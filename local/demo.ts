import { s3Decision, type Decision } from './iam-decisions';
import { generateForeignKey } from './oidc-issuer';
import { startTestBed, type TestBed } from './test-bed';

/**
 * A one-minute tour of the whole flow on loopback: alice and bob sign in at a local issuer, the bundled
 * delegation handler (configured from the example stack) exchanges their id tokens for STS credentials
 * at the loopback STS, and a table shows which S3 requests each session may make under the role policy
 * the example stack synthesizes. Prints no token, assertion or secret.
 */

const DEMO_TIMEOUT_MS = 45_000;
const USERS = ['alice', 'bob'] as const;

interface S3Request {
  readonly label: string;
  readonly action: string;
  /** Object key, or the listed prefix for s3:ListBucket. */
  readonly key: string;
}

const REQUESTS: readonly S3Request[] = [
  { label: 'PutObject    users/alice/notes.txt', action: 's3:PutObject', key: 'users/alice/notes.txt' },
  { label: 'GetObject    users/alice/notes.txt', action: 's3:GetObject', key: 'users/alice/notes.txt' },
  { label: 'DeleteObject users/alice/notes.txt', action: 's3:DeleteObject', key: 'users/alice/notes.txt' },
  { label: 'ListBucket   prefix users/alice/', action: 's3:ListBucket', key: 'users/alice/' },
  { label: 'PutObject    users/bob/notes.txt', action: 's3:PutObject', key: 'users/bob/notes.txt' },
  { label: 'GetObject    users/bob/notes.txt', action: 's3:GetObject', key: 'users/bob/notes.txt' },
  { label: 'ListBucket   prefix users/bob/', action: 's3:ListBucket', key: 'users/bob/' },
  { label: 'GetObject    users/alicex/notes.txt', action: 's3:GetObject', key: 'users/alicex/notes.txt' },
  { label: 'ListBucket   prefix users/', action: 's3:ListBucket', key: 'users/' },
];

/** Runs `work` with stdout and stderr writes collected instead of printed (the handler logs one JSON line per request). */
async function collectingOutput<T>(work: () => Promise<T>): Promise<{ result: T; lines: string[] }> {
  const lines: string[] = [];
  const originals = [process.stdout.write, process.stderr.write] as const;
  const collect = ((chunk: string | Uint8Array) => {
    lines.push(...(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')).split('\n').filter((line) => line !== ''));
    return true;
  }) as typeof process.stdout.write;
  process.stdout.write = collect;
  process.stderr.write = collect;
  try {
    return { result: await work(), lines };
  } finally {
    [process.stdout.write, process.stderr.write] = originals;
  }
}

async function postDelegation(bed: TestBed, idToken: string): Promise<{ status: number; body: Record<string, any> }> {
  const response = await fetch(bed.server.url, {
    method: 'POST',
    headers: { 'Authorization': `Bearer ${idToken}`, 'Content-Type': 'application/json' },
    body: '{}',
  });
  return { status: response.status, body: await response.json() as Record<string, any> };
}

function decisionFor(bed: TestBed, subject: string, request: S3Request): Decision {
  return request.action === 's3:ListBucket'
    ? s3Decision(bed.rolePolicies, { action: request.action, resource: bed.bucketArn, subject, context: { 's3:prefix': request.key } })
    : s3Decision(bed.rolePolicies, { action: request.action, resource: `${bed.bucketArn}/${request.key}`, subject });
}

/** The S3 decision table, one row per request and one column per user. */
export function decisionTable(rows: ReadonlyArray<{ label: string; decisions: readonly Decision[] }>, users: readonly string[]): string {
  const width = Math.max(...rows.map((row) => row.label.length), 'request'.length) + 2;
  const cell = (decision: Decision) => (decision === 'Allowed' ? 'allowed' : 'denied').padEnd(10);
  return [
    `${'request'.padEnd(width)}${users.map((user) => user.padEnd(10)).join('')}`,
    ...rows.map((row) => `${row.label.padEnd(width)}${row.decisions.map(cell).join('')}`),
  ].map((line) => line.trimEnd()).join('\n');
}

/** Runs the demo; returns the process exit code. */
export async function runDemo(print: (line: string) => void = (line) => console.log(line)): Promise<number> {
  const started = Date.now();
  const bed = await startTestBed();
  try {
    print(`Local OIDC issuer:   ${bed.issuers[0].issuer}`);
    print(`Loopback STS:        ${bed.sts.endpoint}`);
    print(`Delegation endpoint: ${bed.server.url} (the bundled handler, configured from the example stack)`);
    print('');
    const subjects: string[] = [];
    for (const user of USERS) {
      const idToken = await bed.signIn(user);
      const { result, lines } = await collectingOutput(() => postDelegation(bed, idToken));
      if (result.status !== 200) {
        print(`${user}: the endpoint answered ${result.status} ${result.body.error ?? ''}`);
        return 1;
      }
      const outcome = (JSON.parse(lines.find((line) => line.startsWith('{')) ?? '{}') as { outcome?: string }).outcome;
      subjects.push(result.body.Subject);
      print(`${user.padEnd(6)} signed in -> HTTP 200, credentials ${String(result.body.Credentials.AccessKeyId).slice(0, 4)}… until ${result.body.Credentials.Expiration}`);
      print(`       session ${result.body.AssumedRoleUser.Arn}, saml:sub = ${result.body.Subject} (handler log outcome: ${outcome})`);
    }
    const forged = await bed.issuers[0].sign({ sub: 'alice' }, { key: await generateForeignKey() });
    const refused = (await collectingOutput(() => postDelegation(bed, forged))).result;
    print(`forged token (another key) -> HTTP ${refused.status} ${refused.body.error}; STS calls so far: ${bed.sts.calls.length}`);
    print('');
    print('Which S3 requests each session may make (the example stack\'s role policy, evaluated with iam-simulate):');
    print(decisionTable(REQUESTS.map((request) => ({
      label: request.label,
      decisions: subjects.map((subject) => decisionFor(bed, subject, request)),
    })), USERS));
    print('');
    print(`Done in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
    return 0;
  } finally {
    await bed.close();
  }
}

if (require.main === module) {
  const timer = setTimeout(() => {
    process.stderr.write(`demo did not finish within ${DEMO_TIMEOUT_MS / 1000} s\n`);
    process.exit(1);
  }, DEMO_TIMEOUT_MS);
  timer.unref();
  runDemo().then((code) => process.exit(code), (error: unknown) => {
    process.stderr.write(`demo failed: ${(error as Error).message}\n`);
    process.exit(1);
  });
}
