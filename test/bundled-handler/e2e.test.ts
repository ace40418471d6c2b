import { exampleStackTemplate } from '../../local/example-template';
import { s3Decision, type Decision } from '../../local/iam-decisions';
import { startTestBed, type TestBed } from '../../local/test-bed';
import { loadBundledHandler, logsOf } from '../support/handler-harness';

/**
 * The whole flow over real HTTP on 127.0.0.1: local OIDC issuer → API Gateway adapter → bundled handler
 * (configured from the synthesized example stack) → loopback STS loaded from the same template, then
 * what the issued session may do in S3 according to the synthesized role policy.
 */

const APP_ORIGIN = 'http://localhost:5173';

interface DelegationAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Record<string, any>;
  /** What the in-process handler logged while answering. */
  readonly logs: string;
}

/** POSTs to the local endpoint, keeping the handler's log lines out of the test output and returning them. */
interface DelegateOptions {
  readonly origin?: string;
  readonly body?: string;
  readonly contentType?: string;
  /** Send the token as `Authorization: Bearer`. @default true */
  readonly bearer?: boolean;
}

async function delegate(bed: TestBed, token: string, init: DelegateOptions = {}): Promise<DelegationAnswer> {
  const headers: Record<string, string> = { 'Content-Type': init.contentType ?? 'application/json' };
  if (init.bearer !== false) headers.Authorization = `Bearer ${token}`;
  if (init.origin) headers.Origin = init.origin;
  const { result, logs } = await logsOf(async () => {
    const response = await fetch(bed.server.url, { method: 'POST', headers, body: init.body ?? '{}' });
    return { status: response.status, headers: response.headers, body: await response.json() as Record<string, any> };
  });
  for (const secret of [token, 'SecretAccessKey', 'SessionToken', 'SAMLResponse', 'PRIVATE KEY']) {
    expect(logs).not.toContain(secret);
  }
  return { ...result, logs };
}

/** What a session whose `${saml:sub}` is `subject` may do, by the role policy of the synthesized stack. */
function s3(bed: TestBed, subject: string, action: string, key: string): Decision {
  if (action === 's3:ListBucket') {
    return s3Decision(bed.rolePolicies, { action, resource: bed.bucketArn, subject, context: { 's3:prefix': key } });
  }
  return s3Decision(bed.rolePolicies, { action, resource: `${bed.bucketArn}/${key}`, subject });
}

