import { constants, createHash, createPublicKey, privateEncrypt, randomBytes, sign, type KeyObject } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KMSClient } from '@aws-sdk/client-kms';
import { registerSecret } from '../../local/secret-registry';

/**
 * Loopback (127.0.0.1) stand-ins for STS and KMS that record every call and answer with scripted
 * faults, so handler tests can count calls and drive every error path without an AWS account.
 */

/** One scripted answer; with no script left, the stub answers with success. */
export interface StubFault {
  /** HTTP status of the error answer, e.g. 400, 403, 500, 503. */
  readonly status: number;
  /** The service's error code, e.g. `IDPRejectedClaim` or `ThrottlingException`. */
  readonly code: string;
  readonly message?: string;
  /** Milliseconds to wait before answering. */
  readonly delayMs?: number;
  /** The SDK's retry hint, sent as `x-amz-retry-after` (milliseconds from the answer until the retry). */
  readonly retryAfterMs?: number;
}

/** A successful answer that arrives late. */
export interface StubDelay {
  readonly delayMs: number;
}

/** No answer at all: the socket is closed, as a network failure would. */
export interface StubDrop {
  readonly dropConnection: true;
  readonly delayMs?: number;
}

export type StubReply = StubFault | StubDelay | StubDrop;

function isFault(reply: StubReply): reply is StubFault {
  return 'code' in reply;
}

/** The headers of a scripted fault's answer. */
function faultHeaders(reply: StubFault, contentType: string): Record<string, string> {
  return reply.retryAfterMs === undefined ? { 'content-type': contentType } : { 'content-type': contentType, 'x-amz-retry-after': String(reply.retryAfterMs) };
}

