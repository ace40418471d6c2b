import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { listenOnLoopback } from './loopback-server';
import { GATEWAY_ANSWERS, gatewayAnswerBody, gatewayAnswerHeaders, type GatewayAnswer } from '../src/contract/gateway-responses';
import { delegationRequestSchema } from '../src/contract/request-schema';

/**
 * Serves a Lambda proxy handler over plain HTTP the way a REST API (v1) proxy integration calls it,
 * so the bundled delegation handler can be reached by fetch and by browsers on loopback. The CORS
 * preflight is answered here, as the REST API's mock OPTIONS method does, because the handler only
 * answers POST. What API Gateway answers itself (unknown path, request-model validation, too large,
 * integration failure) is answered here with the endpoint's gateway responses, headers and body alike.
 */

export type ProxyHandler = (event: APIGatewayProxyEvent, context?: Partial<Context>) => Promise<APIGatewayProxyResult>;

export const DELEGATION_PATH = '/delegation';
/** The request headers and lifetime of the preflight answer, as the endpoint construct configures them. */
const PREFLIGHT_ALLOWED_HEADERS = 'Authorization,Content-Type';
const PREFLIGHT_MAX_AGE_SECONDS = '3600';
/** API Gateway's payload limit. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;
const TEXT_CONTENT_TYPE = /^(text\/|application\/(json|x-www-form-urlencoded|xml|[\w.+-]+\+(json|xml))\b)/i;
const LAMBDA_TIMEOUT_MS = 10_000;

export interface DelegationServerOptions {
  readonly handler: ProxyHandler;
  /** Exact origins the preflight admits (the handler decides CORS for the POST itself). */
  readonly allowedOrigins: readonly string[];
  /** @default 0 (a random free port) */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** The stage name in `requestContext`. @default 'local' */
  readonly stage?: string;
  /** Further GET routes (path to listener), e.g. a development token endpoint. */
  readonly extraRoutes?: Readonly<Record<string, RequestListener>>;
  /**
   * Also serve the endpoint under `/<stage>/delegation`, the path of the deployed REST API stage, so
   * clients that are configured with a host and a path (auth0.js v7's `domain`) can be tried as deployed.
   * @default - only `/delegation`
   */
  readonly stagePath?: string;
  /** Serve HTTPS with this PEM key and certificate. @default - plain HTTP */
  readonly tls?: { readonly key: string; readonly cert: string };
}

export interface DelegationServer {
  /** `http://<host>:<port>` (`https://` with TLS). */
  readonly origin: string;
  /** `http://<host>:<port>/delegation`. */
  readonly url: string;
  /** `http://<host>:<port>/<stage>/delegation` when `stagePath` is set, else `url`. */
  readonly stageUrl: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Builds `headers` (last value wins) and `multiValueHeaders` from Node's raw header list, keeping the sender's casing. */
function headerMaps(rawHeaders: readonly string[]): { headers: Record<string, string>; multiValueHeaders: Record<string, string[]> } {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  const casing = new Map<string, string>();
  for (let index = 0; index + 1 < rawHeaders.length; index += 2) {
    const lower = rawHeaders[index].toLowerCase();
    const name = casing.get(lower) ?? rawHeaders[index];
    casing.set(lower, name);
    headers[name] = rawHeaders[index + 1];
    (multiValueHeaders[name] ??= []).push(rawHeaders[index + 1]);
  }
  return { headers, multiValueHeaders };
}

function queryMaps(search: URLSearchParams): Pick<APIGatewayProxyEvent, 'queryStringParameters' | 'multiValueQueryStringParameters'> {
  const keys = [...new Set(search.keys())];
  if (keys.length === 0) {
    return { queryStringParameters: null, multiValueQueryStringParameters: null };
  }
  return {
    queryStringParameters: Object.fromEntries(keys.map((key) => [key, search.getAll(key).at(-1)!])),
    multiValueQueryStringParameters: Object.fromEntries(keys.map((key) => [key, search.getAll(key)])),
  };
}

/** The body as API Gateway passes it: text when it is UTF-8 of a textual media type, base64 otherwise. */
export function eventBody(bytes: Buffer, contentType: string | undefined): { body: string | null; isBase64Encoded: boolean } {
  if (bytes.length === 0) {
    return { body: null, isBase64Encoded: false };
  }
  if (contentType === undefined || TEXT_CONTENT_TYPE.test(contentType)) {
    try {
      return { body: new TextDecoder('utf-8', { fatal: true }).decode(bytes), isBase64Encoded: false };
    } catch {
      // Not UTF-8: passed on as binary.
    }
  }
  return { body: bytes.toString('base64'), isBase64Encoded: true };
}

/** A REST API (v1) proxy event for one HTTP request. */
export function proxyEvent(request: IncomingMessage, bytes: Buffer, stage: string): APIGatewayProxyEvent {
  const url = new URL(request.url ?? '/', 'http://localhost');
  const { headers, multiValueHeaders } = headerMaps(request.rawHeaders);
  const method = request.method ?? 'GET';
  const sourceIp = request.socket.remoteAddress ?? '127.0.0.1';
  return {
    resource: DELEGATION_PATH,
    path: url.pathname,
    httpMethod: method,
    headers,
    multiValueHeaders,
    ...queryMaps(url.searchParams),
    pathParameters: null,
    stageVariables: null,
    ...eventBody(bytes, request.headers['content-type']),
    requestContext: {
      accountId: '123456789012',
      apiId: 'localapi00',
      authorizer: null,
      protocol: `HTTP/${request.httpVersion}`,
      httpMethod: method,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: sourceIp.replace(/^::ffff:/, ''),
        user: null,
        userAgent: request.headers['user-agent'] ?? null,
        userArn: null,
      },
      path: `/${stage}${url.pathname}`,
      stage,
      requestId: randomUUID(),
      requestTimeEpoch: Date.now(),
      resourceId: 'local0',
      resourcePath: DELEGATION_PATH,
      domainName: request.headers.host,
    },
  };
}

