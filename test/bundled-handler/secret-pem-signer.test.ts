import { generateKeyPairSync, verify } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SECRET_RETRY_INTERVAL_MS, SecretPemSigner } from '../../lambda/shared/secret-pem-signer';
import { startOidcIssuer, type LocalOidcIssuer } from '../../local/oidc-issuer';
import { startStsStub, type StsStub } from '../support/aws-stubs';
import {
  CLIENT_ID, apiGatewayEvent, awsTestEnvironment, captureOutput, delegationEnvironment, lambdaContext,
  loadBundledHandler, samlSignatureVerifies, setEnvironment, type DelegationHandler,
} from '../support/handler-harness';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:delegation-key-AbCdEf';
const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pem = keys.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();

/** A loopback Secrets Manager (JSON 1.1 protocol) answering GetSecretValue with a scripted reply. */
interface SecretsStub {
  readonly endpoint: string;
  readonly requests: Array<{ target: string; body: any }>;
  reply: { status: number; body: unknown };
  close(): Promise<void>;
}

async function startSecretsStub(): Promise<SecretsStub> {
  const requests: SecretsStub['requests'] = [];
  const stub = { reply: { status: 200, body: { ARN: SECRET_ARN, SecretString: pem } } } as { reply: SecretsStub['reply'] };
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => { body += chunk; });
    request.on('end', () => {
      requests.push({ target: String(request.headers['x-amz-target']), body: JSON.parse(body) });
      response.writeHead(stub.reply.status, { 'content-type': 'application/x-amz-json-1.1' });
      response.end(JSON.stringify(stub.reply.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(stub, {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

function clientFor(endpoint: string): SecretsManagerClient {
  return new SecretsManagerClient({
    region: 'eu-west-1',
    endpoint,
    maxAttempts: 1,
    credentials: { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-test-secret' },
  });
}

describe('SecretPemSigner', () => {
  let stub: SecretsStub;
  beforeEach(async () => { stub = await startSecretsStub(); });
  afterEach(() => stub.close());

  test('reads the secret once and signs with the key it holds', async () => {
    const signer = new SecretPemSigner(SECRET_ARN, clientFor(stub.endpoint));
    for (const message of ['one', 'two', 'three']) {
      const signature = await signer.sign(Buffer.from(message));
      expect(verify('sha256', Buffer.from(message), keys.publicKey, signature)).toBe(true);
    }
    expect(stub.requests).toEqual([{ target: 'secretsmanager.GetSecretValue', body: { SecretId: SECRET_ARN } }]);
  });

  test('a failed read fails the signature, is not retried within the interval, then is retried', async () => {
    let now = 1_000_000;
    stub.reply = { status: 400, body: { __type: 'ResourceNotFoundException', message: 'no such secret' } };
    const signer = new SecretPemSigner(SECRET_ARN, clientFor(stub.endpoint), () => now);
    await expect(signer.sign(Buffer.from('x'))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await expect(signer.sign(Buffer.from('x'))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    expect(stub.requests).toHaveLength(1);

    now += SECRET_RETRY_INTERVAL_MS;
    stub.reply = { status: 200, body: { ARN: SECRET_ARN, SecretString: pem } };
    const signature = await signer.sign(Buffer.from('x'));
    expect(verify('sha256', Buffer.from('x'), keys.publicKey, signature)).toBe(true);
    expect(stub.requests).toHaveLength(2);
  });

  test.each([
    ['no SecretString', { ARN: SECRET_ARN, SecretBinary: 'AAAA' }, /no SecretString/],
    ['a short RSA key', { ARN: SECRET_ARN, SecretString: generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() }, /at least 2048 bits/],
    ['no key at all', { ARN: SECRET_ARN, SecretString: 'not a key' }, /does not hold a usable key/],
  ])('refuses a secret with %s, without echoing it', async (_, body, message) => {
    stub.reply = { status: 200, body };
    const signer = new SecretPemSigner(SECRET_ARN, clientFor(stub.endpoint));
    const failure = await signer.sign(Buffer.from('x')).then(() => undefined, (error: Error) => error);
    expect(failure?.message).toMatch(message);
    expect(failure?.name).toBe('InvalidSecretContent');
    expect(failure?.message).not.toContain('BEGIN');
    expect(failure?.message).not.toContain('not a key');
  });
});

describe('the bundled handler with its key in Secrets Manager', () => {
  let stub: SecretsStub;
  let issuer: LocalOidcIssuer;
  let sts: StsStub;
  let restore: () => void;
  let handler: DelegationHandler;

  beforeAll(async () => {
    [stub, issuer, sts] = await Promise.all([
      startSecretsStub(), startOidcIssuer({ audience: CLIENT_ID, subject: 'alice' }), startStsStub(),
    ]);
    restore = setEnvironment({
      ...awsTestEnvironment({ sts: sts.endpoint }, { accessKeyId: 'AKIDLOCALTESTONLY000', secretAccessKey: 'local-test-secret' }),
      AWS_ENDPOINT_URL_SECRETS_MANAGER: stub.endpoint,
    });
    handler = loadBundledHandler(delegationEnvironment(issuer, { pem: pem }, {
      DELEGATION_SIGNING_KEY_PEM: undefined,
      DELEGATION_SIGNING_KEY_SECRET_ARN: SECRET_ARN,
    }));
  });

  afterAll(async () => {
    restore();
    await Promise.all([stub.close(), issuer.close(), sts.close()]);
  });

  const request = async () => handler(apiGatewayEvent({
    headers: { Authorization: `Bearer ${await issuer.sign({})}` },
  }), lambdaContext());

  test('a secret that cannot be read answers 503 with Retry-After and calls no STS', async () => {
    stub.reply = { status: 400, body: { __type: 'AccessDeniedException', message: 'not allowed' } };
    const { result, lines } = await captureOutput(request);
    expect(result.statusCode).toBe(503);
    expect(JSON.parse(result.body).error).toBe('temporarily_unavailable');
    expect(result.headers?.['Retry-After']).toBeDefined();
    expect(lines[0]).toMatchObject({ reason: expect.stringMatching(/^secretsmanager_/) });
    expect(sts.callCount).toBe(0);
  });

  test('once readable, the key from the secret signs the assertion STS receives', async () => {
    stub.reply = { status: 200, body: { ARN: SECRET_ARN, SecretString: pem } };
    // The failed read above is remembered for SECRET_RETRY_INTERVAL_MS; a fresh container reads again.
    handler = loadBundledHandler(delegationEnvironment(issuer, { pem: pem }, {
      DELEGATION_SIGNING_KEY_PEM: undefined,
      DELEGATION_SIGNING_KEY_SECRET_ARN: SECRET_ARN,
    }));
    stub.requests.length = 0;
    const first = await captureOutput(request);
    const second = await captureOutput(request);
    expect([first.result.statusCode, second.result.statusCode]).toEqual([200, 200]);
    expect(stub.requests).toHaveLength(1);
    expect(samlSignatureVerifies(sts.calls[sts.calls.length - 1].samlResponseXml, keys.publicKey)).toBe(true);
  });
});
