import { execFile } from 'node:child_process';
import { createHash, generateKeyPairSync, X509Certificate, type KeyObject } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import * as pkijs from 'pkijs';
import { buildSelfSignedCertificate, randomSerialNumber } from '../../lambda/certificate/certificate';
import { onEvent } from '../../lambda/certificate/index';
import { PemSigner } from '../../lambda/shared/pem-signer';
import type { Signer } from '../../lambda/shared/signer';
import { startKmsStub, type KmsStub } from '../support/aws-stubs';

const execFileAsync = promisify(execFile);
const DAY_MS = 24 * 60 * 60 * 1000;

const rsa2048 = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signer = pemSignerFor(rsa2048.privateKey);
const spki = spkiDer(rsa2048.publicKey);

function pemSignerFor(privateKey: KeyObject): Signer {
  return new PemSigner(privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
}

function spkiDer(publicKey: KeyObject): Uint8Array {
  return new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }));
}

function extensionsOf(der: Uint8Array): pkijs.Extension[] {
  return pkijs.Certificate.fromBER(der).extensions ?? [];
}

async function opensslOnCertificate(der: Uint8Array, args: (pemPath: string) => string[]): Promise<{ ok: boolean; output: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'certificate-test-'));
  try {
    const pemPath = join(dir, 'cert.pem');
    await writeFile(pemPath, new X509Certificate(der).toString());
    const { stdout, stderr } = await execFileAsync('openssl', args(pemPath), { timeout: 60_000 });
    return { ok: true, output: stdout + stderr };
  } catch (error) {
    const failure = error as { stdout?: string; stderr?: string };
    return { ok: false, output: `${failure.stdout ?? ''}${failure.stderr ?? ''}` };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('buildSelfSignedCertificate', () => {
  const notBefore = new Date('2026-03-01T12:00:00.000Z');

  test('makes a self-signed RSA certificate that verifies with its own key, with the subject and validity asked for', async () => {
    const certificate = await buildSelfSignedCertificate({
      subjectPublicKeyInfoDer: spki, commonName: 'cdk-token-delegation SAML signing', signer, notBefore, validityDays: 30,
    });
    const x509 = new X509Certificate(certificate.der);

    expect(x509.verify(x509.publicKey)).toBe(true);
    expect(x509.publicKey.asymmetricKeyType).toBe('rsa');
    expect(x509.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(x509.publicKey.equals(rsa2048.publicKey)).toBe(true);
    expect(x509.subject).toBe('CN=cdk-token-delegation SAML signing');
    expect(x509.issuer).toBe(x509.subject);
    expect(x509.ca).toBe(false);
    expect(new Date(x509.validFrom)).toEqual(notBefore);
    expect(new Date(x509.validTo)).toEqual(new Date(notBefore.getTime() + 30 * DAY_MS));
    expect(certificate.notBefore).toEqual(notBefore);
    expect(certificate.fingerprintSha256).toBe(createHash('sha256').update(certificate.der).digest('hex'));
    expect(x509.fingerprint256.replace(/:/g, '').toLowerCase()).toBe(certificate.fingerprintSha256);
  });

  test('defaults to a ten-year validity starting an hour ago, truncated to whole seconds', async () => {
    const before = Date.now();
    const certificate = await buildSelfSignedCertificate({ subjectPublicKeyInfoDer: spki, commonName: 'idp', signer });
    const x509 = new X509Certificate(certificate.der);
    const validFrom = new Date(x509.validFrom).getTime();

    expect(validFrom % 1000).toBe(0);
    expect(validFrom).toBeGreaterThanOrEqual(Math.floor((before - 60 * 60 * 1000) / 1000) * 1000);
    expect(validFrom).toBeLessThanOrEqual(Date.now() - 60 * 60 * 1000);
    expect(new Date(x509.validTo).getTime() - validFrom).toBe(3650 * DAY_MS);
  });

  test('uses a random, positive 16-byte serial number', async () => {
    const serials = await Promise.all([1, 2].map(async () =>
      new X509Certificate((await buildSelfSignedCertificate({ subjectPublicKeyInfoDer: spki, commonName: 'idp', signer })).der).serialNumber));
    for (const serial of serials) {
      expect(serial).toMatch(/^[4-7][0-9A-F]{31}$/);
    }
    expect(serials[0]).not.toBe(serials[1]);
    for (let i = 0; i < 50; i++) {
      const serial = randomSerialNumber();
      expect(serial).toHaveLength(16);
      expect(serial[0]).toBeGreaterThanOrEqual(0x40);
      expect(serial[0]).toBeLessThan(0x80);
    }
  });

  test('carries basicConstraints CA:false, critical keyUsage digitalSignature and subjectKeyIdentifier, each once', async () => {
    const { der } = await buildSelfSignedCertificate({ subjectPublicKeyInfoDer: spki, commonName: 'idp', signer, notBefore });
    const extensions = extensionsOf(der);

    expect(extensions.map((extension) => [extension.extnID, extension.critical])).toEqual([
      ['2.5.29.19', true],
      ['2.5.29.15', true],
      ['2.5.29.14', false],
    ]);
    const [basicConstraints, keyUsage, subjectKeyIdentifier] = extensions.map((extension) =>
      Buffer.from(extension.extnValue.valueBlock.valueHexView).toString('hex'));
    expect(basicConstraints).toBe('3000');
    expect(keyUsage).toBe('03020780');
    const rsaPublicKey = pkijs.Certificate.fromBER(der).subjectPublicKeyInfo.subjectPublicKey.valueBlock.valueHexView;
    expect(subjectKeyIdentifier).toBe(`0414${createHash('sha1').update(rsaPublicKey).digest('hex')}`);

    const text = await opensslOnCertificate(der, (pemPath) => ['x509', '-in', pemPath, '-noout', '-text']);
    expect(text.ok).toBe(true);
    expect(text.output).toContain('Version: 3 (0x2)');
    expect(text.output).toMatch(/Signature Algorithm: sha256WithRSAEncryption[\s\S]*Signature Algorithm: sha256WithRSAEncryption/);
    expect(text.output).toMatch(/X509v3 Basic Constraints: critical\s+CA:FALSE/);
    expect(text.output).toMatch(/X509v3 Key Usage: critical\s+Digital Signature\n/);
    expect(text.output.match(/X509v3 (?!extensions)/g)).toHaveLength(3);
  });

  test('passes openssl verify with itself as the trust anchor', async () => {
    const { der } = await buildSelfSignedCertificate({ subjectPublicKeyInfoDer: spki, commonName: 'idp', signer });
    const result = await opensslOnCertificate(der, (pemPath) => ['verify', '-x509_strict', '-check_ss_sig', '-CAfile', pemPath, pemPath]);
    expect(result).toEqual({ ok: true, output: expect.stringContaining(': OK') });
  });

  test('a tampered certificate no longer verifies', async () => {
    const { der } = await buildSelfSignedCertificate({ subjectPublicKeyInfoDer: spki, commonName: 'idp-one', signer });
    const subjectTampered = Buffer.from(der);
    const nameAt = subjectTampered.indexOf('idp-one');
    subjectTampered.write('x', nameAt + 4);
    const signatureTampered = Buffer.from(der);
    const signatureByte = signatureTampered.length - 10;
    signatureTampered[signatureByte] = (signatureTampered[signatureByte] + 1) % 256;

    for (const tampered of [subjectTampered, signatureTampered]) {
      const x509 = new X509Certificate(tampered);
      expect(x509.verify(x509.publicKey)).toBe(false);
    }
    const result = await opensslOnCertificate(signatureTampered, (pemPath) => ['verify', '-check_ss_sig', '-CAfile', pemPath, pemPath]);
    expect(result.ok).toBe(false);
  });

  test('writes UTCTime through 2049 and GeneralizedTime from 2050, as RFC 5280 requires', async () => {
    const { der } = await buildSelfSignedCertificate({
      subjectPublicKeyInfoDer: spki, commonName: 'idp', signer, notBefore: new Date('2045-06-01T00:00:00.999Z'), validityDays: 3650,
    });
    const certificate = pkijs.Certificate.fromBER(der);
    expect([certificate.notBefore.type, certificate.notAfter.type]).toEqual([pkijs.TimeType.UTCTime, pkijs.TimeType.GeneralizedTime]);
    const x509 = new X509Certificate(der);
    expect(new Date(x509.validFrom)).toEqual(new Date('2045-06-01T00:00:00Z'));
    expect(new Date(x509.validTo)).toEqual(new Date('2055-05-30T00:00:00Z'));
  });

  test('refuses a non-RSA public key', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await expect(buildSelfSignedCertificate({ subjectPublicKeyInfoDer: spkiDer(ec.publicKey), commonName: 'idp', signer }))
      .rejects.toThrow('Public key must be RSA (1.2.840.113549.1.1.1), got algorithm 1.2.840.10045.2.1');
    await expect(buildSelfSignedCertificate({ subjectPublicKeyInfoDer: new Uint8Array([1, 2, 3]), commonName: 'idp', signer }))
      .rejects.toThrow('Public key is not a DER SubjectPublicKeyInfo');
  });

  test('refuses a signer whose key is not the certificate\'s key', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await expect(buildSelfSignedCertificate({ subjectPublicKeyInfoDer: spki, commonName: 'idp', signer: pemSignerFor(other.privateKey) }))
      .rejects.toThrow('the signer holds a different key');
  });

  test.each([
    ['zero days', { validityDays: 0 }, 'Certificate validity must be a whole number of days between 1 and 36500, got 0'],
    ['a fractional number of days', { validityDays: 1.5 }, 'got 1.5'],
    ['more than 36500 days', { validityDays: 36501 }, 'got 36501'],
    ['an empty common name', { commonName: '' }, 'Certificate common name must be 1 to 64 characters, got 0'],
    ['a 65-character common name', { commonName: 'x'.repeat(65) }, 'got 65'],
    ['a negative serial number', { serialNumber: new Uint8Array([0x80, 1]) }, 'Certificate serial number must be a positive, minimally encoded integer'],
    ['a serial number with a superfluous leading zero', { serialNumber: new Uint8Array([0x00, 0x01]) }, 'minimally encoded'],
    ['a 21-byte serial number', { serialNumber: new Uint8Array(21).fill(1) }, 'at most 20 bytes'],
    ['an invalid notBefore', { notBefore: new Date('not a date') }, 'Certificate notBefore is not a valid date'],
  ])('refuses %s', async (_case, options, message) => {
    await expect(buildSelfSignedCertificate({ subjectPublicKeyInfoDer: spki, commonName: 'idp', signer, ...options }))
      .rejects.toThrow(message);
  });
});