interface ScriptedServer {
  readonly endpoint: string;
  readonly server: Server;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) {
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function listenOnLoopback(handler: (request: IncomingMessage, response: ServerResponse) => Promise<void>): Promise<ScriptedServer> {
  const server = createServer((request, response) => {
    handler(request, response).catch(() => {
      if (!response.headersSent) {
        response.writeHead(500).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { endpoint: `http://127.0.0.1:${port}`, server };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.closeAllConnections();
    server.close((error) => (error ? reject(error) : resolve()));
  });
}

/** Applies the reply's delay and, for a dropped connection, destroys the socket; returns false when nothing more may be written. */
async function prepareReply(reply: StubReply | undefined, response: ServerResponse): Promise<boolean> {
  if (reply?.delayMs) {
    await sleep(reply.delayMs);
  }
  if (reply && 'dropConnection' in reply) {
    response.socket?.destroy();
    return false;
  }
  return !response.destroyed;
}

function xmlEscape(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function xmlUnescape(value: string): string {
  return value
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#x([0-9A-Fa-f]+);/g, (_match, hex: string) => String.fromCodePoint(parseInt(hex, 16)))
    .replace(/&amp;/g, '&');
}

function randomFrom(alphabet: string, length: number): string {
  const bytes = randomBytes(length);
  return Array.from(bytes, (byte) => alphabet[byte % alphabet.length]).join('');
}

const UPPER_DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const NAMEID_FORMAT_PREFIX = 'urn:oasis:names:tc:SAML:2.0:nameid-format:';
const AWS_ATTRIBUTE_PREFIX = 'https://aws.amazon.com/SAML/Attributes/';

/** One `AssumeRoleWithSAML` request as the STS stub received it. */
export interface RecordedStsCall {
  /** All form parameters of the POST body. */
  readonly params: Readonly<Record<string, string>>;
  readonly roleArn: string;
  readonly principalArn: string;
  /** The `SAMLAssertion` parameter (base64). */
  readonly samlAssertion: string;
  /** The decoded SAML Response XML. */
  readonly samlResponseXml: string;
  readonly durationSeconds?: number;
  readonly headers: IncomingHttpHeaders;
  /** The credentials the stub issued for this call, when it answered with success. */
  issued?: { accessKeyId: string; secretAccessKey: string; sessionToken: string };
}

/** A loopback stand-in: where it listens, what it was asked, and the answers queued for it. */
export interface LoopbackStub<Call> {
  readonly endpoint: string;
  readonly calls: Call[];
  readonly callCount: number;
  /** Queues answers for the next calls, in order; later calls succeed. */
  replyWith(...replies: StubReply[]): void;
  /** Forgets recorded calls and queued answers. */
  reset(): void;
  close(): Promise<void>;
}

/** The recorded calls and queued answers of one stand-in, and the handle tests hold. */
class CallScript<Call> {
  readonly calls: Call[] = [];
  private queue: StubReply[] = [];

  /** Records `call` and takes the answer queued for it, if any. */
  take(call: Call): StubReply | undefined {
    this.calls.push(call);
    return this.queue.shift();
  }

  handle(endpoint: string, server: Server): LoopbackStub<Call> {
    const calls = this.calls;
    return {
      endpoint,
      calls,
      get callCount() {
        return calls.length;
      },
      replyWith: (...replies) => {
        this.queue.push(...replies);
      },
      reset: () => {
        calls.length = 0;
        this.queue = [];
      },
      close: () => closeServer(server),
    };
  }
}

export type StsStub = LoopbackStub<RecordedStsCall>;

export interface StsStubOptions {
  /** @default '123456789012' */
  readonly accountId?: string;
}

/** The first text content of an element, or of the AttributeValue of the AWS attribute `name`. */
function elementText(xml: string, qualifiedName: string): string | undefined {
  const match = new RegExp(`<${qualifiedName}(?:\\s[^>]*)?>([^<]*)</${qualifiedName}>`).exec(xml);
  return match ? xmlUnescape(match[1]) : undefined;
}

function awsAttribute(xml: string, name: string): string | undefined {
  const match = new RegExp(`<saml:Attribute Name="${AWS_ATTRIBUTE_PREFIX}${name}"[^>]*><saml:AttributeValue>([^<]*)</saml:AttributeValue>`).exec(xml);
  return match ? xmlUnescape(match[1]) : undefined;
}

function stsErrorXml(fault: StubFault): string {
  const type = fault.status >= 500 ? 'Receiver' : 'Sender';
  return '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
    + `<Error><Type>${type}</Type><Code>${xmlEscape(fault.code)}</Code><Message>${xmlEscape(fault.message ?? 'scripted fault')}</Message></Error>`
    + `<RequestId>${randomBytes(16).toString('hex')}</RequestId>`
    + '</ErrorResponse>';
}

/** What STS would answer for a valid call, derived from the assertion as AWS documents it. */
function stsSuccessXml(call: RecordedStsCall, accountId: string): string {
  const xml = call.samlResponseXml;
  const issuer = elementText(xml, 'saml:Issuer') ?? '';
  const subject = elementText(xml, 'saml:NameID') ?? '';
  const format = /<saml:NameID Format="([^"]*)"/.exec(xml)?.[1] ?? '';
  const recipient = /Recipient="([^"]*)"/.exec(xml)?.[1] ?? '';
  const sessionName = awsAttribute(xml, 'RoleSessionName') ?? '';
  const sourceIdentity = awsAttribute(xml, 'SourceIdentity');
  const roleName = call.roleArn.split('/').pop() ?? '';
  const providerName = call.principalArn.split('/').pop() ?? '';
  const nameQualifier = createHash('sha1').update(`${issuer}${accountId}/${providerName}`).digest('base64');
  const expiration = new Date(Date.now() + (call.durationSeconds ?? 3600) * 1000);
  const issued = {
    accessKeyId: `ASIA${randomFrom(UPPER_DIGITS, 16)}`,
    secretAccessKey: registerSecret('aws-secret-access-key', randomBytes(30).toString('base64')),
    sessionToken: registerSecret('aws-session-token', `IQoJb3JpZ2luX2Vj${randomBytes(300).toString('base64')}`),
  };
  call.issued = issued;
  return '<AssumeRoleWithSAMLResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
    + '<AssumeRoleWithSAMLResult>'
    + `<Issuer>${xmlEscape(issuer)}</Issuer>`
    + `<AssumedRoleUser><Arn>arn:aws:sts::${accountId}:assumed-role/${xmlEscape(roleName)}/${xmlEscape(sessionName)}</Arn>`
    + `<AssumedRoleId>AROA${randomFrom(UPPER_DIGITS, 17)}:${xmlEscape(sessionName)}</AssumedRoleId></AssumedRoleUser>`
    + `<Credentials><AccessKeyId>${issued.accessKeyId}</AccessKeyId><SecretAccessKey>${issued.secretAccessKey}</SecretAccessKey>`
    + `<SessionToken>${issued.sessionToken}</SessionToken><Expiration>${expiration.toISOString()}</Expiration></Credentials>`
    + `<Audience>${recipient}</Audience>`
    + `<SubjectType>${xmlEscape(format.startsWith(NAMEID_FORMAT_PREFIX) ? format.slice(NAMEID_FORMAT_PREFIX.length) : format)}</SubjectType>`
    + '<PackedPolicySize>6</PackedPolicySize>'
    + `<NameQualifier>${nameQualifier}</NameQualifier>`
    + (sourceIdentity !== undefined ? `<SourceIdentity>${xmlEscape(sourceIdentity)}</SourceIdentity>` : '')
    + `<Subject>${xmlEscape(subject)}</Subject>`
    + '</AssumeRoleWithSAMLResult>'
    + `<ResponseMetadata><RequestId>${randomBytes(16).toString('hex')}</RequestId></ResponseMetadata>`
    + '</AssumeRoleWithSAMLResponse>';
}

/** Starts an STS look-alike for `AssumeRoleWithSAML` (form-encoded POST, XML answers) on 127.0.0.1. */
export async function startStsStub(options: StsStubOptions = {}): Promise<StsStub> {
  const accountId = options.accountId ?? '123456789012';
  const script = new CallScript<RecordedStsCall>();

  const { endpoint, server } = await listenOnLoopback(async (request, response) => {
    const params = Object.fromEntries(new URLSearchParams(await readBody(request)));
    const samlAssertion = registerSecret('saml-response', params.SAMLAssertion ?? '');
    const call: RecordedStsCall = {
      params,
      roleArn: params.RoleArn ?? '',
      principalArn: params.PrincipalArn ?? '',
      samlAssertion,
      samlResponseXml: Buffer.from(samlAssertion, 'base64').toString('utf8'),
      durationSeconds: params.DurationSeconds !== undefined ? Number(params.DurationSeconds) : undefined,
      headers: request.headers,
    };
    const reply = script.take(call);
    if (!(await prepareReply(reply, response))) {
      return;
    }
    if (params.Action !== 'AssumeRoleWithSAML' || request.method !== 'POST') {
      response.writeHead(400, { 'content-type': 'text/xml' }).end(stsErrorXml({ status: 400, code: 'InvalidAction', message: 'Only AssumeRoleWithSAML is stubbed' }));
    } else if (reply && isFault(reply)) {
      response.writeHead(reply.status, faultHeaders(reply, 'text/xml')).end(stsErrorXml(reply));
    } else {
      response.writeHead(200, { 'content-type': 'text/xml' }).end(stsSuccessXml(call, accountId));
    }
  });

  return script.handle(endpoint, server);
}

/** One request the KMS stub received. */
export interface RecordedKmsCall {
  /** The operation from `X-Amz-Target`, e.g. `Sign`. */
  readonly operation: string;
  readonly body: Readonly<Record<string, unknown>>;
  /** Whether the request carried a SigV4 `Authorization` header. */
  readonly signed: boolean;
}

export type KmsStub = LoopbackStub<RecordedKmsCall>;

export interface KmsStubOptions {
  /** The KeyId clients must send (an ARN in the tests), when the stub holds one key. */
  readonly keyId?: string;
  /** The RSA private key of `keyId`. */
  readonly privateKey?: KeyObject;
  /** Keys by KeyId (RSA-2048 private keys), read at each call, so keys added later are found. */
  readonly keys?: ReadonlyMap<string, KeyObject>;
  /** Key spec and usage KMS reports for a KeyId, the usage enforced on Sign. @default RSA_2048 and SIGN_VERIFY for every key */
  readonly keyDetails?: ReadonlyMap<string, { readonly keySpec?: string; readonly keyUsage?: string }>;
  /**
   * Whether the caller (the access key id of the request's SigV4 signature) may use a key, as IAM and
   * the key policy would decide; a refusal is KMS's `AccessDeniedException`. @default every call is allowed
   */
  readonly authorize?: (operation: 'Sign' | 'GetPublicKey', keyId: string, caller: string) => boolean | Promise<boolean>;
}

/** DER prefix of a PKCS#1 v1.5 DigestInfo for SHA-256 (RFC 8017 section 9.2, note 1). */
const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');

/** The access key id of a SigV4 `Authorization` header (`Credential=<id>/<scope>`), or ''. */
function accessKeyIdOf(request: IncomingMessage): string {
  return /Credential=([^/,\s]+)\//.exec(String(request.headers.authorization ?? ''))?.[1] ?? '';
}

function kmsJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(body));
}

