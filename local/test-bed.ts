import type { IncomingMessage, ServerResponse } from 'node:http';
import { setEnvironment, loadBundledHandler } from './bundled-handler';
import { logicalIdsOfType, resolveIntrinsics, type DeploymentValues, type Template } from './cloudformation';
import { exampleStackTemplate } from './example-template';
import { startDelegationServer, type DelegationServer, type ProxyHandler } from './http-adapter';
import { rolePolicies, type PolicyDocument } from './iam-decisions';
import { startOidcIssuer, type LocalOidcIssuer } from './oidc-issuer';
import { loadFromTemplate, startLoopbackSts, type LoadedTemplate, type LoopbackSts } from './sts-server';
import type { IssuerConfig } from '../src/delegation-environment';

/**
 * The whole flow on loopback: local OpenID Connect issuers, the bundled delegation handler configured
 * from a synthesized stack (issuers replaced by the local ones, signing with a test key), behind the
 * API Gateway HTTP adapter, calling the loopback STS loaded from the same template.
 */

/** The region every loopback run pretends to be in (the template's `AWS::Region` resolves to it). */
export const LOOPBACK_REGION = 'us-east-1';
const DEV_TOKEN_PATH = '/dev/token';

export interface TestBedIssuerOptions {
  /** Namespace of the issuer's subjects; must be set (and distinct) when there are several issuers. @default '' */
  readonly namespace?: string;
  /** The client id (token audience). @default 'local-client' */
  readonly audience?: string;
}

export interface TestBedOptions {
  /** @default the example app's template (examples/example-stack.ts) */
  readonly template?: Template;
  /** @default one issuer without namespace */
  readonly issuers?: readonly TestBedIssuerOptions[];
  /** Browser origins allowed by CORS (handler and preflight). @default the template's */
  readonly allowedOrigins?: readonly string[];
  /** Loads the handler with the given `DELEGATION_*` variables. @default loadBundledHandler */
  readonly loadHandler?: (env: Record<string, string | undefined>) => ProxyHandler;
  readonly host?: string;
  /** @default 0 (random) */
  readonly port?: number;
  /** Also serve `GET /dev/token?sub=<id>[&issuer=<index>]`, which mints an id token of a local issuer. @default false */
  readonly devTokenRoute?: boolean;
}

export interface TestBed {
  readonly issuers: readonly LocalOidcIssuer[];
  readonly sts: LoopbackSts;
  readonly server: DelegationServer;
  readonly template: Template;
  readonly loaded: LoadedTemplate;
  /** The `DELEGATION_*` variables the handler was started with (holds the test key: never print it). */
  readonly handlerEnvironment: Readonly<Record<string, string | undefined>>;
  readonly allowedOrigins: readonly string[];
  readonly roleArn: string;
  /** The role's resolved identity policies, for `s3Decision`. */
  readonly rolePolicies: PolicyDocument[];
  /** ARN of the template's bucket (the one the role's policy names). */
  readonly bucketArn: string;
  /** An id token for `subject` from issuer `issuerIndex`. */
  signIn(subject: string, issuerIndex?: number): Promise<string>;
  close(): Promise<void>;
}

/** The delegation function's environment variables in a synthesized template, resolved. */
export function handlerEnvironmentFromTemplate(template: Template, deployment: DeploymentValues = {}): Record<string, string> {
  for (const logicalId of logicalIdsOfType(template, 'AWS::Lambda::Function')) {
    const properties = template.Resources[logicalId].Properties as { Environment?: { Variables?: Record<string, unknown> } } | undefined;
    const variables = properties?.Environment?.Variables;
    if (variables && 'DELEGATION_ISSUERS' in variables) {
      return resolveIntrinsics(template, variables, deployment) as Record<string, string>;
    }
  }
  throw new Error('The template has no function with DELEGATION_ISSUERS');
}

/**
 * The deployed environment with the issuers replaced by local ones (keeping the template's algorithms,
 * subject claim and time limits) and the KMS signer replaced by an in-memory PEM key.
 */
export function localHandlerEnvironment(
  deployed: Readonly<Record<string, string>>,
  local: {
    readonly issuers: ReadonlyArray<{ readonly issuer: string; readonly jwksUri: string; readonly audience: string; readonly namespace: string }>;
    readonly signingKeyPem: string;
    readonly allowedOrigins?: readonly string[];
  },
): Record<string, string | undefined> {
  const [deployedIssuer] = JSON.parse(deployed.DELEGATION_ISSUERS) as IssuerConfig[];
  const issuers: IssuerConfig[] = local.issuers.map((issuer) => ({
    ...deployedIssuer,
    issuer: issuer.issuer,
    jwksUri: issuer.jwksUri,
    audiences: [issuer.audience],
    namespace: issuer.namespace,
  }));
  return {
    ...deployed,
    DELEGATION_ISSUERS: JSON.stringify(issuers),
    DELEGATION_SIGNER: 'pem',
    DELEGATION_SIGNING_KEY_PEM: local.signingKeyPem,
    DELEGATION_KMS_KEY_ARN: undefined,
    DELEGATION_SIGNING_KEY_SECRET_ARN: undefined,
    ...(local.allowedOrigins ? { DELEGATION_ALLOWED_ORIGINS: JSON.stringify(local.allowedOrigins) } : {}),
  };
}

