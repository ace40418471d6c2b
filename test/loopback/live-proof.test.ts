import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { App } from 'aws-cdk-lib';
import { Template as CdkTemplate } from 'aws-cdk-lib/assertions';
import type { LambdaFunctionURLEvent, LambdaFunctionURLResult } from 'aws-lambda';
import { createLocalJWKSet, exportJWK, jwtVerify } from 'jose';
import { logicalIdsOfType, resolveIntrinsics, type Template } from '../../local/cloudformation';
import { startDelegationServer, type DelegationServer } from '../../local/http-adapter';
import { rolePolicies } from '../../local/iam-decisions';
import { startLoopbackS3, type LoopbackS3 } from '../../local/s3-server';
import { loadFromTemplate, startLoopbackSts, type LoopbackSts } from '../../local/sts-server';
import { handlerEnvironmentFromTemplate, localHandlerEnvironment, loopbackAwsEnvironment } from '../../local/test-bed';
import { DISCOVERY_PATH, ISSUER_KEY_ARN_ENV, JWKS_PATH, PROVER_ENV } from '../live-proof/contract';
import { ALICE, BOB, EXPECTED_FACTS, type ProverEvent, type ProverFacts } from '../live-proof/facts';
import { keyIdOf, kmsDigestSigner, kmsPublicKey, mintIdToken, publicJwk } from '../live-proof/id-token';
import { createIssuerHandler, type IssuerHandler } from '../live-proof/issuer';
import { createProver, type ProverConfig, type ProverDependencies } from '../live-proof/prover';
import { LIVE_PROOF_AUDIENCE, LIVE_PROOF_USER_PREFIX, liveProofStack } from '../live-proof/stack';
import { kmsStubClient, startKmsStub, type KmsStub } from '../support/aws-stubs';
import { setEnvironment, loadBundledHandler, logsOf } from '../support/handler-harness';

/**
 * The live proof's own code, on loopback: the test issuer (JWKS from kms:GetPublicKey, tokens from
 * kms:Sign) against a loopback KMS, and the prover bundle, as deployed, driving the bundled delegation
 * handler configured from the live proof's synthesized stack, the loopback STS, and a loopback S3 that
 * decides with iam-simulate on the stack's role policy. What only AWS can show (S3's own answer, IAM
 * propagation, function URLs, API Gateway) is left to the integ test.
 */

const PROVER_BUNDLE = join(__dirname, '..', 'live-proof', 'bundles', 'prover', 'index.js');
const ISSUER_BUNDLE = join(__dirname, '..', 'live-proof', 'bundles', 'issuer', 'index.js');
const FUNCTION_URL = 'https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws/';
const JWT_SHAPE = /eyJ[\w-]{8,}\.eyJ[\w-]{8,}/;

function urlEvent(method: string, rawPath: string, domainName = 'abcdefghijklmnopqrstuvwxyz012345.lambda-url.eu-west-1.on.aws'): LambdaFunctionURLEvent {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString: '',
    headers: {},
    isBase64Encoded: false,
    requestContext: {
      accountId: 'anonymous',
      apiId: domainName.split('.')[0],
      domainName,
      domainPrefix: domainName.split('.')[0],
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
      requestId: 'request',
      routeKey: '$default',
      stage: '$default',
      time: '01/Dec/2026:00:00:00 +0000',
      timeEpoch: 0,
    },
  };
}

function bodyOf(result: LambdaFunctionURLResult): any {
  return JSON.parse((result as { body: string }).body);
}