describe('certificate custom resource onEvent', () => {
  const account = 'arn:aws:kms:eu-west-1:111122223333:key';
  const rsaKeyArn = `${account}/11111111-1111-1111-1111-111111111111`;
  const rsa4096KeyArn = `${account}/44444444-4444-4444-4444-444444444444`;
  const eccKeyArn = `${account}/eeeeeeee-eeee-eeee-eeee-eeeeeeeeeeee`;
  const encryptionKeyArn = `${account}/dddddddd-dddd-dddd-dddd-dddddddddddd`;
  const rsa4096 = generateKeyPairSync('rsa', { modulusLength: 4096 });
  let kms: KmsStub;
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    kms = await startKmsStub({
      keys: new Map([
        [rsaKeyArn, rsa2048.privateKey],
        [rsa4096KeyArn, rsa4096.privateKey],
        [eccKeyArn, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey],
        [encryptionKeyArn, rsa2048.privateKey],
      ]),
      keyDetails: new Map([
        [rsa4096KeyArn, { keySpec: 'RSA_4096' }],
        [eccKeyArn, { keySpec: 'ECC_NIST_P256' }],
        [encryptionKeyArn, { keyUsage: 'ENCRYPT_DECRYPT' }],
      ]),
    });
    // The handler's client is built from the environment, as in Lambda.
    Object.assign(process.env, {
      AWS_REGION: 'eu-west-1',
      AWS_ENDPOINT_URL_KMS: kms.endpoint,
      AWS_ACCESS_KEY_ID: 'AKIDLOOPBACK',
      AWS_SECRET_ACCESS_KEY: 'loopback-secret',
      AWS_MAX_ATTEMPTS: '1',
    });
  });
  afterAll(async () => {
    process.env = savedEnv;
    await kms.close();
  });
  beforeEach(() => kms.calls.splice(0));

  function event(requestType: 'Create' | 'Update' | 'Delete', properties: Record<string, string>): CloudFormationCustomResourceEvent {
    const common = {
      ServiceToken: 'arn:aws:lambda:eu-west-1:111122223333:function:provider',
      ResponseURL: 'https://cloudformation-custom-resource-response.invalid/',
      StackId: 'arn:aws:cloudformation:eu-west-1:111122223333:stack/test/1',
      RequestId: 'request-1',
      LogicalResourceId: 'SigningCertificate',
      ResourceType: 'Custom::DelegationSigningCertificate',
      ResourceProperties: { ServiceToken: 'arn:aws:lambda:eu-west-1:111122223333:function:provider', ...properties },
    };
    if (requestType === 'Create') {
      return { ...common, RequestType: 'Create' };
    }
    const physical = { PhysicalResourceId: `${rsaKeyArn}/0123456789abcdef` };
    return requestType === 'Update'
      ? { ...common, ...physical, RequestType: 'Update', OldResourceProperties: { ...common.ResourceProperties } }
      : { ...common, ...physical, RequestType: 'Delete' };
  }

  test.each(['Create', 'Update'] as const)('%s returns the KMS key\'s certificate as one-line base64 DER and its fingerprint', async (requestType) => {
    const response = await onEvent(event(requestType, { KeyArn: rsaKeyArn, SubjectCommonName: 'my-idp', ValidityDays: '400' }));

    const base64 = response.Data!.CertificateBase64;
    expect(base64).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
    const der = Buffer.from(base64, 'base64');
    const fingerprint = createHash('sha256').update(der).digest('hex');
    expect(response).toEqual({
      PhysicalResourceId: `${rsaKeyArn}/${fingerprint.slice(0, 16)}`,
      Data: { CertificateBase64: base64, FingerprintSha256: fingerprint },
    });
    const x509 = new X509Certificate(der);
    expect(x509.publicKey.equals(rsa2048.publicKey)).toBe(true);
    expect(x509.verify(x509.publicKey)).toBe(true);
    expect(x509.subject).toBe('CN=my-idp');
    expect(new Date(x509.validTo).getTime() - new Date(x509.validFrom).getTime()).toBe(400 * DAY_MS);

    expect(kms.calls.map((call) => call.operation)).toEqual(['GetPublicKey', 'Sign']);
    expect(kms.calls[0].body).toEqual({ KeyId: rsaKeyArn });
    expect(kms.calls[1].body).toMatchObject({ KeyId: rsaKeyArn, MessageType: 'DIGEST', SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256' });
  });

  test('defaults to ten years and stays far below the 4 KB response limit even for RSA_4096', async () => {
    const response = await onEvent(event('Create', { KeyArn: rsa4096KeyArn, SubjectCommonName: 'cdk-token-delegation SAML signing' }));
    const x509 = new X509Certificate(Buffer.from(response.Data!.CertificateBase64, 'base64'));

    expect(x509.publicKey.asymmetricKeyDetails?.modulusLength).toBe(4096);
    expect(x509.verify(x509.publicKey)).toBe(true);
    expect(new Date(x509.validTo).getTime() - new Date(x509.validFrom).getTime()).toBe(3650 * DAY_MS);
    expect(JSON.stringify(response).length).toBeLessThan(2500);
  });

  test('refuses an ECC key before asking KMS to sign', async () => {
    await expect(onEvent(event('Create', { KeyArn: eccKeyArn, SubjectCommonName: 'idp' })))
      .rejects.toThrow(`KMS key ${eccKeyArn} must have KeySpec RSA_2048, RSA_3072, RSA_4096 (RSASSA-PKCS1-v1_5 SHA-256 signing), got ECC_NIST_P256`);
    expect(kms.calls.map((call) => call.operation)).toEqual(['GetPublicKey']);
  });

  test('refuses an RSA key whose usage is not SIGN_VERIFY', async () => {
    await expect(onEvent(event('Update', { KeyArn: encryptionKeyArn, SubjectCommonName: 'idp' })))
      .rejects.toThrow(`KMS key ${encryptionKeyArn} must have KeyUsage SIGN_VERIFY, got ENCRYPT_DECRYPT`);
    expect(kms.calls.map((call) => call.operation)).toEqual(['GetPublicKey']);
  });

  test('propagates KMS errors such as an unknown key', async () => {
    await expect(onEvent(event('Create', { KeyArn: `${account}/missing`, SubjectCommonName: 'idp' })))
      .rejects.toMatchObject({ name: 'NotFoundException' });
  });

  test.each([
    ['a missing KeyArn', { SubjectCommonName: 'idp' }, 'KeyArn must be the ARN of a KMS key'],
    ['a missing SubjectCommonName', { KeyArn: rsaKeyArn }, 'SubjectCommonName must be a non-empty string'],
    ['a non-numeric ValidityDays', { KeyArn: rsaKeyArn, SubjectCommonName: 'idp', ValidityDays: 'ten years' }, 'ValidityDays must be a whole number of days, got \'ten years\''],
    ['a zero ValidityDays', { KeyArn: rsaKeyArn, SubjectCommonName: 'idp', ValidityDays: '0' }, 'between 1 and 36500, got 0'],
  ])('refuses %s without calling KMS', async (_case, properties, message) => {
    const call = onEvent(event('Create', properties as Record<string, string>));
    await expect(call).rejects.toThrow(message);
    expect(kms.calls).toEqual([]);
  });

  test('Delete returns the physical id and makes no KMS call', async () => {
    const response = await onEvent(event('Delete', { KeyArn: rsaKeyArn, SubjectCommonName: 'idp' }));
    expect(response).toEqual({ PhysicalResourceId: `${rsaKeyArn}/0123456789abcdef` });
    expect(kms.calls).toEqual([]);
  });
});
