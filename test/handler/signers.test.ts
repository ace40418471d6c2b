import { createHash, generateKeyPairSync, verify, type KeyObject } from 'node:crypto';
import { KmsSigner } from '../../lambda/shared/kms-signer';
import { PemSigner } from '../../lambda/shared/pem-signer';
import { kmsStubClient, startKmsStub, type KmsStub } from '../support/aws-stubs';

const rsa2048 = generateKeyPairSync('rsa', { modulusLength: 2048 });
const data = new TextEncoder().encode('<ds:SignedInfo>canonical bytes</ds:SignedInfo>');

function pkcs8Pem(key: KeyObject): string {
  return key.export({ format: 'pem', type: 'pkcs8' }).toString();
}

describe('PemSigner', () => {
  test('signs with RSASSA-PKCS1-v1_5 SHA-256 that node:crypto verifies (PKCS#8 key)', async () => {
    const signature = await new PemSigner(pkcs8Pem(rsa2048.privateKey)).sign(data);
    expect(signature).toHaveLength(256);
    expect(verify('sha256', data, rsa2048.publicKey, signature)).toBe(true);
    expect(verify('sha256', new TextEncoder().encode('other bytes'), rsa2048.publicKey, signature)).toBe(false);
  });

  test('accepts a PKCS#1 "RSA PRIVATE KEY" PEM and a 3072-bit key', async () => {
    const pkcs1 = rsa2048.privateKey.export({ format: 'pem', type: 'pkcs1' }).toString();
    expect(pkcs1).toContain('BEGIN RSA PRIVATE KEY');
    expect(verify('sha256', data, rsa2048.publicKey, await new PemSigner(pkcs1).sign(data))).toBe(true);

    const rsa3072 = generateKeyPairSync('rsa', { modulusLength: 3072 });
    const signature = await new PemSigner(pkcs8Pem(rsa3072.privateKey)).sign(data);
    expect(signature).toHaveLength(384);
    expect(verify('sha256', data, rsa3072.publicKey, signature)).toBe(true);
  });

  test('refuses an RSA key below 2048 bits', () => {
    const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 });
    expect(() => new PemSigner(pkcs8Pem(rsa1024.privateKey))).toThrow('Signing key must be RSA of at least 2048 bits, got 1024');
  });

  test.each([
    ['EC P-256', () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, 'not ec'],
    ['Ed25519', () => generateKeyPairSync('ed25519').privateKey, 'not ed25519'],
    ['RSA-PSS', () => generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).privateKey, 'not rsa-pss'],
  ])('refuses a non-RSA key (%s)', (_name, makeKey, detail) => {
    expect(() => new PemSigner(pkcs8Pem(makeKey()))).toThrow(`Signing key must be an RSA key (rsaEncryption), ${detail}`);
  });

  test('refuses unreadable input without echoing any of it', () => {
    const pem = pkcs8Pem(rsa2048.privateKey);
    const truncated = pem.slice(0, pem.length / 2) + '\n-----END PRIVATE KEY-----\n';
    const publicOnly = rsa2048.publicKey.export({ format: 'pem', type: 'spki' }).toString();
    for (const input of [truncated, publicOnly, 'not a key', '']) {
      let message = '';
      try {
        new PemSigner(input);
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toBe('Signing key is not a readable PEM private key (expected PKCS#8 or PKCS#1 RSA, unencrypted)');
    }
  });
});

describe('KmsSigner', () => {
  const keyArn = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
  let kms: KmsStub;

  beforeAll(async () => {
    kms = await startKmsStub({ keys: new Map([[keyArn, rsa2048.privateKey]]) });
  });
  afterAll(() => kms.close());
  beforeEach(() => kms.reset());

  test('sends one Sign of the local SHA-256 digest (DIGEST, RSASSA_PKCS1_V1_5_SHA_256) and returns a verifying signature', async () => {
    const signature = await new KmsSigner(keyArn, kmsStubClient(kms.endpoint)).sign(data);

    expect(kms.calls).toEqual([{
      operation: 'Sign',
      body: {
        KeyId: keyArn,
        Message: createHash('sha256').update(data).digest('base64'),
        MessageType: 'DIGEST',
        SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256',
      },
      signed: true,
    }]);
    expect(signature).toBeInstanceOf(Uint8Array);
    expect(signature).toHaveLength(256);
    expect(verify('sha256', data, rsa2048.publicKey, signature)).toBe(true);
  });

  test('propagates the SDK error when KMS refuses', async () => {
    const signer = new KmsSigner('arn:aws:kms:us-east-1:111122223333:key/unknown', kmsStubClient(kms.endpoint));
    await expect(signer.sign(data)).rejects.toMatchObject({ name: 'NotFoundException' });
    expect(kms.calls).toHaveLength(1);
  });
});