/** Serves an issuer handler on 127.0.0.1 the way a function URL calls it. */
async function serveIssuer(handler: IssuerHandler): Promise<{ server: Server; url: string }> {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    handler(urlEvent(request.method ?? 'GET', path, String(request.headers.host))).then((result) => {
      const answer = result as { statusCode: number; headers: Record<string, string>; body: string };
      response.writeHead(answer.statusCode, answer.headers).end(answer.body);
    }, () => response.writeHead(502).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}

function rsaKey(): KeyObject {
  return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
}

const synthesized = (() => {
  let template: Template | undefined;
  return (): Template => {
    template ??= CdkTemplate.fromStack(liveProofStack(new App()).stack).toJSON() as Template;
    return template;
  };
})();

describe('the live proof stack', () => {
  test('gives the endpoint the test issuer\'s function URL as issuer and its JWKS under it, resolved at deploy', () => {
    const template = synthesized();
    const [urlId] = logicalIdsOfType(template, 'AWS::Lambda::Url');
    const environment = handlerEnvironmentFromTemplate(template, { resources: { [urlId]: { FunctionUrl: FUNCTION_URL } } });
    const [issuer, ...others] = JSON.parse(environment.DELEGATION_ISSUERS);
    expect(others).toEqual([]);
    expect(issuer).toMatchObject({
      issuer: FUNCTION_URL,
      jwksUri: `${FUNCTION_URL}.well-known/jwks.json`,
      audiences: [LIVE_PROOF_AUDIENCE],
      algorithms: ['RS256'],
      namespace: '',
    });
  });

  test('deletes every key, bucket and log group with the stack; only API Gateway\'s account logging role stays', () => {
    const template = synthesized() as Template & { Resources: Record<string, { DeletionPolicy?: string }> };
    const kept = Object.values(template.Resources).filter((resource) => (resource.DeletionPolicy ?? 'Delete') !== 'Delete').map((resource) => resource.Type);
    expect(kept.sort()).toEqual(['AWS::ApiGateway::Account', 'AWS::IAM::Role']);
    expect(logicalIdsOfType(template, 'AWS::KMS::Key')).toHaveLength(2);
    expect(logicalIdsOfType(template, 'Custom::S3AutoDeleteObjects')).toHaveLength(1);
  });

  test('lets the prover sign with the issuer key and nothing else: no S3 permission of its own', () => {
    const template = synthesized();
    const proverId = logicalIdsOfType(template, 'AWS::Lambda::Function').find((id) => id.startsWith('Prover'))!;
    const roleRef = (template.Resources[proverId].Properties!.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const statements = rolePolicies(template, roleRef).flatMap((policy) => policy.Statement as Array<{ Action: string | string[] }>);
    const actions = statements.flatMap((statement) => [statement.Action].flat()).sort();
    expect(actions).toEqual(['kms:Sign']);
    const environment = template.Resources[proverId].Properties!.Environment as { Variables: Record<string, unknown> };
    expect(Object.keys(environment.Variables).sort()).toEqual(Object.values(PROVER_ENV).sort());
  });
});

describe('the test issuer', () => {
  const keyArn = 'arn:aws:kms:us-east-1:123456789012:key/0d3f6c1e-0000-4000-8000-000000000001';
  let privateKey: KeyObject;
  let kms: KmsStub;

  beforeAll(async () => {
    privateKey = rsaKey();
    kms = await startKmsStub({
      keys: new Map([[keyArn, privateKey], [`${keyArn}-encrypt`, privateKey]]),
      keyDetails: new Map([[`${keyArn}-encrypt`, { keyUsage: 'ENCRYPT_DECRYPT' }]]),
    });
  });

  afterAll(async () => {
    await kms?.close();
  });

  test('publishes the KMS key\'s public half as the one JWKS entry, and tokens signed by kms:Sign verify against it with jose', async () => {
    const handler = createIssuerHandler({ keyArn, publicKey: () => kmsPublicKey(kmsStubClient(kms.endpoint), keyArn) });
    const answer = await handler(urlEvent('GET', JWKS_PATH));
    expect(answer).toMatchObject({ statusCode: 200, headers: { 'Content-Type': 'application/json' } });
    const jwks = bodyOf(answer);
    const expectedJwk = await exportJWK(createPublicKey(privateKey));
    expect(jwks).toEqual({ keys: [{ kty: 'RSA', n: expectedJwk.n, e: expectedJwk.e, kid: keyIdOf(keyArn), alg: 'RS256', use: 'sig' }] });

    const issuer = 'https://issuer.example/';
    const token = await mintIdToken({ issuer, audience: 'client', subject: ALICE, keyId: keyIdOf(keyArn), issuedAt: 1_900_000_000 }, kmsDigestSigner(kmsStubClient(kms.endpoint), keyArn));
    const verified = await jwtVerify(token, createLocalJWKSet(jwks), {
      issuer,
      audience: 'client',
      algorithms: ['RS256'],
      currentDate: new Date(1_900_000_010_000),
    });
    expect(verified.protectedHeader).toEqual({ alg: 'RS256', typ: 'JWT', kid: '0d3f6c1e-0000-4000-8000-000000000001' });
    expect(verified.payload).toEqual({ iss: issuer, aud: 'client', sub: ALICE, iat: 1_900_000_000, exp: 1_900_000_300 });
    expect(kms.calls.find((call) => call.operation === 'Sign')?.body).toMatchObject({ MessageType: 'DIGEST', SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256' });
  });

  test('a token altered after signing, or expired, does not verify against the JWKS', async () => {
    const jwks = { keys: [publicJwk(createPublicKey(privateKey).export({ format: 'der', type: 'spki' }), 'k')] };
    const token = await mintIdToken({ issuer: 'https://i/', audience: 'c', subject: ALICE, keyId: 'k', issuedAt: 1_900_000_000 }, kmsDigestSigner(kmsStubClient(kms.endpoint), keyArn));
    const [header, , signature] = token.split('.');
    const altered = `${header}.${Buffer.from(JSON.stringify({ iss: 'https://i/', aud: 'c', sub: BOB, iat: 1_900_000_000, exp: 1_900_000_300 })).toString('base64url')}.${signature}`;
    const options = { issuer: 'https://i/', audience: 'c', currentDate: new Date(1_900_000_010_000) };
    await expect(jwtVerify(altered, createLocalJWKSet(jwks), options)).rejects.toMatchObject({ code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
    await expect(jwtVerify(token, createLocalJWKSet(jwks), { ...options, currentDate: new Date(1_900_001_000_000) })).rejects.toMatchObject({ code: 'ERR_JWT_EXPIRED' });
  });

  test('serves the discovery document with its own https URL as issuer, taken from the request host', async () => {
    const handler = createIssuerHandler({ keyArn, publicKey: () => kmsPublicKey(kmsStubClient(kms.endpoint), keyArn) });
    const answer = await handler(urlEvent('GET', DISCOVERY_PATH, 'abc123.lambda-url.eu-west-1.on.aws'));
    expect(answer).toMatchObject({ statusCode: 200 });
    expect(bodyOf(answer)).toEqual({
      issuer: 'https://abc123.lambda-url.eu-west-1.on.aws/',
      jwks_uri: 'https://abc123.lambda-url.eu-west-1.on.aws/.well-known/jwks.json',
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
    });
  });

  test('answers 405 to anything but GET and 404 to other paths, without reading the key', async () => {
    const publicKey = jest.fn(() => kmsPublicKey(kmsStubClient(kms.endpoint), keyArn));
    const handler = createIssuerHandler({ keyArn, publicKey });
    expect(await handler(urlEvent('POST', JWKS_PATH))).toMatchObject({ statusCode: 405, headers: { Allow: 'GET' } });
    expect(await handler(urlEvent('GET', '/token'))).toMatchObject({ statusCode: 404 });
    expect(await handler(urlEvent('GET', '/.well-known/jwks.json/'))).toMatchObject({ statusCode: 404 });
    expect(publicKey).not.toHaveBeenCalled();
  });

  test('answers 503 while KMS fails, reads the key again on the next request, then caches it', async () => {
    let failures = 1;
    const publicKey = jest.fn(async () => {
      if (failures-- > 0) throw new Error('KMS unavailable');
      return kmsPublicKey(kmsStubClient(kms.endpoint), keyArn);
    });
    const handler = createIssuerHandler({ keyArn, publicKey });
    const failed = await handler(urlEvent('GET', JWKS_PATH));
    expect(failed).toMatchObject({ statusCode: 503, headers: { 'Cache-Control': 'no-store' } });
    expect(bodyOf(failed)).toEqual({ error: 'temporarily_unavailable' });
    expect(await handler(urlEvent('GET', JWKS_PATH))).toMatchObject({ statusCode: 200 });
    expect(await handler(urlEvent('GET', JWKS_PATH))).toMatchObject({ statusCode: 200 });
    expect(publicKey).toHaveBeenCalledTimes(2);
  });

  test('refuses a key that is not an RSA signing key, and a key ARN without a key id', async () => {
    await expect(kmsPublicKey(kmsStubClient(kms.endpoint), `${keyArn}-encrypt`)).rejects.toThrow('not an RSA SIGN_VERIFY key');
    const ecKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' });
    expect(() => publicJwk(ecKey, 'k')).toThrow('must be RSA, got EC');
    expect(() => keyIdOf('')).toThrow('does not end in a key id');
    expect(() => keyIdOf('arn:aws:kms:us-east-1:123456789012:key/a b')).toThrow('does not end in a key id');
  });

  test('the bundled issuer, as deployed, reads its key ARN from the environment and the key from KMS', async () => {
    const restore = setEnvironment({
      [ISSUER_KEY_ARN_ENV]: keyArn,
      ...loopbackAwsEnvironment('http://127.0.0.1:9'),
      AWS_ENDPOINT_URL_KMS: kms.endpoint,
      AWS_ACCESS_KEY_ID: 'AKIDLOOPBACKISSUER',
      AWS_SECRET_ACCESS_KEY: 'loopback-issuer-secret',
    });
    try {
      let bundled: { handler: IssuerHandler } | undefined;
      jest.isolateModules(() => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        bundled = require(ISSUER_BUNDLE);
      });
      const answer = await bundled!.handler(urlEvent('GET', JWKS_PATH));
      expect(answer).toMatchObject({ statusCode: 200 });
      expect(bodyOf(answer).keys).toEqual([expect.objectContaining({ kid: keyIdOf(keyArn), kty: 'RSA' })]);
    } finally {
      restore();
    }
  });
});

describe('the prover on loopback', () => {
  let template: Template;
  let sts: LoopbackSts;
  let kms: KmsStub;
  let s3: LoopbackS3;
  let userRoleArn: string;
  let delegation: DelegationServer;
  let issuer: { server: Server; url: string };
  let config: ProverConfig;
  let restoreAws: () => void;

  beforeAll(async () => {
    template = synthesized();
    sts = await startLoopbackSts();
    const loaded = await loadFromTemplate(sts, template);
    const [keyId] = logicalIdsOfType(template, 'AWS::KMS::Key').filter((id) => id.startsWith('TestIssuerKey'));
    const issuerKeyArn = resolveIntrinsics(template, { 'Fn::GetAtt': [keyId, 'Arn'] }, loaded.deployment) as string;
    kms = await startKmsStub({ keys: new Map([[issuerKeyArn, rsaKey()]]) });
    issuer = await serveIssuer(createIssuerHandler({
      keyArn: issuerKeyArn,
      publicKey: () => kmsPublicKey(kmsStubClient(kms.endpoint), issuerKeyArn),
      issuerOf: () => issuer.url,
    }));
    const handlerEnvironment = localHandlerEnvironment(handlerEnvironmentFromTemplate(template, loaded.deployment), {
      issuers: [{ issuer: issuer.url, jwksUri: `${issuer.url}${JWKS_PATH.slice(1)}`, audience: LIVE_PROOF_AUDIENCE, namespace: '' }],
      signingKeyPem: loaded.signingKeyPem,
    });
    restoreAws = setEnvironment(loopbackAwsEnvironment(sts.endpoint));
    delegation = await startDelegationServer({ handler: loadBundledHandler(handlerEnvironment), allowedOrigins: [] });

    const [bucketId] = logicalIdsOfType(template, 'AWS::S3::Bucket');
    const bucketName = resolveIntrinsics(template, { Ref: bucketId }, loaded.deployment) as string;
    userRoleArn = loaded.roles[0].arn;
    s3 = await startLoopbackS3({
      sts,
      roles: new Map([[userRoleArn, { policies: rolePolicies(template, loaded.roles[0].logicalId) }]]),
      buckets: [bucketName],
      allowedOrigins: [],
    });
    config = {
      issuerUrl: issuer.url,
      issuerKeyArn,
      audience: LIVE_PROOF_AUDIENCE,
      delegationUrl: delegation.url,
      bucketName,
      userPrefix: LIVE_PROOF_USER_PREFIX,
    };
  });

  afterAll(async () => {
    await delegation?.close();
    await s3?.close();
    await kms?.close();
    await sts?.close();
    await new Promise<void>((resolve) => (issuer ? issuer.server.close(() => resolve()) : resolve()));
    restoreAws?.();
  });

  /** The prover bundle, as deployed: configured by its environment, AWS clients on the loopback endpoints. */
  async function runBundledProver(event: ProverEvent): Promise<{ facts: ProverFacts; logs: string }> {
    const restore = setEnvironment({
      [PROVER_ENV.ISSUER_URL]: config.issuerUrl,
      [PROVER_ENV.ISSUER_KEY_ARN]: config.issuerKeyArn,
      [PROVER_ENV.AUDIENCE]: config.audience,
      [PROVER_ENV.DELEGATION_URL]: config.delegationUrl,
      [PROVER_ENV.BUCKET_NAME]: config.bucketName,
      [PROVER_ENV.USER_PREFIX]: config.userPrefix,
      AWS_ENDPOINT_URL_KMS: kms.endpoint,
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_ACCESS_KEY_ID: 'AKIDLOOPBACKPROVER',
      AWS_SECRET_ACCESS_KEY: 'loopback-prover-secret',
    });
    try {
      let bundled: { handler: (event: ProverEvent) => Promise<ProverFacts> } | undefined;
      jest.isolateModules(() => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        bundled = require(PROVER_BUNDLE);
      });
      const { result, logs } = await logsOf(() => bundled!.handler(event));
      return { facts: result, logs };
    } finally {
      restore();
    }
  }

  function proverFrom(source: Partial<ProverConfig> = {}, dependencies: Partial<ProverDependencies> = {}) {
    return createProver({ ...config, ...source }, {
      sign: kmsDigestSigner(kmsStubClient(kms.endpoint), config.issuerKeyArn),
      s3ClientFor: (credentials) => new S3Client({ region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials, maxAttempts: 1 }),
      sleep: async () => {},
      ...dependencies,
    });
  }

  function expectNothingSecret(facts: ProverFacts, logs: string): void {
    const text = JSON.stringify(facts);
    for (const session of sts.issued) {
      expect(text).not.toContain(session.accessKeyId);
      expect(logs).not.toContain(session.accessKeyId);
    }
    expect(text).not.toMatch(JWT_SHAPE);
    expect(logs).not.toMatch(JWT_SHAPE);
    for (const secret of ['SecretAccessKey', 'SessionToken', 'SAMLResponse', 'PRIVATE KEY']) {
      expect(logs).not.toContain(secret);
    }
  }

  test('own-prefix: alice gets credentials and writes and reads users/alice/ (the facts the integ test expects)', async () => {
    const { facts, logs } = await runBundledProver({ scenario: 'own-prefix', subject: ALICE });
    expect(facts).toEqual(EXPECTED_FACTS['own-prefix']);
    expect(s3.calls.filter((call) => call.key === 'users/alice/live-proof.txt').map((call) => [call.method, call.subject, call.status]))
      .toEqual([['PUT', ALICE, 200], ['GET', ALICE, 200]]);
    expectNothingSecret(facts, logs);
  });

  test('cross-user: bob\'s object under users/bob/ can be neither overwritten nor read by alice, and bob still reads it', async () => {
    const before = s3.calls.length;
    const { facts, logs } = await runBundledProver({ scenario: 'cross-user', subject: ALICE, otherSubject: BOB });
    expect(facts).toEqual(EXPECTED_FACTS['cross-user']);
    expect(s3.calls.slice(before).map((call) => [call.method, call.key, call.subject, call.outcome])).toEqual([
      ['PUT', 'users/bob/live-proof.txt', BOB, 'ok'],
      ['PUT', 'users/bob/live-proof.txt', ALICE, 'AccessDenied'],
      ['GET', 'users/bob/live-proof.txt', ALICE, 'AccessDenied'],
      ['GET', 'users/bob/live-proof.txt', BOB, 'ok'],
    ]);
    expect(s3.objects.get(`${config.bucketName}/users/bob/live-proof.txt`)?.body.toString()).toBe('belongs to bob');
    expectNothingSecret(facts, logs);
  });

  test('refusals: a token signed by another key and one for another client id get 401 and never reach STS', async () => {
    const stsCalls = sts.calls.length;
    const { facts, logs } = await runBundledProver({ scenario: 'refusals', subject: ALICE });
    expect(facts).toEqual(EXPECTED_FACTS.refusals);
    expect(sts.calls.length).toBe(stsCalls);
    expectNothingSecret(facts, logs);
  });

  test('a role policy that reached other users\' prefixes would fail the cross-user expectation', async () => {
    const permissive = await startLoopbackS3({
      sts,
      roles: new Map([[userRoleArn, { policies: [{ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] }] }]]),
      buckets: [config.bucketName],
      allowedOrigins: [],
    });
    try {
      const prover = proverFrom({}, {
        s3ClientFor: (credentials) => new S3Client({ region: 'us-east-1', endpoint: permissive.endpoint, forcePathStyle: true, credentials, maxAttempts: 1 }),
      });
      const { result: facts } = await logsOf(() => prover({ scenario: 'cross-user', subject: ALICE, otherSubject: BOB }));
      expect(facts).toMatchObject({ intruder: { putOther: 'ok', getOther: 'ok' } });
      expect(facts).not.toEqual(EXPECTED_FACTS['cross-user']);
    } finally {
      await permissive.close();
    }
  });

  test('an endpoint that refuses the token: the facts say 401 invalid_token, S3 is skipped, and nothing is retried', async () => {
    const fetchSpy = jest.fn(fetch);
    const { result: facts } = await logsOf(() => proverFrom({ audience: 'another-client' }, { fetch: fetchSpy })({ scenario: 'own-prefix', subject: ALICE }));
    expect(facts).toEqual({
      scenario: 'own-prefix',
      exchange: { status: 401, error: 'invalid_token' },
      putOwn: 'skipped',
      getOwn: 'skipped',
      sameContent: false,
    });
    expect(facts).not.toEqual(EXPECTED_FACTS['own-prefix']);
    expect(fetchSpy).toHaveBeenCalledTimes(1);
  });

  test('a 403 (IAM still propagating) is retried six times with a fresh token each, then reported', async () => {
    const authorizations: string[] = [];
    const refusing: typeof fetch = async (_url, init) => {
      authorizations.push(String((init?.headers as Record<string, string>).Authorization));
      return new Response(JSON.stringify({ error: 'access_denied' }), { status: 403 });
    };
    const sleep = jest.fn(async () => {});
    let clock = 1_900_000_000;
    const facts = await proverFrom({}, { fetch: refusing, sleep, now: () => clock++ })({ scenario: 'own-prefix', subject: ALICE });
    expect(facts).toMatchObject({ exchange: { status: 403, error: 'access_denied' }, putOwn: 'skipped' });
    expect(authorizations).toHaveLength(6);
    expect(new Set(authorizations).size).toBe(6);
    expect(sleep).toHaveBeenCalledTimes(5);
    expect(sleep).toHaveBeenCalledWith(5_000);
  });

  test('a 200 without complete credentials is reported as malformed and S3 is skipped', async () => {
    const incomplete: typeof fetch = async () => new Response(
      JSON.stringify({ Credentials: { AccessKeyId: 'ASIAEXAMPLE' }, Subject: ALICE }),
      { status: 200, headers: { 'Cache-Control': 'no-store' } },
    );
    const facts = await proverFrom({}, { fetch: incomplete })({ scenario: 'own-prefix', subject: ALICE });
    expect(facts).toEqual({
      scenario: 'own-prefix',
      exchange: { status: 200, subject: ALICE, noStore: true, credentials: 'malformed' },
      putOwn: 'skipped',
      getOwn: 'skipped',
      sameContent: false,
    });
  });

  test('S3 errors other than AccessDenied are reported by their code', async () => {
    const { result: facts } = await logsOf(() => proverFrom({ bucketName: 'no-such-bucket' })({ scenario: 'own-prefix', subject: ALICE }));
    expect(facts).toMatchObject({ exchange: { status: 200 }, putOwn: 'NoSuchBucket', getOwn: 'NoSuchBucket', sameContent: false });
  });

  test('a bad event, and an exception, are answered by name only', async () => {
    const prover = proverFrom({}, { sign: async () => { throw new RangeError(`signing failed for ${'x'.repeat(40)}`); } });
    expect(await prover({ scenario: 'nonsense' as never, subject: ALICE })).toEqual({ scenario: 'unknown', failure: 'bad_event' });
    expect(await prover({ scenario: 'own-prefix', subject: '' })).toEqual({ scenario: 'unknown', failure: 'bad_event' });
    expect(await prover(undefined as never)).toEqual({ scenario: 'unknown', failure: 'bad_event' });
    expect(await prover({ scenario: 'cross-user', subject: ALICE })).toEqual({ scenario: 'unknown', failure: 'bad_event' });
    expect(await prover({ scenario: 'cross-user', subject: ALICE, otherSubject: ALICE })).toEqual({ scenario: 'unknown', failure: 'bad_event' });
    expect(await prover({ scenario: 'own-prefix', subject: ALICE })).toEqual({ scenario: 'own-prefix', failure: 'RangeError' });
  });
});