/** Starts a KMS look-alike speaking JSON 1.1 (`TrentService.Sign` and `GetPublicKey`) on 127.0.0.1, with local keys. */
export async function startKmsStub(options: KmsStubOptions): Promise<KmsStub> {
  const script = new CallScript<RecordedKmsCall>();

  const { endpoint, server } = await listenOnLoopback(async (request, response) => {
    const text = await readBody(request);
    const operation = String(request.headers['x-amz-target'] ?? '').replace(/^TrentService\./, '');
    const body = JSON.parse(text || '{}') as Record<string, unknown>;
    const reply = script.take({ operation, body, signed: /^AWS4-HMAC-SHA256 /.test(String(request.headers.authorization ?? '')) });
    if (!(await prepareReply(reply, response))) {
      return;
    }
    const keyId = String(body.KeyId);
    const privateKey = keyId === options.keyId ? options.privateKey : options.keys?.get(keyId);
    if (reply && isFault(reply)) {
      response.writeHead(reply.status, faultHeaders(reply, 'application/x-amz-json-1.1')).end(JSON.stringify({ __type: reply.code, message: reply.message ?? 'scripted fault' }));
    } else if (operation !== 'Sign' && operation !== 'GetPublicKey') {
      kmsJson(response, 400, { __type: 'UnsupportedOperationException', message: `${operation} is not stubbed` });
    } else if (privateKey === undefined) {
      kmsJson(response, 400, { __type: 'NotFoundException', message: 'Key does not exist' });
    } else if (options.authorize && !(await options.authorize(operation, keyId, accessKeyIdOf(request)))) {
      kmsJson(response, 400, { __type: 'AccessDeniedException', message: `The caller is not authorized to perform kms:${operation} on this key` });
    } else if (operation === 'GetPublicKey') {
      const keyUsage = options.keyDetails?.get(keyId)?.keyUsage ?? 'SIGN_VERIFY';
      const keySpec = options.keyDetails?.get(keyId)?.keySpec ?? 'RSA_2048';
      kmsJson(response, 200, {
        KeyId: keyId,
        KeySpec: keySpec,
        CustomerMasterKeySpec: keySpec,
        KeyUsage: keyUsage,
        PublicKey: createPublicKey(privateKey).export({ type: 'spki', format: 'der' }).toString('base64'),
        ...(keyUsage === 'SIGN_VERIFY' ? { SigningAlgorithms: ['RSASSA_PKCS1_V1_5_SHA_256'] } : {}),
      });
    } else if ((options.keyDetails?.get(keyId)?.keyUsage ?? 'SIGN_VERIFY') !== 'SIGN_VERIFY') {
      kmsJson(response, 400, { __type: 'InvalidKeyUsageException', message: 'KeyUsage is not SIGN_VERIFY' });
    } else if (body.SigningAlgorithm !== 'RSASSA_PKCS1_V1_5_SHA_256') {
      kmsJson(response, 400, { __type: 'KMSInvalidStateException', message: 'Unsupported signing algorithm' });
    } else {
      const message = Buffer.from(String(body.Message), 'base64');
      const signature = body.MessageType === 'DIGEST'
        ? privateEncrypt({ key: privateKey, padding: constants.RSA_PKCS1_PADDING }, Buffer.concat([SHA256_DIGEST_INFO, message]))
        : sign('sha256', message, privateKey);
      kmsJson(response, 200, { KeyId: keyId, Signature: signature.toString('base64'), SigningAlgorithm: body.SigningAlgorithm });
    }
  });

  return script.handle(endpoint, server);
}

/** A KMS client of the stub at `endpoint`, with placeholder credentials and no retries. */
export function kmsStubClient(endpoint: string): KMSClient {
  return new KMSClient({
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'AKIDLOOPBACK', secretAccessKey: 'loopback-secret' },
    maxAttempts: 1,
  });
}
