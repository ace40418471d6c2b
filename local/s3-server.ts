import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { s3Decision, type PolicyDocument } from './iam-decisions';
import { listenOnLoopback } from './loopback-server';
import type { LoopbackSts } from './sts-server';

/**
 * A loopback stand-in for the few S3 requests a browser app makes with delegated credentials
 * (ListObjectsV2, PutObject, GetObject, HeadObject, DeleteObject, path-style): it checks the request's
 * SigV4 signature with the credentials the loopback STS issued (and their session token), decides the
 * request with the session role's policies from the template, for the session's `${saml:sub}`, and keeps
 * objects in memory. Not an S3 emulator: anything else is answered 501. For local runs and tests only.
 */

const MAX_OBJECT_BYTES = 5 * 1024 * 1024;
const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;
const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
const AUTHORIZATION = /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([a-z0-9-]+)\/s3\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;
const AMZ_DATE = /^(\d{8})T\d{6}Z$/;

export interface LoopbackS3Options {
  /** Whose issued credentials sign the requests. */
  readonly sts: Pick<LoopbackSts, 'credentials'>;
  /** The roles sessions may have, by ARN, with their identity policies. */
  readonly roles: ReadonlyMap<string, { readonly policies: PolicyDocument[] }>;
  /** Bucket names this stand-in answers for (others: NoSuchBucket). */
  readonly buckets: readonly string[];
  /** Browser origins CORS admits. */
  readonly allowedOrigins: readonly string[];
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/** One answered request (no credentials, no body). */
export interface S3Call {
  readonly method: string;
  readonly action?: string;
  readonly bucket?: string;
  readonly key?: string;
  readonly subject?: string;
  readonly status: number;
  /** `ok` or the S3 error code. */
  readonly outcome: string;
}

export interface LoopbackS3 {
  /** `http://127.0.0.1:<port>`: the SDK's `endpoint`, with `forcePathStyle: true`. */
  readonly endpoint: string;
  readonly calls: S3Call[];
  /** Stored objects by `<bucket>/<key>`. */
  readonly objects: ReadonlyMap<string, { readonly body: Buffer; readonly contentType: string; readonly lastModified: Date }>;
  close(): Promise<void>;
}

class S3Error extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

function xmlText(value: string): string {
  return value.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

/** RFC 3986 percent-encoding, as SigV4 canonicalizes query strings. */
function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`);
}

function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

/** The SigV4 canonical query string of a raw (still encoded) query. */
export function canonicalQuery(rawQuery: string): string {
  if (rawQuery === '') return '';
  return rawQuery.split('&').filter((pair) => pair !== '').map((pair) => {
    const separator = pair.indexOf('=');
    const [name, value] = separator < 0 ? [pair, ''] : [pair.slice(0, separator), pair.slice(separator + 1)];
    const decode = (text: string) => decodeURIComponent(text.replace(/\+/g, '%20'));
    return [uriEncode(decode(name)), uriEncode(decode(value))] as const;
  }).sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`).join('&');
}

/**
 * Checks a SigV4 `Authorization` header (S3's single-encoded path) against `secretAccessKey`; returns
 * the access key id it names, or throws the error S3 would answer.
 */
