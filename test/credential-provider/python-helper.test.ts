import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parseServerArguments, startLocalServer, type RunningLocalServer } from '../../local/server';
import { exampleTemplateFile } from '../support/example-template-file';
import { loadBundledHandler, withoutLogs } from '../support/handler-harness';

/**
 * examples/python/token_delegation_credentials.py with Debian's python3-boto3 against the local command:
 * a boto3 S3 client whose refreshable credentials come from the endpoint puts and lists under alice's
 * prefix and is denied on bob's; a refresh window longer than the credentials' life makes botocore
 * exchange again for each request; an expired token and an endpoint that is down raise
 * TokenDelegationError with the endpoint's status and error.
 */

const SYSTEM_PYTHON = '/usr/bin/python3';
const HELPER_DIRECTORY = join(__dirname, '..', '..', 'examples', 'python');

const SCRIPT = `
import json, sys, urllib.request
sys.path.insert(0, sys.argv[1])
from botocore.config import Config
from botocore.exceptions import ClientError
from token_delegation_credentials import TokenDelegationError, exchange, token_delegation_session

endpoint, origin, s3_endpoint, bucket, closed_endpoint = sys.argv[2:7]
expired_token = sys.stdin.read().strip()
exchanges = {"alice": 0, "refreshing": 0}

def dev_token(counter):
    def id_token():
        exchanges[counter] += 1
        return json.load(urllib.request.urlopen(origin + "/dev/token?sub=alice"))["id_token"]
    return id_token

def s3_client(session):
    return session.client("s3", endpoint_url=s3_endpoint, config=Config(s3={"addressing_style": "path"}))

def outcome(work):
    try:
        work()
        return "allowed"
    except ClientError as error:
        return error.response["Error"]["Code"]

def failure(work):
    try:
        work()
        return "resolved"
    except TokenDelegationError as error:
        return {"status": error.status, "code": error.code, "description": error.description, "retryable": error.retryable,
                "message_has_token": expired_token in str(error)}

s3 = s3_client(token_delegation_session(endpoint, dev_token("alice"), region_name="us-east-1"))
s3.put_object(Bucket=bucket, Key="users/alice/python.txt", Body=b"from python")
keys = [item["Key"] for item in s3.list_objects_v2(Bucket=bucket, Prefix="users/alice/")["Contents"]]
on_bobs = outcome(lambda: s3.put_object(Bucket=bucket, Key="users/bob/python.txt", Body=b"x"))

refreshing = s3_client(token_delegation_session(endpoint, dev_token("refreshing"), region_name="us-east-1",
                                                refresh_before_expiry_seconds=7200))
for _ in range(3):
    refreshing.list_objects_v2(Bucket=bucket, Prefix="users/alice/")

print(json.dumps({
    "keys": keys,
    "on_bobs": on_bobs,
    "exchanges": exchanges,
    "expired": failure(lambda: exchange(endpoint, lambda: expired_token)),
    "down": failure(lambda: exchange(closed_endpoint, lambda: expired_token)),
}))
`;

let local: RunningLocalServer;

beforeAll(async () => {
  local = await startLocalServer(parseServerArguments(['--template', exampleTemplateFile(), '--port', '0']), (env) => withoutLogs(loadBundledHandler(env)));
}, 120_000);

afterAll(async () => {
  await local?.close();
});

test('boto3 with refreshable credentials from the endpoint: her prefix only, a refresh per request when the window exceeds the life, and the errors', async () => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const closedEndpoint = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/delegation`;
  await new Promise((resolve) => closed.close(resolve));
  const now = Math.floor(Date.now() / 1000);
  const expired = await local.testBed!.issuers[0].sign({ sub: 'alice', iat: now - 7200, exp: now - 3600 });
  const bucket = local.testBed!.buckets[0].name;
  const issuedBefore = local.testBed!.sts.issued.length;

  const args = ['-c', SCRIPT, HELPER_DIRECTORY, local.server.url, local.server.origin, local.testBed!.s3!.endpoint, bucket, closedEndpoint];
  // No AWS configuration of this machine's, and no __pycache__ left in examples/python/.
  const env = {
    PATH: '/usr/bin:/bin',
    HOME: '/nonexistent',
    PYTHONDONTWRITEBYTECODE: '1',
    AWS_CONFIG_FILE: '/nonexistent',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = execFile(SYSTEM_PYTHON, args, { env, timeout: 120_000 }, (error, out, err) => {
      if (error) reject(new Error(`python3 failed (${error.code ?? error.signal}):\n${out}\n${err}`));
      else resolve(out);
    });
    child.stdin!.end(expired);
  });

  expect(JSON.parse(stdout)).toEqual({
    keys: ['users/alice/python.txt'],
    on_bobs: 'AccessDenied',
    exchanges: { alice: 1, refreshing: 3 },
    expired: { status: 401, code: 'invalid_token', description: 'The token has expired', retryable: false, message_has_token: false },
    down: { status: 0, code: 'network_error', description: 'the endpoint could not be reached', retryable: true, message_has_token: false },
  });
  expect(local.testBed!.sts.issued.length - issuedBefore).toBe(4);
  expect(local.testBed!.s3!.objects.get(`${bucket}/users/alice/python.txt`)?.body.toString('utf8')).toBe('from python');
});