/** The AWS SDK settings that keep the handler's STS calls on the loopback STS (and off every credential source). */
export function loopbackAwsEnvironment(stsEndpoint: string): Record<string, string | undefined> {
  return {
    AWS_REGION: LOOPBACK_REGION,
    AWS_DEFAULT_REGION: undefined,
    AWS_ENDPOINT_URL: undefined,
    AWS_ENDPOINT_URL_STS: stsEndpoint,
    AWS_PROFILE: undefined,
    AWS_CONFIG_FILE: '/nonexistent/aws-config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

function devTokenListener(issuers: readonly LocalOidcIssuer[], allowedOrigins: readonly string[]) {
  return (request: IncomingMessage, response: ServerResponse): void => {
    const query = new URL(request.url ?? '/', 'http://localhost').searchParams;
    const origin = request.headers.origin;
    const cors: Record<string, string> = origin !== undefined && allowedOrigins.includes(origin) ? { 'Access-Control-Allow-Origin': origin, 'Vary': 'Origin' } : {};
    const subject = query.get('sub') ?? '';
    const issuer = issuers[Number(query.get('issuer') ?? '0')];
    if (subject.length === 0 || subject.length > 256 || issuer === undefined) {
      response.writeHead(400, { 'Content-Type': 'application/json', ...cors }).end(JSON.stringify({ error: 'give ?sub=<user id>[&issuer=<index>]' }));
      return;
    }
    issuer.sign({ sub: subject }).then((token) => {
      response.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...cors })
        .end(JSON.stringify({ id_token: token, issuer: issuer.issuer }));
    }, () => response.writeHead(500).end());
  };
}

/** Starts issuers, loopback STS, handler and HTTP adapter; `close()` stops them and restores process.env. */
export async function startTestBed(options: TestBedOptions = {}): Promise<TestBed> {
  const template = options.template ?? exampleStackTemplate();
  const issuerOptions = options.issuers ?? [{}];
  const closers: Array<() => Promise<void> | void> = [];
  const close = async () => {
    for (const closer of closers.reverse()) await closer();
  };
  try {
    const issuers: LocalOidcIssuer[] = [];
    for (const issuer of issuerOptions) {
      const started = await startOidcIssuer({ audience: issuer.audience ?? 'local-client' });
      closers.push(() => started.close());
      issuers.push(started);
    }
    const sts = await startLoopbackSts();
    closers.push(() => sts.close());
    const loaded = await loadFromTemplate(sts, template);
    const deployed = handlerEnvironmentFromTemplate(template, loaded.deployment);
    const allowedOrigins = options.allowedOrigins ?? (JSON.parse(deployed.DELEGATION_ALLOWED_ORIGINS ?? '[]') as string[]);
    const handlerEnvironment = localHandlerEnvironment(deployed, {
      issuers: issuers.map((issuer, index) => ({ issuer: issuer.issuer, jwksUri: issuer.jwksUri, audience: issuer.audience, namespace: issuerOptions[index].namespace ?? '' })),
      signingKeyPem: loaded.signingKeyPem,
      allowedOrigins,
    });
    closers.push(setEnvironment(loopbackAwsEnvironment(sts.endpoint)));
    const handler = (options.loadHandler ?? loadBundledHandler)(handlerEnvironment);
    const server = await startDelegationServer({
      handler,
      allowedOrigins,
      host: options.host,
      port: options.port,
      extraRoutes: options.devTokenRoute ? { [DEV_TOKEN_PATH]: devTokenListener(issuers, allowedOrigins) } : undefined,
    });
    closers.push(() => server.close());

    const role = loaded.roles[0];
    const [bucketLogicalId] = logicalIdsOfType(template, 'AWS::S3::Bucket');
    return {
      issuers,
      sts,
      server,
      template,
      loaded,
      handlerEnvironment,
      allowedOrigins,
      roleArn: role.arn,
      rolePolicies: rolePolicies(template, role.logicalId),
      bucketArn: resolveIntrinsics(template, { 'Fn::GetAtt': [bucketLogicalId, 'Arn'] }) as string,
      signIn: (subject, issuerIndex = 0) => issuers[issuerIndex].sign({ sub: subject }),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