describe('one issuer', () => {
  let bed: TestBed;

  beforeAll(async () => {
    bed = await startTestBed({ template: exampleStackTemplate(), loadHandler: loadBundledHandler, allowedOrigins: [APP_ORIGIN] });
  });

  afterAll(async () => {
    await bed?.close();
  });

  test('alice exchanges her id token for STS credentials over HTTP, by an unsigned AssumeRoleWithSAML', async () => {
    const token = await bed.signIn('alice');
    const started = Date.now();
    const answer = await delegate(bed, token, { origin: APP_ORIGIN });
    const finished = Date.now();

    expect(answer.status).toBe(200);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(answer.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    const { Credentials, AssumedRoleUser, Subject, SubjectType, Issuer, Audience, SourceIdentity } = answer.body;
    expect(Credentials.AccessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(Credentials.SecretAccessKey).toMatch(/^[A-Za-z0-9+/]{40}$/);
    expect(Credentials.SessionToken.length).toBeGreaterThan(100);
    // One hour from the moment STS issued them, which lies within the request (to the second).
    const expiration = Date.parse(Credentials.Expiration);
    expect(expiration).toBeGreaterThanOrEqual(started + 3600_000 - 1000);
    expect(expiration).toBeLessThanOrEqual(finished + 3600_000 + 1000);
    expect(Subject).toBe('alice');
    expect(SubjectType).toBe('persistent');
    expect(Issuer).toBe(bed.loaded.providers[0].entityId);
    expect(Audience).toBe('https://signin.aws.amazon.com/saml');
    expect(SourceIdentity).toBe('alice');
    expect(AssumedRoleUser.Arn).toBe(`arn:aws:sts::123456789012:assumed-role/${bed.roleArn.split('/').pop()}/alice`);

    const issued = bed.sts.issued.find((session) => session.accessKeyId === Credentials.AccessKeyId);
    expect(issued).toMatchObject({ subject: 'alice', roleArn: bed.roleArn, providerArn: bed.loaded.providers[0].arn });
    expect(bed.sts.calls.every((call) => !call.signed)).toBe(true);

    expect(answer.logs).toContain('"outcome":"issued"');
    for (const secret of [Credentials.SecretAccessKey, Credentials.SessionToken]) {
      expect(answer.logs).not.toContain(secret);
    }
  });

  test('the Auth0 legacy form body is accepted too', async () => {
    const token = await bed.signIn('bob');
    const body = new URLSearchParams({
      client_id: bed.issuers[0].audience,
      grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      id_token: token,
      target: bed.issuers[0].audience,
      api_type: 'aws',
    }).toString();
    const answer = await delegate(bed, token, { bearer: false, contentType: 'application/x-www-form-urlencoded', body });
    expect(answer.status).toBe(200);
    expect(answer.body.Subject).toBe('bob');
  });

  test('the issued subjects reach exactly their own prefix under the synthesized role policy', async () => {
    const subjects: Record<string, string> = {};
    for (const user of ['alice', 'bob']) {
      const answer = await delegate(bed, await bed.signIn(user));
      expect(answer.status).toBe(200);
      subjects[user] = answer.body.Subject;
    }
    const alice = subjects.alice;
    expect(s3(bed, alice, 's3:PutObject', 'users/alice/photo.jpg')).toBe('Allowed');
    expect(s3(bed, alice, 's3:GetObject', 'users/alice/photo.jpg')).toBe('Allowed');
    expect(s3(bed, alice, 's3:DeleteObject', 'users/alice/photo.jpg')).toBe('Allowed');
    expect(s3(bed, alice, 's3:ListBucket', 'users/alice/')).toBe('Allowed');
    expect(s3(bed, alice, 's3:GetObject', 'users/bob/photo.jpg')).toBe('ImplicitlyDenied');
    expect(s3(bed, alice, 's3:PutObject', 'users/bob/photo.jpg')).toBe('ImplicitlyDenied');
    expect(s3(bed, alice, 's3:ListBucket', 'users/bob/')).toBe('ImplicitlyDenied');
    expect(s3(bed, alice, 's3:GetObject', 'users/alicex/photo.jpg')).toBe('ImplicitlyDenied');
    expect(s3(bed, alice, 's3:ListBucket', 'users/alicex/')).toBe('ImplicitlyDenied');
    expect(s3(bed, alice, 's3:ListBucket', 'users/')).toBe('ImplicitlyDenied');
    expect(s3(bed, alice, 's3:GetObject', 'alice/photo.jpg')).toBe('ImplicitlyDenied');
    expect(s3(bed, subjects.bob, 's3:PutObject', 'users/bob/notes.txt')).toBe('Allowed');
    expect(s3(bed, subjects.bob, 's3:GetObject', 'users/alice/photo.jpg')).toBe('ImplicitlyDenied');
  });

  test('a token signed by another key is refused with 401 and STS is never called', async () => {
    const callsBefore = bed.sts.calls.length;
    const { generateForeignKey } = await import('../../local/oidc-issuer');
    const forged = await bed.issuers[0].sign({ sub: 'alice' }, { key: await generateForeignKey() });
    const answer = await delegate(bed, forged);
    expect(answer.status).toBe(401);
    expect(answer.body.error).toBe('invalid_token');
    expect(answer.headers.get('www-authenticate')).toContain('invalid_token');
    expect(bed.sts.calls.length).toBe(callsBefore);
  });

  test('a subject STS would refuse as a RoleSessionName still gets credentials, with a derived session name', async () => {
    const answer = await delegate(bed, await bed.signIn('auth0|5f7c8ec7c33c6c004bbafe82'));
    expect(answer.status).toBe(200);
    expect(answer.body.Subject).toBe('auth0|5f7c8ec7c33c6c004bbafe82');
    const issued = bed.sts.issued.find((session) => session.accessKeyId === answer.body.Credentials.AccessKeyId)!;
    expect(issued.roleSessionName).toMatch(/^[A-Za-z0-9_=,.@+-]{2,64}$/);
    expect(s3(bed, answer.body.Subject, 's3:PutObject', 'users/auth0|5f7c8ec7c33c6c004bbafe82/a.txt')).toBe('Allowed');
  });

  test('the CORS preflight admits the app origin only', async () => {
    const preflight = (origin: string) => fetch(bed.server.url, {
      method: 'OPTIONS',
      headers: { 'Origin': origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization,content-type' },
    });
    const allowed = await preflight(APP_ORIGIN);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    expect(allowed.headers.get('access-control-allow-methods')).toBe('POST');
    expect(allowed.headers.get('access-control-allow-headers')).toBe('Authorization,Content-Type');
    const refused = await preflight('http://localhost:6666');
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    const post = await delegate(bed, await bed.signIn('alice'), { origin: 'http://localhost:6666' });
    expect(post.headers.get('access-control-allow-origin')).toBeNull();
  });

  test('other methods and paths get API Gateway\'s 403', async () => {
    expect((await fetch(bed.server.url)).status).toBe(403);
    expect((await fetch(`${bed.server.origin}/elsewhere`, { method: 'POST' })).status).toBe(403);
  });
});

describe('two issuers with namespaces', () => {
  let bed: TestBed;

  beforeAll(async () => {
    bed = await startTestBed({ template: exampleStackTemplate(), loadHandler: loadBundledHandler, issuers: [{ namespace: 'idp-a' }, { namespace: 'idp-b' }] });
  });

  afterAll(async () => {
    await bed?.close();
  });

  test('the same sub from two issuers lands in two different prefixes', async () => {
    const fromA = await delegate(bed, await bed.signIn('alice', 0));
    const fromB = await delegate(bed, await bed.signIn('alice', 1));
    expect(fromA.status).toBe(200);
    expect(fromB.status).toBe(200);
    expect(fromA.body.Subject).toBe('idp-a:alice');
    expect(fromB.body.Subject).toBe('idp-b:alice');
    expect(fromA.body.SourceIdentity).not.toBe(fromB.body.SourceIdentity);

    expect(s3(bed, fromA.body.Subject, 's3:PutObject', 'users/idp-a:alice/doc.txt')).toBe('Allowed');
    expect(s3(bed, fromA.body.Subject, 's3:GetObject', 'users/idp-b:alice/doc.txt')).toBe('ImplicitlyDenied');
    expect(s3(bed, fromB.body.Subject, 's3:PutObject', 'users/idp-b:alice/doc.txt')).toBe('Allowed');
    expect(s3(bed, fromB.body.Subject, 's3:GetObject', 'users/idp-a:alice/doc.txt')).toBe('ImplicitlyDenied');
    expect(s3(bed, fromA.body.Subject, 's3:GetObject', 'users/alice/doc.txt')).toBe('ImplicitlyDenied');
    expect(s3(bed, fromB.body.Subject, 's3:GetObject', 'users/alice/doc.txt')).toBe('ImplicitlyDenied');
  });
});