/** Writes a proxy result back: status, single and multi-value headers, body (decoded when base64). */
export function writeProxyResult(response: ServerResponse, result: APIGatewayProxyResult): void {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) {
    headers[name] = String(value);
  }
  for (const [name, values] of Object.entries(result.multiValueHeaders ?? {})) {
    headers[name] = values.map(String);
  }
  const body = result.isBase64Encoded ? Buffer.from(result.body ?? '', 'base64') : Buffer.from(result.body ?? '', 'utf8');
  response.writeHead(result.statusCode, headers).end(body);
}

/** Answers as the deployed endpoint's gateway response of that type does. */
function sendGatewayAnswer(response: ServerResponse, answer: GatewayAnswer, allowedOrigins: readonly string[], status = answer.statusCode): void {
  response.writeHead(status, gatewayAnswerHeaders(answer, allowedOrigins)).end(gatewayAnswerBody(answer));
}

type Schema = { readonly [key: string]: unknown };

/**
 * Validates a JSON value against the subset of JSON Schema draft 4 the request model uses (object,
 * additionalProperties, string maxLength/minLength, integer minimum/maximum), as API Gateway's body
 * validator does; returns the problems (empty when valid).
 */
export function validateAgainstSchema(value: unknown, schema: Schema = delegationRequestSchema() as unknown as Schema, path = '$'): string[] {
  const type = schema.type as string | undefined;
  if (type === 'object') {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${path}: not an object`];
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    return Object.entries(value as Record<string, unknown>).flatMap(([name, child]) => {
      if (!Object.hasOwn(properties, name)) {
        return schema.additionalProperties === false ? [`${path}: unexpected property`] : [];
      }
      return validateAgainstSchema(child, properties[name], `${path}.${name}`);
    });
  }
  if (type === 'string') {
    if (typeof value !== 'string') return [`${path}: not a string`];
    const length = [...value].length;
    if (typeof schema.maxLength === 'number' && length > schema.maxLength) return [`${path}: too long`];
    if (typeof schema.minLength === 'number' && length < schema.minLength) return [`${path}: too short`];
    return [];
  }
  if (type === 'integer') {
    if (typeof value !== 'number' || !Number.isInteger(value)) return [`${path}: not an integer`];
    if (typeof schema.minimum === 'number' && value < schema.minimum) return [`${path}: below minimum`];
    if (typeof schema.maximum === 'number' && value > schema.maximum) return [`${path}: above maximum`];
    return [];
  }
  return [];
}

/**
 * Whether API Gateway's request validator would refuse the body: only `application/json` has a model
 * (form bodies reach the handler unvalidated), and an empty body is left to the handler.
 */
export function failsRequestModel(bytes: Buffer, contentType: string | undefined): boolean {
  const mediaType = contentType?.split(';')[0].trim().toLowerCase();
  if (mediaType !== 'application/json' || bytes.length === 0) {
    return false;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    return true;
  }
  return validateAgainstSchema(parsed).length > 0;
}

/** The mock preflight: the CORS headers for an allowed origin asking for POST, nothing for anyone else. */
export function preflightHeaders(request: IncomingMessage, allowedOrigins: readonly string[]): Record<string, string> {
  const origin = request.headers.origin;
  const method = request.headers['access-control-request-method'];
  if (origin === undefined || !allowedOrigins.includes(origin) || method !== 'POST') {
    return { Vary: 'Origin' };
  }
  return {
    'Access-Control-Allow-Origin': origin,
    'Access-Control-Allow-Methods': 'POST',
    'Access-Control-Allow-Headers': PREFLIGHT_ALLOWED_HEADERS,
    'Access-Control-Max-Age': PREFLIGHT_MAX_AGE_SECONDS,
    'Vary': 'Origin',
  };
}

async function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function lambdaContext(requestId: string): Partial<Context> {
  const endsAt = Date.now() + LAMBDA_TIMEOUT_MS;
  return {
    awsRequestId: requestId,
    functionName: 'delegation-local',
    getRemainingTimeInMillis: () => Math.max(0, endsAt - Date.now()),
  };
}

/** Starts the HTTP front of `handler` on `host:port` (loopback by default). */
export async function startDelegationServer(options: DelegationServerOptions): Promise<DelegationServer> {
  const stage = options.stage ?? 'local';

  const stagedPath = options.stagePath === undefined ? undefined : `/${options.stagePath}${DELEGATION_PATH}`;
  const isDelegationPath = (path: string) => path === DELEGATION_PATH || path === stagedPath;

  async function route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const extra = options.extraRoutes?.[path];
    if (extra && request.method === 'GET') {
      extra(request, response);
      return;
    }
    if (isDelegationPath(path) && request.method === 'OPTIONS') {
      response.writeHead(204, preflightHeaders(request, options.allowedOrigins)).end();
      return;
    }
    if (!isDelegationPath(path) || request.method !== 'POST') {
      // What API Gateway answers for a resource or method the API does not define.
      sendGatewayAnswer(response, GATEWAY_ANSWERS.MISSING_AUTHENTICATION_TOKEN, options.allowedOrigins);
      return;
    }
    const bytes = await readBody(request);
    if (bytes === undefined) {
      sendGatewayAnswer(response, GATEWAY_ANSWERS.REQUEST_TOO_LARGE, options.allowedOrigins);
      return;
    }
    if (failsRequestModel(bytes, request.headers['content-type'])) {
      sendGatewayAnswer(response, GATEWAY_ANSWERS.BAD_REQUEST_BODY, options.allowedOrigins);
      return;
    }
    const event = proxyEvent(request, bytes, stage);
    let result: APIGatewayProxyResult;
    try {
      result = await options.handler(event, lambdaContext(randomUUID()));
    } catch {
      // A handler that throws is answered like a failed Lambda integration: 502 through DEFAULT_5XX.
      sendGatewayAnswer(response, GATEWAY_ANSWERS.DEFAULT_5XX, options.allowedOrigins, 502);
      return;
    }
    writeProxyResult(response, result);
  }

  const listener: RequestListener = (request, response) => {
    route(request, response).catch(() => {
      if (!response.headersSent) sendGatewayAnswer(response, GATEWAY_ANSWERS.DEFAULT_5XX, options.allowedOrigins);
    });
  };
  const server = options.tls ? createTlsServer({ key: options.tls.key, cert: options.tls.cert }, listener) : createServer(listener);
  const host = options.host ?? '127.0.0.1';
  const listening = await listenOnLoopback(server, host, options.port ?? 0);
  const { port } = listening;
  const origin = `${options.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    origin,
    url: `${origin}${DELEGATION_PATH}`,
    stageUrl: `${origin}${stagedPath ?? DELEGATION_PATH}`,
    port,
    async close() {
      await listening.close();
    },
  };
}
