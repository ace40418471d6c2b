import type { IncomingMessage, ServerResponse } from 'node:http';
import { setEnvironment, loadBundledHandler } from './bundled-handler';
import { logicalIdsOfType, resolveIntrinsics, type DeploymentValues, type Template } from './cloudformation';
import { startDelegationServer, type DelegationServer, type ProxyHandler } from './http-adapter';
import { rolePolicies, type PolicyDocument } from './iam-decisions';
import { startOidcIssuer, type IssuerKeyAlgorithm, type LocalOidcIssuer } from './oidc-issuer';
import { startLoopbackS3, type LoopbackS3 } from './s3-server';
import { loadFromTemplate, startLoopbackSts, type LoadedTemplate, type LoopbackSts } from './sts-server';
// A type-only import: the command's bundle never contains construct code.
import type { IssuerConfig } from '../src/contract/delegation-environment';

/**
 * The whole flow on loopback: local OpenID Connect issuers, the bundled delegation handler configured
 * from a synthesized stack (issuers replaced by the local ones, signing with a test key), behind the
 * API Gateway HTTP adapter, calling the loopback STS loaded from the same template.
 */

/** The region every loopback run pretends to be in (the template's `AWS::Region` resolves to it). */
export const LOOPBACK_REGION = 'us-east-1';
export const DEV_TOKEN_PATH = '/dev/token';
/** The algorithms the local issuer can sign with, in the template's order of preference. */
const LOCAL_KEY_ALGORITHMS: readonly IssuerKeyAlgorithm[] = ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384', 'EdDSA'];

export interface TestBedIssuerOptions {
  /** Namespace of the issuer's subjects; must be set (and distinct) when there are several issuers. @default '' */
  readonly namespace?: string;
  /** The client id (token audience). @default 'local-client' */
  readonly audience?: string;
}

export interface TestBedOptions {
  /** A synthesized stack (`cdk.out/<stack>.template.json`, or `exampleStackTemplate()` in tests). */
  readonly template: Template;
  /**
   * The local issuers that replace the template's, in order.
   * @default one per issuer of the template, with its namespace and first client id
   */
  readonly issuers?: readonly TestBedIssuerOptions[];
  /** Logical id of the delegation function to run when the template has several. @default the first */
  readonly functionLogicalId?: string;
  /** Serve the endpoint (and the dev token route) over HTTPS with this key and certificate. @default plain HTTP */
  readonly tls?: { readonly key: string; readonly cert: string };
  /** Also serve a loopback S3 that checks SigV4 with the issued credentials and the role policies. @default false */
  readonly s3?: boolean;
  /** Browser origins allowed by CORS (handler and preflight). @default the template's */
  readonly allowedOrigins?: readonly string[];
  /** Loads the handler with the given `DELEGATION_*` variables. @default loadBundledHandler */
  readonly loadHandler?: (env: Record<string, string | undefined>) => ProxyHandler;
  readonly host?: string;
  /** @default 0 (random) */
  readonly port?: number;
  /** Also serve `GET /dev/token?sub=<id>[&issuer=<index>]`, which mints an id token of a local issuer. @default false */
  readonly devTokenRoute?: boolean;
  /**
   * What only a deployment knows: the account and region (`AWS::AccountId`, `AWS::Region`) and the values
   * other stacks export (`Fn::ImportValue`).
   * @default - account 123456789012, region us-east-1, imports as stand-ins
   */
  readonly deployment?: DeploymentValues;
  /** Whether the loopback STS evaluates the roles' trust policies (with iam-simulate). @default true */
  readonly evaluateTrustPolicies?: boolean;
}

export interface TestBed {
  readonly issuers: readonly LocalOidcIssuer[];
  /** The subject claim of each local issuer (the template's `subjectClaim`), which `signIn` sets. */
  readonly subjectClaims: readonly string[];
  readonly sts: LoopbackSts;
  /** Present when `s3` was asked for. */
  readonly s3?: LoopbackS3;
  /** The template's API stage (`v1`), also served as `/<stage>/delegation`, if it has one. */
  readonly stage?: string;
  readonly server: DelegationServer;
  readonly template: Template;
  readonly loaded: LoadedTemplate;
  /** The `DELEGATION_*` variables the handler was started with (holds the test key: never print it). */
  readonly handlerEnvironment: Readonly<Record<string, string | undefined>>;
  readonly allowedOrigins: readonly string[];
  readonly roleArn: string;
  /** The default role's resolved identity policies, for `s3Decision`. */
  readonly rolePolicies: PolicyDocument[];
  /** Every role that trusts the template's SAML provider, by ARN, with its resolved identity policies. */
  readonly roles: ReadonlyMap<string, { readonly logicalId: string; readonly policies: PolicyDocument[] }>;
  /**
   * The buckets of the template (as the deployment names them) and the buckets the roles' policies name
   * (imported by name or ARN, or exported by another stack).
   */
  readonly buckets: ReadonlyArray<{ readonly name: string; readonly arn: string }>;
  /** ARN of the template's first bucket (undefined when the template creates none). */
  readonly bucketArn: string;
  /** An id token for `subject` from issuer `issuerIndex`, with further claims. */
  signIn(subject: string, issuerIndex?: number, claims?: Readonly<Record<string, unknown>>): Promise<string>;
  close(): Promise<void>;
}

