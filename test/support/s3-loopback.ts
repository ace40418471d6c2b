import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { s3Decision, type Decision, type PolicyDocument } from '../../local/iam-decisions';

/**
 * A loopback S3 for PutObject and GetObject (path-style), deciding every request the way IAM would
 * for the session that signed it: the access key id in the SigV4 `Authorization` header names a
 * session of the loopback STS, whose `${saml:sub}` and role policies iam-simulate evaluates. It checks
 * no signature (the loopback STS keeps no secrets) and knows nothing of bucket policies: what it shows
 * is the role policy's decision, not S3's.
 */

export interface S3Session {
  /** `${saml:sub}` of the session. */
  readonly subject: string;
  /** The identity policies of the session's role. */
  readonly policies: PolicyDocument[];
}

export interface LoopbackS3Options {
  readonly bucketName: string;
  /** The session an access key id belongs to, if any. */
  sessionOf(accessKeyId: string): S3Session | undefined;
}

export interface RecordedS3Request {
  readonly method: string;
  readonly key: string;
  readonly subject?: string;
  readonly decision: Decision | 'no-session';
  readonly status: number;
}

export interface LoopbackS3 {
  readonly endpoint: string;
  readonly objects: Map<string, string>;
  readonly requests: RecordedS3Request[];
  close(): Promise<void>;
}

function sendError(response: ServerResponse, status: number, code: string): void {
  response.writeHead(status, { 'Content-Type': 'application/xml', 'x-amz-request-id': randomUUID() });
  response.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${code}</Message></Error>`);
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Starts the loopback S3 on 127.0.0.1 with a random port. */
export async function startLoopbackS3(options: LoopbackS3Options): Promise<LoopbackS3> {
  const objects = new Map<string, string>();
  const requests: RecordedS3Request[] = [];

  const server = createServer((request, response) => {
    void readBody(request).then((body) => {
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      const [, bucket, ...keyParts] = url.pathname.split('/');
      const key = decodeURIComponent(keyParts.join('/'));
      const method = request.method ?? '';
      const record = (entry: Omit<RecordedS3Request, 'method' | 'key'>) => requests.push({ method, key, ...entry });
      const accessKeyId = /Credential=([^/]+)\//.exec(String(request.headers.authorization ?? ''))?.[1];
      const session = accessKeyId === undefined || request.headers['x-amz-security-token'] === undefined
        ? undefined
        : options.sessionOf(accessKeyId);
      if (!session) {
        record({ decision: 'no-session', status: 403 });
        sendError(response, 403, 'InvalidAccessKeyId');
        return;
      }
      if (bucket !== options.bucketName) {
        record({ subject: session.subject, decision: 'ImplicitlyDenied', status: 404 });
        sendError(response, 404, 'NoSuchBucket');
        return;
      }
      const action = method === 'PUT' ? 's3:PutObject' : method === 'GET' ? 's3:GetObject' : undefined;
      if (!action || key === '') {
        record({ subject: session.subject, decision: 'ImplicitlyDenied', status: 405 });
        sendError(response, 405, 'MethodNotAllowed');
        return;
      }
      const decision = s3Decision(session.policies, { action, resource: `arn:aws:s3:::${bucket}/${key}`, subject: session.subject });
      if (decision !== 'Allowed') {
        record({ subject: session.subject, decision, status: 403 });
        sendError(response, 403, 'AccessDenied');
        return;
      }
      if (action === 's3:PutObject') {
        objects.set(key, body.toString('utf8'));
        record({ subject: session.subject, decision, status: 200 });
        response.writeHead(200, { 'ETag': `"${randomUUID()}"`, 'x-amz-request-id': randomUUID() }).end();
        return;
      }
      const stored = objects.get(key);
      if (stored === undefined) {
        record({ subject: session.subject, decision, status: 404 });
        sendError(response, 404, 'NoSuchKey');
        return;
      }
      record({ subject: session.subject, decision, status: 200 });
      response.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(stored) }).end(stored);
    }).catch(() => {
      if (!response.headersSent) sendError(response, 500, 'InternalError');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    objects,
    requests,
    close: () => new Promise<void>((resolve, reject) => {
      server.closeAllConnections();
      server.close((error) => (error ? reject(error) : resolve()));
    }),
  };
}
