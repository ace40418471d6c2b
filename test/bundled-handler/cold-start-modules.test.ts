import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startOidcIssuer, type LocalOidcIssuer } from '../../local/oidc-issuer';
import { startKmsStub, startStsStub, type KmsStub, type StsStub } from '../support/aws-stubs';
import { BUNDLE_PATH, CLIENT_ID, KMS_KEY_ARN, apiGatewayEvent, awsTestEnvironment, delegationEnvironment } from '../support/handler-harness';

/**
 * What a cold start loads, in a fresh Node.js process as a Lambda container is: the bundled handler with
 * the deployed configuration (KMS signer) answers its first request, which fetches the issuer's keys,
 * without ever loading Node's fetch implementation (undici), whose load is a large part of a cold start.
 * Two things would load it: a WHATWG `Headers` (jose's createRemoteJWKSet makes one; the handler has its
 * own remote key set), and the first `import()` of a CommonJS process, which starts Node's ESM loader
 * (the AWS SDK imports node:http that way; the bundle task turns every import() into a require()).
 */

/** Requires the bundle, serves one event, and reports on stderr which undici modules Node loaded. */
const CHILD = `
if (process.env.TOUCH_HEADERS === 'true') new Headers();
const { handler } = require(process.env.COLD_BUNDLE);
handler(JSON.parse(process.env.COLD_EVENT), { awsRequestId: 'cold', getRemainingTimeInMillis: () => 10000 }).then((response) => {
  const undici = process.moduleLoadList.filter((name) => name.includes('undici'));
  process.stderr.write(JSON.stringify({ status: response.statusCode, undici }) + '\\n');
});
`;

let issuer: LocalOidcIssuer;
let sts: StsStub;
let kms: KmsStub;

beforeAll(async () => {
  issuer = await startOidcIssuer({ audience: CLIENT_ID });
  sts = await startStsStub();
  kms = await startKmsStub({ keyId: KMS_KEY_ARN, privateKey: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey });
});

afterAll(async () => {
  await Promise.all([issuer.close(), sts.close(), kms.close()]);
});

function coldStart(extra: Record<string, string> = {}): Promise<{ status: number; undici: string[] }> {
  return issuer.sign().then((token) => new Promise((resolve, reject) => {
    const env = {
      PATH: process.env.PATH,
      ...delegationEnvironment(issuer, { kmsKeyArn: KMS_KEY_ARN }),
      ...awsTestEnvironment({ sts: sts.endpoint, kms: kms.endpoint }, { accessKeyId: 'AKIACOLDSTARTTEST000', secretAccessKey: 'cold-start-test-secret' }),
      COLD_BUNDLE: BUNDLE_PATH,
      COLD_EVENT: JSON.stringify(apiGatewayEvent({ headers: { Authorization: `Bearer ${token}` } })),
      ...extra,
    };
    execFile(process.execPath, ['-e', CHILD], { env: Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined)) as NodeJS.ProcessEnv, timeout: 60_000 }, (error, _stdout, stderr) => {
      const report = stderr.split('\n').find((line) => line.startsWith('{"status"'));
      if (error || report === undefined) {
        reject(error ?? new Error(`no report from the cold start: ${stderr.slice(0, 500)}`));
      } else {
        resolve(JSON.parse(report) as { status: number; undici: string[] });
      }
    });
  }));
}

test('the first request of a fresh process is answered without loading undici', async () => {
  const report = await coldStart();
  expect(report.status).toBe(200);
  expect(kms.callCount).toBe(1);
  expect(sts.callCount).toBe(1);
  expect(report.undici).toEqual([]);
});

test('control: a process whose code touches the global Headers does load undici, and the check sees it', async () => {
  const report = await coldStart({ TOUCH_HEADERS: 'true' });
  expect(report.status).toBe(200);
  expect(report.undici.length).toBeGreaterThan(0);
});

test('neither Lambda bundle keeps an import(), whose first call would start the ESM loader', () => {
  for (const bundle of ['delegation', 'certificate']) {
    const code = readFileSync(join(__dirname, '..', '..', 'assets', 'lambda', bundle, 'index.js'), 'utf8');
    expect({ bundle, dynamicImports: code.match(/\bimport\(/g) ?? [] }).toEqual({ bundle, dynamicImports: [] });
  }
});
