import { verify, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { recordCapturedOutput } from './secret-scan';
import { loadBundledHandler as loadBundle, setEnvironment } from '../../local/bundled-handler';

/**
 * Drives the bundled delegation handler (assets/lambda/delegation/index.js, as deployed) with API Gateway
 * proxy events: loading it with a given environment, building events, capturing its log lines.
 */

export const BUNDLE_PATH = join(__dirname, '..', '..', 'assets', 'lambda', 'delegation', 'index.js');

export type DelegationHandler = (event: APIGatewayProxyEvent, context?: Partial<Context>) => Promise<APIGatewayProxyResult>;

export const ROLE_ARN = 'arn:aws:iam::123456789012:role/delegation/TokenDelegationUserRole';
export const ADMIN_ROLE_ARN = 'arn:aws:iam::123456789012:role/delegation/TokenDelegationAdminRole';
export const PROVIDER_ARN = 'arn:aws:iam::123456789012:saml-provider/TokenDelegation';
export const KMS_KEY_ARN = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
export const ENTITY_ID = 'https://delegation.example.com/saml';
export const RECIPIENT = 'https://signin.aws.amazon.com/saml';
export const APP_ORIGIN = 'https://app.example.com';
export const CLIENT_ID = 'local-client';

/** Environment variables the AWS SDK reads, replaced for the tests so nothing leaves 127.0.0.1. */
const AWS_VARIABLES = [
  'AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_STS', 'AWS_ENDPOINT_URL_KMS',
  'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE',
  'AWS_CONFIG_FILE', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_EC2_METADATA_DISABLED',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', 'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED',
];

export { setEnvironment };

/**
 * The AWS side of the environment: a dummy region, the loopback STS and KMS endpoints, no shared files,
 * no instance metadata, and credentials only when given (KMS needs SigV4, STS must not).
 */
export function awsTestEnvironment(
  endpoints: { sts: string; kms?: string },
  credentials?: { accessKeyId: string; secretAccessKey: string },
): Record<string, string | undefined> {
  const cleared = Object.fromEntries(AWS_VARIABLES.map((name) => [name, undefined]));
  return {
    ...cleared,
    AWS_REGION: 'eu-west-1',
    AWS_ENDPOINT_URL_STS: endpoints.sts,
    AWS_ENDPOINT_URL_KMS: endpoints.kms,
    AWS_CONFIG_FILE: '/nonexistent/aws-config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
    AWS_EC2_METADATA_DISABLED: 'true',
    // The suite runs on Node 22 or newer, but a run on an older Node must not have the SDK's
    // "releases from January 2027 need Node 22" warning in the handler's captured output.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    AWS_ACCESS_KEY_ID: credentials?.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials?.secretAccessKey,
  };
}

/** The `DELEGATION_*` variables of a typical deployment, with `overrides` applied. */
export function delegationEnvironment(
  issuer: { issuer: string; jwksUri: string },
  signer: { pem: string } | { kmsKeyArn: string },
  overrides: Record<string, string | undefined> = {},
): Record<string, string | undefined> {
  return {
    DELEGATION_ISSUERS: JSON.stringify([{
      issuer: issuer.issuer,
      jwksUri: issuer.jwksUri,
      audiences: [CLIENT_ID],
      algorithms: ['RS256'],
      subjectClaim: 'sub',
      namespace: '',
      maxTokenAgeSeconds: 3600,
      clockToleranceSeconds: 30,
    }]),
    DELEGATION_SAML_ENTITY_ID: ENTITY_ID,
    DELEGATION_SAML_RECIPIENT: RECIPIENT,
    DELEGATION_SAML_PROVIDER_ARN: PROVIDER_ARN,
    DELEGATION_ROLES: JSON.stringify({
      defaultRoleArn: ROLE_ARN,
      rules: [{ roleArn: ADMIN_ROLE_ARN, issuer: issuer.issuer, claim: 'groups', match: 'contains', value: 'admin' }],
      clientSelectable: [ROLE_ARN, ADMIN_ROLE_ARN],
    }),
    DELEGATION_SESSION_TAGS: JSON.stringify([{ issuer: issuer.issuer, key: 'department', claim: 'department', required: false }]),
    DELEGATION_SESSION_DURATION_SECONDS: '3600',
    DELEGATION_ALLOWED_ORIGINS: JSON.stringify([APP_ORIGIN]),
    DELEGATION_METRICS_NAMESPACE: 'TokenDelegationTest',
    DELEGATION_ASSERTION_LIFETIME_SECONDS: undefined,
    ...('pem' in signer
      ? { DELEGATION_SIGNER: 'pem', DELEGATION_SIGNING_KEY_PEM: signer.pem, DELEGATION_KMS_KEY_ARN: undefined, DELEGATION_SIGNING_KEY_SECRET_ARN: undefined }
      : { DELEGATION_SIGNER: 'kms', DELEGATION_KMS_KEY_ARN: signer.kmsKeyArn, DELEGATION_SIGNING_KEY_PEM: undefined, DELEGATION_SIGNING_KEY_SECRET_ARN: undefined }),
    ...overrides,
  };
}

/**
 * Loads a fresh copy of the bundled handler (a cold start) through local/'s loader, with `env` set while
 * its module code runs; jest's module registry is bypassed with `jest.isolateModules`.
 */
export function loadBundledHandler(env: Record<string, string | undefined>): DelegationHandler {
  return loadBundle(env, { bundlePath: BUNDLE_PATH, requireFresh: requireIsolated });
}

function requireIsolated(path: string): unknown {
  let loaded: unknown;
  jest.isolateModules(() => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded = require(path);
  });
  return loaded;
}

