import { createPublicKey, privateEncrypt, constants, sign, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KMSClient } from '@aws-sdk/client-kms';

/** A key the loopback KMS knows: a local private key plus the metadata KMS reports for it. */
export interface LoopbackKmsKey {
  /** The KeyId clients must send (an ARN in the tests). */
  readonly keyId: string;
  readonly privateKey: KeyObject;
  /** @default 'RSA_2048' */
  readonly keySpec?: string;
  /** @default 'SIGN_VERIFY' */
  readonly keyUsage?: string;
}

/** One request the loopback KMS received: the operation from `X-Amz-Target` and the decoded JSON body. */
export interface RecordedKmsCall {
  readonly operation: string;
  readonly body: Record<string, unknown>;
}

export interface LoopbackKms {
  readonly endpoint: string;
  readonly calls: RecordedKmsCall[];
  /** A client bound to this endpoint with dummy credentials and no retries. */
  client(): KMSClient;
  close(): Promise<void>;
}

/** DER prefix of a PKCS#1 v1.5 DigestInfo for SHA-256 (RFC 8017 section 9.2, note 1). */
const SHA256_DIGEST_INFO_PREFIX = Buffer.from('3031300d060960864801650304020105000420', 'hex');

/** Signs as KMS does for RSASSA_PKCS1_V1_5_SHA_256: with MessageType DIGEST the message is the digest itself. */
function kmsSign(key: KeyObject, message: Buffer, messageType: string): Buffer {
  if (messageType === 'DIGEST') {
    return privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, Buffer.concat([SHA256_DIGEST_INFO_PREFIX, message]));
  }
  return sign('sha256', message, key);
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
  response.end(JSON.stringify(body));
}

function kmsError(response: ServerResponse, type: string, message: string): void {
  sendJson(response, 400, { __type: type, message });
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) {
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Starts a KMS look-alike on 127.0.0.1 speaking the awsJson1_1 protocol for GetPublicKey and Sign. */
export async function startLoopbackKms(keys: LoopbackKmsKey[]): Promise<LoopbackKms> {
  const calls: RecordedKmsCall[] = [];
  const keysById = new Map(keys.map((key) => [key.keyId, key]));

  const server = createServer((request, response) => {
    void readBody(request).then((text) => {
      const operation = String(request.headers['x-amz-target'] ?? '').replace(/^TrentService\./, '');
      const body = JSON.parse(text || '{}') as Record<string, unknown>;
      calls.push({ operation, body });
      const key = keysById.get(String(body.KeyId));
      if (!key) {
        kmsError(response, 'NotFoundException', `Key '${String(body.KeyId)}' does not exist`);
        return;
      }
      const keySpec = key.keySpec ?? 'RSA_2048';
      const keyUsage = key.keyUsage ?? 'SIGN_VERIFY';
      if (operation === 'GetPublicKey') {
        sendJson(response, 200, {
          KeyId: key.keyId,
          KeySpec: keySpec,
          CustomerMasterKeySpec: keySpec,
          KeyUsage: keyUsage,
          PublicKey: createPublicKey(key.privateKey).export({ format: 'der', type: 'spki' }).toString('base64'),
          SigningAlgorithms: keyUsage === 'SIGN_VERIFY' ? ['RSASSA_PKCS1_V1_5_SHA_256'] : undefined,
        });
      } else if (operation === 'Sign') {
        if (keyUsage !== 'SIGN_VERIFY') {
          kmsError(response, 'InvalidKeyUsageException', 'KeyUsage is not SIGN_VERIFY');
          return;
        }
        const message = Buffer.from(String(body.Message), 'base64');
        const signature = kmsSign(key.privateKey, message, String(body.MessageType ?? 'RAW'));
        sendJson(response, 200, {
          KeyId: key.keyId,
          Signature: signature.toString('base64'),
          SigningAlgorithm: body.SigningAlgorithm,
        });
      } else {
        kmsError(response, 'UnsupportedOperationException', `Loopback KMS does not implement ${operation}`);
      }
    }).catch(() => {
      if (!response.headersSent) {
        kmsError(response, 'KMSInternalException', 'Loopback KMS could not parse the request');
      }
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    calls,
    client: () => new KMSClient({
      region: 'us-east-1',
      endpoint,
      credentials: { accessKeyId: 'AKIDLOOPBACK', secretAccessKey: 'loopback-secret' },
      maxAttempts: 1,
    }),
    close: () => new Promise<void>((resolve, reject) => {
      server.closeAllConnections();
      server.close((error) => (error ? reject(error) : resolve()));
    }),
  };
}
