import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { KMSClient } from '@aws-sdk/client-kms';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { ACCESS_DENIED_RETRY_DELAYS_MS, handleCertificateEvent } from '../../lambda/certificate';
import { startKmsStub, type KmsStub } from '../support/aws-stubs';

/**
 * The certificate custom resource's handler against the loopback KMS: a permission that IAM has not
 * applied yet (a rotation grants the new key in the same deployment) is waited for, anything else fails.
 */

const KEY_ARN = 'arn:aws:kms:eu-west-1:123456789012:key/0000000c-0000-4000-8000-000000000000';
const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
let kms: KmsStub;
let client: KMSClient;

beforeAll(async () => {
  kms = await startKmsStub({ keyId: KEY_ARN, privateKey: keys.privateKey });
  client = new KMSClient({
    endpoint: kms.endpoint,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'AKIACERTIFICATETEST0', secretAccessKey: 'certificate-test-secret' },
    maxAttempts: 1,
  });
});

afterAll(async () => {
  client.destroy();
  await kms.close();
});

beforeEach(() => kms.reset());

const createEvent = {
  RequestType: 'Create',
  ResourceProperties: { ServiceToken: 'token', KeyArn: KEY_ARN, SubjectCommonName: 'cdk-token-delegation SAML signing', ValidityDays: '30' },
} as unknown as CloudFormationCustomResourceEvent;
const denied = { status: 400, code: 'AccessDeniedException', message: 'not authorized yet' };

test('an AccessDeniedException is retried after waiting, and the certificate is made once IAM has applied the permission', async () => {
  kms.replyWith(denied, denied);
  const waits: number[] = [];
  const made = await handleCertificateEvent(createEvent, () => client, { sleep: async (ms) => void waits.push(ms) });

  expect(waits).toEqual(ACCESS_DENIED_RETRY_DELAYS_MS.slice(0, 2));
  const certificate = new X509Certificate(Buffer.from(made.Data!.CertificateBase64, 'base64'));
  expect(certificate.publicKey.export({ type: 'spki', format: 'der' })).toEqual(keys.publicKey.export({ type: 'spki', format: 'der' }));
  expect(kms.calls.map((call) => call.operation)).toEqual(['GetPublicKey', 'GetPublicKey', 'GetPublicKey', 'Sign']);
});

test('a permission still missing after every wait fails the resource, with KMS\'s error', async () => {
  kms.replyWith(...Array.from({ length: ACCESS_DENIED_RETRY_DELAYS_MS.length + 1 }, () => denied));
  const waits: number[] = [];
  await expect(handleCertificateEvent(createEvent, () => client, { sleep: async (ms) => void waits.push(ms) }))
    .rejects.toMatchObject({ name: 'AccessDeniedException' });
  expect(waits).toEqual([...ACCESS_DENIED_RETRY_DELAYS_MS]);
  expect(ACCESS_DENIED_RETRY_DELAYS_MS.reduce((sum, ms) => sum + ms, 0)).toBeLessThan(60_000);
});

test('other failures are not retried: a key that does not exist fails at once', async () => {
  const waits: number[] = [];
  const missing = { ...createEvent, ResourceProperties: { ...createEvent.ResourceProperties, KeyArn: KEY_ARN.replace('0000000c', '0000000d') } } as CloudFormationCustomResourceEvent;
  await expect(handleCertificateEvent(missing, () => client, { sleep: async (ms) => void waits.push(ms) }))
    .rejects.toMatchObject({ name: 'NotFoundException' });
  expect(waits).toEqual([]);
  expect(kms.callCount).toBe(1);
});