export function verifySigV4(
  request: { method: string; rawPath: string; rawQuery: string; headers: IncomingMessage['headers'] },
  lookup: (accessKeyId: string) => { secretAccessKey: string; sessionToken: string } | undefined,
  now: Date,
): { accessKeyId: string; payloadHash: string } {
  const authorization = request.headers.authorization;
  if (typeof authorization !== 'string') {
    throw new S3Error(403, 'AccessDenied', 'Only requests signed with an Authorization header are accepted here');
  }
  const match = AUTHORIZATION.exec(authorization);
  if (!match) throw new S3Error(400, 'AuthorizationHeaderMalformed', 'The authorization header is malformed');
  const [, accessKeyId, scopeDate, region, signedHeaderList, signature] = match;
  const credentials = lookup(accessKeyId);
  if (!credentials) throw new S3Error(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
  const signedHeaders = signedHeaderList.split(';');
  for (const required of ['host', 'x-amz-content-sha256', 'x-amz-date', 'x-amz-security-token']) {
    if (!signedHeaders.includes(required)) throw new S3Error(403, 'AccessDenied', `The ${required} header must be signed`);
  }
  const amzDate = String(request.headers['x-amz-date'] ?? '');
  const dateMatch = AMZ_DATE.exec(amzDate);
  if (!dateMatch || dateMatch[1] !== scopeDate) throw new S3Error(403, 'AccessDenied', 'x-amz-date is missing or does not match the credential scope');
  const signedAt = Date.parse(`${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`);
  if (Math.abs(now.getTime() - signedAt) > MAX_CLOCK_SKEW_MS) {
    throw new S3Error(403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.');
  }
  const canonicalHeaders = signedHeaders.map((name) => {
    const value = request.headers[name];
    if (value === undefined) throw new S3Error(403, 'AccessDenied', `Signed header ${name} is missing`);
    const text = (Array.isArray(value) ? value.join(',') : value).trim().replace(/\s+/g, ' ');
    return `${name}:${text}\n`;
  }).join('');
  const payloadHash = String(request.headers['x-amz-content-sha256']);
  const canonicalRequest = [request.method, request.rawPath, canonicalQuery(request.rawQuery), canonicalHeaders, signedHeaderList, payloadHash].join('\n');
  const scope = `${scopeDate}/${region}/s3/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, scopeDate), region), 's3'), 'aws4_request');
  const expected = hmac(signingKey, stringToSign);
  if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) {
    throw new S3Error(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
  }
  const token = request.headers['x-amz-security-token'];
  const given = Buffer.from(typeof token === 'string' ? token : '');
  const issued = Buffer.from(credentials.sessionToken);
  if (given.length !== issued.length || !timingSafeEqual(given, issued)) {
    throw new S3Error(403, 'InvalidToken', 'The provided token is malformed or otherwise invalid.');
  }
  return { accessKeyId, payloadHash };
}

/** Starts the stand-in on 127.0.0.1 with a random port. */
export async function startLoopbackS3(options: LoopbackS3Options): Promise<LoopbackS3> {
  const clock = options.now ?? (() => new Date());
  const buckets = new Set(options.buckets);
  const objects = new Map<string, { body: Buffer; contentType: string; lastModified: Date }>();
  const calls: S3Call[] = [];

  function corsHeaders(request: IncomingMessage): Record<string, string> {
    const origin = request.headers.origin;
    return origin !== undefined && options.allowedOrigins.includes(origin)
      ? { 'Access-Control-Allow-Origin': origin, 'Access-Control-Expose-Headers': 'ETag, x-amz-request-id', 'Vary': 'Origin' }
      : { Vary: 'Origin' };
  }

  async function readBody(request: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of request) {
      size += (chunk as Buffer).length;
      if (size > MAX_OBJECT_BYTES) throw new S3Error(400, 'EntityTooLarge', 'This stand-in keeps objects up to 5 MiB');
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
  }

  function listXml(bucket: string, prefix: string, delimiter: string): string {
    const keys = [...objects.keys()].filter((id) => id.startsWith(`${bucket}/${prefix}`)).map((id) => id.slice(bucket.length + 1)).sort();
    const commonPrefixes = new Set<string>();
    const contents: string[] = [];
    for (const key of keys) {
      const rest = key.slice(prefix.length);
      const cut = delimiter === '' ? -1 : rest.indexOf(delimiter);
      if (cut >= 0) {
        commonPrefixes.add(prefix + rest.slice(0, cut + delimiter.length));
        continue;
      }
      const object = objects.get(`${bucket}/${key}`)!;
      contents.push(`<Contents><Key>${xmlText(key)}</Key><LastModified>${object.lastModified.toISOString()}</LastModified>`
        + `<ETag>&quot;${createHash('md5').update(object.body).digest('hex')}&quot;</ETag><Size>${object.body.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`);
    }
    return `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${xmlText(bucket)}</Name>`
      + `<Prefix>${xmlText(prefix)}</Prefix>${delimiter === '' ? '' : `<Delimiter>${xmlText(delimiter)}</Delimiter>`}`
      + `<KeyCount>${contents.length + commonPrefixes.size}</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>`
      + `${contents.join('')}${[...commonPrefixes].map((common) => `<CommonPrefixes><Prefix>${xmlText(common)}</Prefix></CommonPrefixes>`).join('')}</ListBucketResult>`;
  }

  async function answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const cors = corsHeaders(request);
    const method = request.method ?? 'GET';
    if (method === 'OPTIONS') {
      const requested = String(request.headers['access-control-request-headers'] ?? '');
      if (cors['Access-Control-Allow-Origin'] === undefined || !/^[\w-]*(\s*,\s*[\w-]+)*$/.test(requested)) {
        response.writeHead(403, cors).end();
        return;
      }
      response.writeHead(200, {
        ...cors,
        'Access-Control-Allow-Methods': 'GET, HEAD, PUT, DELETE',
        'Access-Control-Allow-Headers': requested,
        'Access-Control-Max-Age': '600',
      }).end();
      return;
    }
    const rawUrl = request.url ?? '/';
    const queryStart = rawUrl.indexOf('?');
    const rawPath = queryStart < 0 ? rawUrl : rawUrl.slice(0, queryStart);
    const rawQuery = queryStart < 0 ? '' : rawUrl.slice(queryStart + 1);
    const query = new URLSearchParams(rawQuery);
    const [bucket, ...keyParts] = rawPath.slice(1).split('/').map((part) => decodeURIComponent(part));
    // `/bucket` and `/bucket/` both name the bucket (the SDK sends the latter for ListObjectsV2).
    const key = keyParts.length === 0 || (keyParts.length === 1 && keyParts[0] === '') ? undefined : keyParts.join('/');
    let action: string | undefined;
    let subject: string | undefined;
    try {
      if (!buckets.has(bucket)) throw new S3Error(404, 'NoSuchBucket', 'The specified bucket does not exist');
      action = key === undefined
        ? (method === 'GET' && query.get('list-type') === '2' ? 's3:ListBucket' : undefined)
        : ({ GET: 's3:GetObject', HEAD: 's3:GetObject', PUT: 's3:PutObject', DELETE: 's3:DeleteObject' } as Record<string, string>)[method];
      if (action === undefined || request.headers['x-amz-copy-source'] !== undefined) {
        throw new S3Error(501, 'NotImplemented', 'This loopback stand-in answers ListObjectsV2, PutObject, GetObject, HeadObject and DeleteObject only');
      }
      const signed = { method, rawPath, rawQuery, headers: request.headers };
      const { accessKeyId, payloadHash } = verifySigV4(signed, (id) => options.sts.credentials(id), clock());
      const session = options.sts.credentials(accessKeyId)!.session;
      subject = session.subject;
      const body = await readBody(request);
      if (payloadHash !== UNSIGNED_PAYLOAD && payloadHash !== sha256Hex(body)) {
        throw new S3Error(400, payloadHash.startsWith('STREAMING-') ? 'NotImplemented' : 'XAmzContentSHA256Mismatch', 'The payload hash does not match the body');
      }
      const policies = options.roles.get(session.roleArn)?.policies ?? [];
      const tags = Object.fromEntries(session.sessionTags.map((tag) => [`aws:PrincipalTag/${tag.key}`, tag.value]));
      const prefix = query.get('prefix') ?? '';
      const decision = s3Decision(policies, {
        action,
        resource: key === undefined ? `arn:aws:s3:::${bucket}` : `arn:aws:s3:::${bucket}/${key}`,
        subject: session.subject,
        roleArn: session.roleArn,
        context: { ...tags, ...(action === 's3:ListBucket' && query.has('prefix') ? { 's3:prefix': prefix } : {}) },
      });
      if (decision !== 'Allowed') throw new S3Error(403, 'AccessDenied', 'Access Denied');

      const id = `${bucket}/${key}`;
      if (action === 's3:ListBucket') {
        response.writeHead(200, { ...cors, 'Content-Type': 'application/xml' }).end(listXml(bucket, prefix, query.get('delimiter') ?? ''));
      } else if (action === 's3:PutObject') {
        objects.set(id, { body, contentType: String(request.headers['content-type'] ?? 'application/octet-stream'), lastModified: clock() });
        response.writeHead(200, { ...cors, ETag: `"${createHash('md5').update(body).digest('hex')}"` }).end();
      } else if (action === 's3:DeleteObject') {
        objects.delete(id);
        response.writeHead(204, cors).end();
      } else {
        const object = objects.get(id);
        if (!object) throw new S3Error(404, 'NoSuchKey', 'The specified key does not exist.');
        response.writeHead(200, {
          ...cors,
          'Content-Type': object.contentType,
          'Content-Length': String(object.body.length),
          'ETag': `"${createHash('md5').update(object.body).digest('hex')}"`,
          'Last-Modified': object.lastModified.toUTCString(),
        }).end(method === 'HEAD' ? undefined : object.body);
      }
      calls.push({ method, action, bucket, key, subject, status: response.statusCode, outcome: 'ok' });
    } catch (error) {
      const failure = error instanceof S3Error ? error : new S3Error(500, 'InternalError', 'The loopback S3 failed');
      calls.push({ method, action, bucket, key, subject, status: failure.status, outcome: failure.code });
      response.writeHead(failure.status, { ...cors, 'Content-Type': 'application/xml' })
        .end(method === 'HEAD' ? undefined : `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${failure.code}</Code><Message>${xmlText(failure.message)}</Message></Error>`);
    }
  }

  const server = createServer((request, response) => {
    answer(request, response).catch(() => {
      if (!response.headersSent) response.writeHead(500).end();
    });
  });
  const host = options.host ?? '127.0.0.1';
  const listening = await listenOnLoopback(server, host);
  const { port } = listening;
  return {
    endpoint: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    calls,
    objects,
    async close() {
      await listening.close();
    },
  };
}