const S3_ARN = /^arn:aws[a-z-]*:s3:::([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/|$)/;

/** The buckets policies name in their S3 resources (a bucket given by name or ARN, or imported from another stack). */
export function bucketsNamedIn(policies: readonly PolicyDocument[]): string[] {
  const names = new Set<string>();
  for (const policy of policies) {
    for (const statement of [policy.Statement].flat(2) as Array<{ Resource?: unknown }>) {
      for (const resource of [statement?.Resource ?? []].flat()) {
        const match = typeof resource === 'string' ? S3_ARN.exec(resource) : null;
        if (match) names.add(match[1]);
      }
    }
  }
  return [...names];
}

/** Logical ids of the delegation functions of a template (those whose environment has DELEGATION_ISSUERS). */
export function delegationFunctionIds(template: Template): string[] {
  return logicalIdsOfType(template, 'AWS::Lambda::Function').filter((logicalId) => {
    const properties = template.Resources[logicalId].Properties as { Environment?: { Variables?: Record<string, unknown> } } | undefined;
    return properties?.Environment?.Variables !== undefined && 'DELEGATION_ISSUERS' in properties.Environment.Variables;
  });
}

/** The delegation function's environment variables in a synthesized template, resolved. */
export function handlerEnvironmentFromTemplate(
  template: Template,
  deployment: DeploymentValues = {},
  functionLogicalId?: string,
): Record<string, string> {
  const ids = delegationFunctionIds(template);
  const logicalId = functionLogicalId ?? ids[0];
  if (logicalId === undefined) {
    throw new Error('The template has no delegation function (no AWS::Lambda::Function with DELEGATION_ISSUERS): is it a stack with a TokenDelegation or DelegationEndpoint?');
  }
  if (!ids.includes(logicalId)) {
    throw new Error(`${logicalId} is not a delegation function of the template; these are: ${ids.join(', ')}`);
  }
  const properties = template.Resources[logicalId].Properties as { Environment: { Variables: Record<string, unknown> } };
  return resolveIntrinsics(template, properties.Environment.Variables, deployment) as Record<string, string>;
}

/** The name of the template's REST API stage (the `v1` of `…/v1/delegation`), if it has one. */
export function templateStageName(template: Template): string | undefined {
  const [stageId] = logicalIdsOfType(template, 'AWS::ApiGateway::Stage');
  const name = stageId === undefined ? undefined : template.Resources[stageId].Properties?.StageName;
  return typeof name === 'string' && /^[\w-]{1,128}$/.test(name) ? name : undefined;
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
  const deployedIssuers = JSON.parse(deployed.DELEGATION_ISSUERS) as IssuerConfig[];
  const issuers: IssuerConfig[] = local.issuers.map((issuer, index) => ({
    ...(deployedIssuers[index] ?? deployedIssuers[0]),
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

/** Claims the dev token route and `signIn` always set themselves. */
export const RESERVED_DEV_CLAIMS: readonly string[] = ['iss', 'aud', 'exp', 'iat', 'nbf', 'sub', 'azp', 'jti', 'token_use'];

/**
 * The claims a local issuer puts into a token for `subject`, so the template's issuer settings accept it,
 * with `extra` claims (for the template's role rules and session tags) that never replace reserved ones.
 */
export function devTokenClaims(
  subject: string,
  issuer: Pick<IssuerConfig, 'subjectClaim' | 'tokenUse'>,
  extra: Readonly<Record<string, unknown>> = {},
): Record<string, unknown> {
  const reserved = Object.keys(extra).filter((name) => RESERVED_DEV_CLAIMS.includes(name) || name === issuer.subjectClaim);
  if (reserved.length > 0) throw new Error(`These claims are set by the local issuer itself: ${reserved.join(', ')}`);
  return {
    ...extra,
    sub: subject,
    [issuer.subjectClaim]: subject,
    ...(issuer.tokenUse === undefined ? {} : { token_use: issuer.tokenUse }),
  };
}

function parseJsonOr(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function devTokenListener(issuers: readonly LocalOidcIssuer[], configs: readonly IssuerConfig[], allowedOrigins: readonly string[]) {
  return (request: IncomingMessage, response: ServerResponse): void => {
    const query = new URL(request.url ?? '/', 'http://localhost').searchParams;
    const origin = request.headers.origin;
    const cors: Record<string, string> = origin !== undefined && allowedOrigins.includes(origin) ? { 'Access-Control-Allow-Origin': origin, 'Vary': 'Origin' } : {};
    const subject = query.get('sub') ?? '';
    const index = Number(query.get('issuer') ?? '0');
    const issuer = issuers[index];
    const refuse = (error: string) => response.writeHead(400, { 'Content-Type': 'application/json', ...cors }).end(JSON.stringify({ error }));
    if (subject.length === 0 || subject.length > 256 || issuer === undefined) {
      refuse('give ?sub=<user id>[&issuer=<index>][&<claim>=<value>…]');
      return;
    }
    // Any other parameter is a claim (a JSON array or object value is parsed), for role rules and session tags.
    const extra: Record<string, unknown> = {};
    for (const [name, value] of query) {
      if (name !== 'sub' && name !== 'issuer') extra[name] = /^[[{]/.test(value) ? parseJsonOr(value) : value;
    }
    let claims: Record<string, unknown>;
    try {
      claims = devTokenClaims(subject, configs[index], extra);
    } catch (error) {
      refuse((error as Error).message);
      return;
    }
    issuer.sign(claims).then((token) => {
      response.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...cors })
        .end(JSON.stringify({ id_token: token, issuer: issuer.issuer }));
    }, () => response.writeHead(500).end());
  };
}

/** Starts issuers, loopback STS, handler and HTTP adapter; `close()` stops them and restores process.env. */
export async function startTestBed(options: TestBedOptions): Promise<TestBed> {
  const { template } = options;
  const closers: Array<() => Promise<void> | void> = [];
  const close = async () => {
    for (const closer of closers.reverse()) await closer();
  };
  try {
    const sts = await startLoopbackSts({ evaluateTrustPolicies: options.evaluateTrustPolicies });
    closers.push(() => sts.close());
    const loaded = await loadFromTemplate(sts, template, { deployment: options.deployment });
    const deployed = handlerEnvironmentFromTemplate(template, loaded.deployment, options.functionLogicalId);
    const templateIssuers = JSON.parse(deployed.DELEGATION_ISSUERS) as IssuerConfig[];
    const issuerOptions: readonly TestBedIssuerOptions[] = options.issuers
      ?? templateIssuers.map((issuer) => ({ namespace: issuer.namespace, audience: issuer.audiences[0] }));
    const issuers: LocalOidcIssuer[] = [];
    const issuerConfigs: IssuerConfig[] = [];
    for (const [index, issuer] of issuerOptions.entries()) {
      const config = templateIssuers[index] ?? templateIssuers[0];
      const algorithm = config.algorithms.find((alg) => LOCAL_KEY_ALGORITHMS.includes(alg as IssuerKeyAlgorithm)) as IssuerKeyAlgorithm | undefined;
      const started = await startOidcIssuer({ audience: issuer.audience ?? 'local-client', keyAlgorithms: [algorithm ?? 'RS256'] });
      closers.push(() => started.close());
      issuers.push(started);
      issuerConfigs.push(config);
    }
    const allowedOrigins = options.allowedOrigins ?? (JSON.parse(deployed.DELEGATION_ALLOWED_ORIGINS ?? '[]') as string[]);
    const handlerEnvironment = localHandlerEnvironment(deployed, {
      issuers: issuers.map((issuer, index) => ({ issuer: issuer.issuer, jwksUri: issuer.jwksUri, audience: issuer.audience, namespace: issuerOptions[index].namespace ?? '' })),
      signingKeyPem: loaded.signingKeyPem,
      allowedOrigins,
    });
    closers.push(setEnvironment(loopbackAwsEnvironment(sts.endpoint)));
    const handler = (options.loadHandler ?? loadBundledHandler)(handlerEnvironment);
    const stage = templateStageName(template);
    const server = await startDelegationServer({
      handler,
      allowedOrigins,
      host: options.host,
      port: options.port,
      stagePath: stage,
      tls: options.tls,
      extraRoutes: options.devTokenRoute ? { [DEV_TOKEN_PATH]: devTokenListener(issuers, issuerConfigs, allowedOrigins) } : undefined,
    });
    closers.push(() => server.close());

    const role = loaded.roles[0];
    if (role === undefined) {
      throw new Error('The template has no IAM role that trusts its SAML provider');
    }
    const roles = new Map(loaded.roles.map((entry) => [
      entry.arn,
      { logicalId: entry.logicalId, policies: rolePolicies(template, entry.logicalId, loaded.deployment) },
    ]));
    const bucketIds = logicalIdsOfType(template, 'AWS::S3::Bucket');
    const created = bucketIds.map((logicalId) => resolveIntrinsics(template, { Ref: logicalId }, loaded.deployment) as string);
    const named = [...roles.values()].flatMap((entry) => bucketsNamedIn(entry.policies));
    const buckets = [...new Set([...created, ...named])].map((name) => ({ name, arn: `arn:aws:s3:::${name}` }));
    let s3: LoopbackS3 | undefined;
    if (options.s3) {
      s3 = await startLoopbackS3({ sts, roles, buckets: buckets.map((bucket) => bucket.name), allowedOrigins, host: options.host });
      closers.push(() => s3!.close());
    }
    return {
      issuers,
      subjectClaims: issuerConfigs.map((config) => config.subjectClaim),
      sts,
      s3,
      stage,
      server,
      template,
      loaded,
      handlerEnvironment,
      allowedOrigins,
      roleArn: role.arn,
      rolePolicies: roles.get(role.arn)!.policies,
      roles,
      buckets,
      bucketArn: buckets[0]?.arn as string,
      signIn: (subject, issuerIndex = 0, claims = {}) => issuers[issuerIndex].sign(devTokenClaims(subject, issuerConfigs[issuerIndex], claims)),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
