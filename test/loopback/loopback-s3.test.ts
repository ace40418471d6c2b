import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { PolicyDocument } from '../../local/iam-decisions';
import { canonicalQuery, startLoopbackS3, type LoopbackS3 } from '../../local/s3-server';
import type { AssumeRoleWithSamlAnswer } from '../../local/sts-server';

/**
 * The loopback S3 stand-in, driven by the AWS SDK v3 (an independent SigV4 signer): only requests signed
 * with issued credentials and their session token pass, and then only what the session's role policy
 * allows for its `${saml:sub}`.
 */

const ROLE_ARN = 'arn:aws:iam::123456789012:role/UserRole';
const BUCKET = 'app-bucket';
const POLICY: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: `arn:aws:s3:::${BUCKET}/users/\${saml:sub}/*` },
    { Effect: 'Allow', Action: 's3:ListBucket', Resource: `arn:aws:s3:::${BUCKET}`, Condition: { StringLike: { 's3:prefix': ['users/${saml:sub}/*'] } } },
  ],
};
const ALICE = {
  accessKeyId: 'ASIAALICEALICEALICE1',
  secretAccessKey: 'alice-secret-made-up-for-this-test-only',
  sessionToken: 'alice-session-token-made-up-for-this-test-only',
};
let now = new Date();
let s3: LoopbackS3;

function answerFor(accessKeyId: string): AssumeRoleWithSamlAnswer | undefined {
  if (accessKeyId !== ALICE.accessKeyId) return undefined;
  return {
    secretAccessKey: ALICE.secretAccessKey,
    sessionToken: ALICE.sessionToken,
    session: { roleArn: ROLE_ARN, subject: 'alice', sessionTags: [] } as unknown as AssumeRoleWithSamlAnswer['session'],
  };
}

function client(credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } = ALICE): S3Client {
  return new S3Client({ region: 'eu-west-1', endpoint: s3.endpoint, forcePathStyle: true, credentials, maxAttempts: 1 });
}

async function errorName(work: Promise<unknown>): Promise<string> {
  try {
    await work;
  } catch (error) {
    return (error as Error).name;
  }
  return 'no error';
}

beforeAll(async () => {
  s3 = await startLoopbackS3({
    sts: { credentials: answerFor },
    roles: new Map([[ROLE_ARN, { policies: [POLICY] }]]),
    buckets: [BUCKET],
    allowedOrigins: [],
    now: () => now,
  });
});

afterAll(async () => {
  await s3?.close();
});

beforeEach(() => {
  now = new Date();
});

test('alice writes, reads and lists under her own prefix', async () => {
  await client().send(new PutObjectCommand({ Bucket: BUCKET, Key: 'users/alice/a b+c.txt', Body: 'hello' }));
  const read = await client().send(new GetObjectCommand({ Bucket: BUCKET, Key: 'users/alice/a b+c.txt' }));
  expect(await read.Body!.transformToString()).toBe('hello');
  const listed = await client().send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'users/alice/' }));
  expect(listed.Contents?.map((object) => object.Key)).toEqual(['users/alice/a b+c.txt']);
});

test.each([
  ['another user\'s object', new PutObjectCommand({ Bucket: BUCKET, Key: 'users/bob/x.txt', Body: 'x' })],
  ['a look-alike sibling prefix', new GetObjectCommand({ Bucket: BUCKET, Key: 'users/alicex/x.txt' })],
  ['the parent listing', new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'users/' })],
  ['a listing without prefix', new ListObjectsV2Command({ Bucket: BUCKET })],
])('the role policy refuses %s with AccessDenied', async (_name, command) => {
  expect(await errorName(client().send(command as never))).toBe('AccessDenied');
});

test.each([
  ['a wrong secret key', { ...ALICE, secretAccessKey: 'another-secret-made-up-for-this-test' }, 'SignatureDoesNotMatch'],
  ['an access key the STS never issued', { ...ALICE, accessKeyId: 'ASIANEVERISSUED00000' }, 'InvalidAccessKeyId'],
  ['another session token', { ...ALICE, sessionToken: 'another-session-token-made-up-for-this-test' }, 'InvalidToken'],
  ['no session token at all', { accessKeyId: ALICE.accessKeyId, secretAccessKey: ALICE.secretAccessKey }, 'AccessDenied'],
])('refuses a request signed with %s, storing nothing', async (_name, credentials, code) => {
  const key = `users/alice/refused-${code}.txt`;
  expect(await errorName(client(credentials).send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'x' })))).toBe(code);
  expect(s3.objects.has(`${BUCKET}/${key}`)).toBe(false);
});

test('refuses a request changed after signing: another key, or another body', async () => {
  const tampered = (change: 'path' | 'body') => {
    const tamperingClient = client();
    tamperingClient.middlewareStack.addRelativeTo((next: any) => async (args: any) => {
      if (change === 'path') args.request.path = args.request.path.replace('/users/alice/', '/users/alice/other-');
      // Same length, so Content-Length still fits.
      if (change === 'body') args.request.body = 'ORIGINAL';
      return next(args);
    }, { relation: 'after', toMiddleware: 'httpSigningMiddleware', name: 'tamper' });
    return tamperingClient.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'users/alice/t.txt', Body: 'original' }));
  };
  expect(await errorName(tampered('path'))).toBe('SignatureDoesNotMatch');
  expect(await errorName(tampered('body'))).toBe('XAmzContentSHA256Mismatch');
  expect([...s3.objects.keys()].filter((id) => id.includes('t.txt'))).toEqual([]);
});

test('refuses a signature made more than 15 minutes away from its clock', async () => {
  now = new Date(Date.now() + 16 * 60 * 1000);
  expect(await errorName(client().send(new GetObjectCommand({ Bucket: BUCKET, Key: 'users/alice/a b+c.txt' })))).toBe('RequestTimeTooSkewed');
});

test('answers NoSuchBucket for a bucket the template does not have, before looking at the signature', async () => {
  expect(await errorName(client({ ...ALICE, secretAccessKey: 'wrong-wrong-wrong-wrong' }).send(new GetObjectCommand({ Bucket: 'other', Key: 'users/alice/x' }))))
    .toBe('NoSuchBucket');
});

test('canonicalizes a query string as SigV4 does: decoded, RFC 3986-encoded, sorted by name then value', () => {
  expect(canonicalQuery('prefix=users%2Falice%2F&list-type=2&x-id=ListObjectsV2')).toBe('list-type=2&prefix=users%2Falice%2F&x-id=ListObjectsV2');
  expect(canonicalQuery('b=2&a=2&a=1&c')).toBe('a=1&a=2&b=2&c=');
  expect(canonicalQuery("k=it's%20(*)!")).toBe('k=it%27s%20%28%2A%29%21');
  expect(canonicalQuery('')).toBe('');
});