export interface EventOptions {
  readonly method?: string;
  /** Header name to one value, or several values (sent as repeated headers). */
  readonly headers?: Record<string, string | string[]>;
  readonly body?: string | null;
  readonly isBase64Encoded?: boolean;
  readonly query?: Record<string, string>;
}

/** An API Gateway REST (v1) proxy event for `/delegation`. */
export function apiGatewayEvent(options: EventOptions = {}): APIGatewayProxyEvent {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    const values = Array.isArray(value) ? value : [value];
    headers[name] = values[values.length - 1];
    multiValueHeaders[name] = values;
  }
  const query = options.query;
  return {
    resource: '/delegation',
    path: '/delegation',
    httpMethod: options.method ?? 'POST',
    headers,
    multiValueHeaders,
    queryStringParameters: query ?? null,
    multiValueQueryStringParameters: query ? Object.fromEntries(Object.entries(query).map(([name, value]) => [name, [value]])) : null,
    pathParameters: null,
    stageVariables: null,
    body: options.body === undefined ? null : options.body,
    isBase64Encoded: options.isBase64Encoded ?? false,
    requestContext: {
      accountId: '123456789012',
      apiId: 'api1234567',
      authorizer: null,
      protocol: 'HTTP/1.1',
      httpMethod: options.method ?? 'POST',
      identity: {} as APIGatewayProxyEvent['requestContext']['identity'],
      path: '/v1/delegation',
      stage: 'v1',
      requestId: `api-${Math.random().toString(36).slice(2)}`,
      requestTimeEpoch: Date.now(),
      resourceId: 'res123',
      resourcePath: '/delegation',
    },
  };
}

/** A Lambda context with a request id and the remaining time of a 10 s function. */
export function lambdaContext(remainingMs = 10_000): Partial<Context> {
  const endsAt = Date.now() + remainingMs;
  return {
    awsRequestId: `lambda-${Math.random().toString(36).slice(2)}`,
    getRemainingTimeInMillis: () => endsAt - Date.now(),
  };
}

/** Everything written to stdout and the console while `work` runs; nothing reaches the real stdout. */
export async function captureOutput<T>(work: () => Promise<T>): Promise<{ result: T; output: string; lines: Array<Record<string, unknown>> }> {
  const chunks: string[] = [];
  const record = (...parts: unknown[]) => {
    chunks.push(parts.map((part) => (typeof part === 'string' ? part : String(part))).join(' ') + '\n');
  };
  const spies = [
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    }),
    jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    }),
    ...(['log', 'info', 'warn', 'error', 'debug'] as const).map((method) => jest.spyOn(console, method).mockImplementation(record)),
  ];
  try {
    const result = await work();
    const output = chunks.join('');
    const lines = output.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);
    return { result, output, lines };
  } finally {
    for (const spy of spies) {
      spy.mockRestore();
    }
    recordCapturedOutput(chunks.join(''));
  }
}

/** `handler` with its log lines dropped, for tests that serve it over HTTP and read only the answers. */
export function withoutLogs<E, C, R>(handler: (event: E, context: C) => Promise<R>): (event: E, context: C) => Promise<R> {
  return async (event, context) => {
    const write = process.stdout.write;
    process.stdout.write = (() => true) as typeof process.stdout.write;
    try {
      return await handler(event, context);
    } finally {
      process.stdout.write = write;
    }
  };
}

/** What `work` returns and everything it wrote, as one text (see {@link captureOutput}). */
export async function logsOf<T>(work: () => Promise<T>): Promise<{ result: T; logs: string }> {
  const { result, output } = await captureOutput(work);
  return { result, logs: output };
}

/** Verifies the enveloped signature value of a SAML Response over its embedded canonical SignedInfo. */
export function samlSignatureVerifies(samlResponseXml: string, publicKey: KeyObject): boolean {
  const signedInfo = /<ds:SignedInfo[\s\S]*?<\/ds:SignedInfo>/.exec(samlResponseXml)?.[0];
  const signatureValue = /<ds:SignatureValue>([^<]+)<\/ds:SignatureValue>/.exec(samlResponseXml)?.[1];
  if (!signedInfo || !signatureValue) {
    return false;
  }
  return verify('sha256', Buffer.from(signedInfo, 'utf8'), publicKey, Buffer.from(signatureValue, 'base64'));
}
