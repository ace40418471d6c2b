import { createHash, createPublicKey, generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { logicalIdsOfType, resolveIntrinsics, resolvedProperties, type DeploymentValues, type Template } from './cloudformation';
import { trustDecision } from './iam-decisions';
import { listenOnLoopback } from './loopback-server';
import { registerSecret } from './secret-registry';
import {
  DEFAULT_DURATION_SECONDS,
  MAX_DURATION_SECONDS,
  PROVIDER_ARN,
  ROLE_ARN,
  StsError,
  asList,
  checkAssertion,
  checkParameters,
  invalidToken,
  nameQualifierOf,
  notAuthorized,
  trustPolicyForAction,
  validationError,
  type AssumeRoleWithSamlParameters,
} from './sts-rules';
import { SamlResponseError, parseSamlProviderMetadata, readSignedSamlResponse, type SamlProviderMetadata } from './sts-saml';
import { buildSelfSignedCertificate } from '../lambda/certificate/certificate';
import { PemSigner } from '../lambda/shared/pem-signer';
import { SAML_ATTRIBUTE_CONDITION_KEYS } from '../src/contract/saml-attribute-keys';

export { StsError, type AssumeRoleWithSamlParameters } from './sts-rules';

/**
 * A loopback (127.0.0.1) endpoint that answers `sts:AssumeRoleWithSAML` the way AWS documents it:
 * it holds SAML providers (metadata) and roles (trust policy, maximum session), checks the signed
 * assertion (sts-saml.ts) and its claims (sts-rules.ts, which also lists the error codes), evaluates
 * the trust policy with iam-simulate, and answers in STS's XML. For tests and local runs only.
 */

const STS_NAMESPACE = 'https://sts.amazonaws.com/doc/2011-06-15/';
const MAX_REQUEST_BYTES = 512 * 1024;

/** A SAML provider as IAM holds it. */
export interface RegisteredProvider extends SamlProviderMetadata {
  readonly arn: string;
  readonly name: string;
  readonly accountId: string;
  readonly metadataXml: string;
}

/** A role as IAM holds it. */
export interface RegisteredRole {
  readonly arn: string;
  /** The resolved trust policy document. */
  readonly trustPolicy: unknown;
  readonly maxSessionDurationSeconds: number;
}

/** One set of credentials the loopback STS issued (the secret parts are not kept). */
export interface IssuedSession {
  readonly requestId: string;
  readonly roleArn: string;
  readonly providerArn: string;
  readonly accessKeyId: string;
  readonly expiration: Date;
  readonly assumedRoleArn: string;
  readonly assumedRoleId: string;
  readonly roleSessionName: string;
  readonly subject: string;
  readonly subjectType: string;
  readonly issuer: string;
  readonly audience: string;
  readonly nameQualifier: string;
  readonly sourceIdentity?: string;
  readonly sessionTags: ReadonlyArray<{ readonly key: string; readonly value: string }>;
  readonly transitiveTagKeys: readonly string[];
  readonly durationSeconds: number;
}

/** Every request the endpoint answered. */
export interface StsCall {
  readonly requestId: string;
  readonly action?: string;
  /** Whether the request carried a SigV4 signature (AssumeRoleWithSAML needs none). */
  readonly signed: boolean;
  readonly status: number;
  /** `issued` or the error code. */
  readonly outcome: string;
}

export interface LoopbackStsOptions {
  /** Tolerated clock difference for every time check. @default 60 */
  readonly clockSkewSeconds?: number;
  /** How long after IssueInstant an assertion may be redeemed. @default 300 */
  readonly maxAssertionAgeSeconds?: number;
  /** The clock. @default () => new Date() */
  readonly now?: () => Date;
  /**
   * Whether roles' trust policies are evaluated (with iam-simulate). Without, a role that trusts the
   * provider as a federated principal may be assumed whatever its conditions say.
   * @default true
   */
  readonly evaluateTrustPolicies?: boolean;
}

/** The successful answer, with the secrets that only the caller sees. */
export interface AssumeRoleWithSamlAnswer {
  readonly session: IssuedSession;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
}

export interface LoopbackSts {
  /** `http://127.0.0.1:<port>`, for `AWS_ENDPOINT_URL_STS` or the SDK's `endpoint`. */
  readonly endpoint: string;
  readonly issued: IssuedSession[];
  readonly calls: StsCall[];
  readonly providers: ReadonlyMap<string, RegisteredProvider>;
  readonly roles: ReadonlyMap<string, RegisteredRole>;
  /** Registers (or replaces) a SAML provider from its metadata document. */
  registerProvider(arn: string, metadataXml: string): RegisteredProvider;
  /** Registers (or replaces) a role. @default maxSessionDurationSeconds 3600 */
  registerRole(arn: string, trustPolicy: unknown, maxSessionDurationSeconds?: number): RegisteredRole;
  /**
   * The unexpired credentials issued with `accessKeyId`, for a loopback service that checks SigV4
   * signatures (the loopback S3); kept in memory only.
   */
  credentials(accessKeyId: string): AssumeRoleWithSamlAnswer | undefined;
  /** Decides one call without HTTP; throws {@link StsError}. */
  assumeRoleWithSaml(parameters: AssumeRoleWithSamlParameters, requestId?: string): Promise<AssumeRoleWithSamlAnswer>;
  close(): Promise<void>;
}

/** Escapes text for the XML answers. */
function xmlText(value: string): string {
  return value.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

function isoSeconds(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
function base32(bytes: Uint8Array, length: number): string {
  let out = '';
  for (let index = 0; out.length < length; index++) {
    out += BASE32[bytes[index % bytes.length] % 32];
  }
  return out;
}

/** The stable unique id IAM gives a role (`AROA` + 17 characters), derived from its ARN. */
export function roleUniqueId(roleArn: string): string {
  return `AROA${base32(createHash('sha256').update(roleArn).digest(), 17)}`;
}

/** Starts the loopback STS on 127.0.0.1 with a random port. */
export async function startLoopbackSts(options: LoopbackStsOptions = {}): Promise<LoopbackSts> {
  const skewMs = (options.clockSkewSeconds ?? 60) * 1000;
  const maxAgeMs = (options.maxAssertionAgeSeconds ?? 300) * 1000;
  const clock = options.now ?? (() => new Date());
  const providers = new Map<string, RegisteredProvider>();
  const roles = new Map<string, RegisteredRole>();
  const issued: IssuedSession[] = [];
  const calls: StsCall[] = [];
  const answers = new Map<string, AssumeRoleWithSamlAnswer>();

  function registerProvider(arn: string, metadataXml: string): RegisteredProvider {
    const match = PROVIDER_ARN.exec(arn);
    if (!match) throw new Error(`Not a SAML provider ARN: ${arn}`);
    const provider = { arn, name: match[3], accountId: match[2], metadataXml, ...parseSamlProviderMetadata(metadataXml) };
    providers.set(arn, provider);
    return provider;
  }

  function registerRole(arn: string, trustPolicy: unknown, maxSessionDurationSeconds = DEFAULT_DURATION_SECONDS): RegisteredRole {
    if (!ROLE_ARN.test(arn)) throw new Error(`Not a role ARN: ${arn}`);
    if (!Number.isInteger(maxSessionDurationSeconds) || maxSessionDurationSeconds < 3600 || maxSessionDurationSeconds > MAX_DURATION_SECONDS) {
      throw new Error('MaxSessionDuration must be 3600..43200 seconds');
    }
    const role = { arn, trustPolicy, maxSessionDurationSeconds };
    roles.set(arn, role);
    return role;
  }

  async function assumeRoleWithSaml(parameters: AssumeRoleWithSamlParameters, requestId: string = randomUUID()): Promise<AssumeRoleWithSamlAnswer> {
    const { roleArn, providerArn, samlAssertion, durationSeconds } = checkParameters(parameters);
    registerSecret('saml-response', samlAssertion);
    const provider = providers.get(providerArn);
    if (!provider) {
      throw invalidToken('Specified provider doesn\'t exist');
    }
    let facts;
    try {
      facts = readSignedSamlResponse(samlAssertion, provider.certificates);
    } catch (error) {
      if (error instanceof SamlResponseError) {
        throw invalidToken(error.kind === 'signature' ? 'Response signature invalid' : `Invalid SAML response: ${error.message}`);
      }
      throw error;
    }
    const now = clock().getTime();
    const claims = checkAssertion(facts, { issuer: provider.entityId, roleArn, providerArn, now, clockSkewMs: skewMs, maxAgeMs });
    const role = roles.get(roleArn);
    if (!role) {
      throw notAuthorized('sts:AssumeRoleWithSAML');
    }
    const nameQualifier = nameQualifierOf(facts.assertion.issuer, provider.accountId, provider.name);
    const { tags, sourceIdentity } = claims;
    const context: Record<string, string | string[]> = {
      'saml:aud': claims.recipient,
      'saml:iss': facts.assertion.issuer,
      'saml:sub': claims.subject,
      'saml:sub_type': claims.subjectType,
      'saml:namequalifier': nameQualifier,
      'saml:doc': `${provider.accountId}/${provider.name}`,
      ...samlAttributeContext(facts.assertion.attributes),
      ...(sourceIdentity === undefined ? {} : { 'sts:SourceIdentity': sourceIdentity }),
      ...(tags.length === 0 ? {} : {
        'aws:TagKeys': tags.map((tag) => tag.key),
        ...Object.fromEntries(tags.map((tag) => [`aws:RequestTag/${tag.key}`, tag.value])),
      }),
    };
    const trusts = async (action: string) => options.evaluateTrustPolicies === false ||
      (await trustDecision(trustPolicyForAction(role.trustPolicy, action), { roleArn, providerArn, action: 'sts:AssumeRoleWithSAML', context })).decision === 'Allowed';
    if (!await trusts('sts:AssumeRoleWithSAML')) {
      throw notAuthorized('sts:AssumeRoleWithSAML');
    }
    if (tags.length > 0 && !await trusts('sts:TagSession')) {
      throw notAuthorized('sts:TagSession');
    }
    if (sourceIdentity !== undefined && !await trusts('sts:SetSourceIdentity')) {
      throw notAuthorized('sts:SetSourceIdentity');
    }
    if (durationSeconds !== undefined && durationSeconds > role.maxSessionDurationSeconds) {
      throw validationError('The requested DurationSeconds exceeds the MaxSessionDuration set for this role.');
    }

    // The session ends at the earliest of DurationSeconds (default one hour), SessionDuration and SessionNotOnOrAfter.
    const grantedSeconds = Math.min(durationSeconds ?? DEFAULT_DURATION_SECONDS, claims.sessionDurationSeconds ?? Infinity);
    const expirationMs = Math.min(now + grantedSeconds * 1000, claims.sessionNotOnOrAfter?.getTime() ?? Infinity);
    const { 1: partition, 2: accountId, 4: roleName } = ROLE_ARN.exec(roleArn)!;
    const session: IssuedSession = {
      requestId,
      roleArn,
      providerArn,
      accessKeyId: `ASIA${base32(randomBytes(16), 16)}`,
      expiration: new Date(Math.floor(expirationMs / 1000) * 1000),
      assumedRoleArn: `arn:${partition}:sts::${accountId}:assumed-role/${roleName}/${claims.roleSessionName}`,
      assumedRoleId: `${roleUniqueId(roleArn)}:${claims.roleSessionName}`,
      roleSessionName: claims.roleSessionName,
      subject: claims.subject,
      subjectType: claims.subjectType,
      issuer: facts.assertion.issuer,
      audience: claims.recipient,
      nameQualifier,
      sourceIdentity,
      sessionTags: tags,
      transitiveTagKeys: claims.transitiveTagKeys,
      durationSeconds: Math.round((expirationMs - now) / 1000),
    };
    issued.push(session);
    const issuedAnswer = {
      session,
      secretAccessKey: registerSecret('aws-secret-access-key', randomBytes(30).toString('base64')),
      sessionToken: registerSecret('aws-session-token', randomBytes(120).toString('base64')),
    };
    answers.set(session.accessKeyId, issuedAnswer);
    return issuedAnswer;
  }

  function credentials(accessKeyId: string): AssumeRoleWithSamlAnswer | undefined {
    const found = answers.get(accessKeyId);
    return found !== undefined && found.session.expiration.getTime() > clock().getTime() ? found : undefined;
  }

  const server = createServer((request, response) => {
    answer(request, response).catch(() => {
      if (!response.headersSent) response.writeHead(500).end();
    });
  });

  async function answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    const signed = request.headers.authorization !== undefined || (request.url ?? '').includes('X-Amz-Signature');
    let action: string | undefined;
    let status = 200;
    let body: string;
    try {
      if (request.method !== 'POST' || (request.url ?? '/').split('?')[0] !== '/') {
        throw new StsError(404, 'UnknownOperation', 'The loopback STS answers POST / only');
      }
      const form = new URLSearchParams(await readBody(request));
      action = form.get('Action') ?? undefined;
      if (action !== 'AssumeRoleWithSAML' || form.get('Version') !== '2011-06-15') {
        throw new StsError(400, 'InvalidAction', 'Could not find operation for this Action and Version');
      }
      const result = await assumeRoleWithSaml({
        RoleArn: form.get('RoleArn') ?? undefined,
        PrincipalArn: form.get('PrincipalArn') ?? undefined,
        SAMLAssertion: form.get('SAMLAssertion') ?? undefined,
        DurationSeconds: form.get('DurationSeconds') ?? undefined,
        Policy: form.get('Policy') ?? undefined,
        PolicyArns: [...form.keys()].some((key) => key.startsWith('PolicyArns.')),
      }, requestId);
      body = successXml(result, requestId);
      calls.push({ requestId, action, signed, status, outcome: 'issued' });
    } catch (error) {
      const failure = error instanceof StsError ? error : new StsError(500, 'InternalFailure', 'The loopback STS failed', 'Receiver');
      status = failure.status;
      body = errorXml(failure, requestId);
      calls.push({ requestId, action, signed, status, outcome: failure.code });
    }
    response.writeHead(status, { 'Content-Type': 'text/xml', 'x-amzn-RequestId': requestId }).end(body);
  }

  const listening = await listenOnLoopback(server);
  const endpoint = `http://127.0.0.1:${listening.port}`;

  return {
    endpoint,
    issued,
    calls,
    providers,
    roles,
    registerProvider,
    registerRole,
    credentials,
    assumeRoleWithSaml,
    async close() {
      await listening.close();
    },
  };
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_REQUEST_BYTES) {
      throw validationError('Request is too large');
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** `AssumeRoleWithSAMLResponse` as STS writes it. */
export function successXml(answer: AssumeRoleWithSamlAnswer, requestId: string): string {
  const { session } = answer;
  return `<AssumeRoleWithSAMLResponse xmlns="${STS_NAMESPACE}">
  <AssumeRoleWithSAMLResult>
    <Audience>${xmlText(session.audience)}</Audience>
    <AssumedRoleUser>
      <AssumedRoleId>${xmlText(session.assumedRoleId)}</AssumedRoleId>
      <Arn>${xmlText(session.assumedRoleArn)}</Arn>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>${session.accessKeyId}</AccessKeyId>
      <SecretAccessKey>${answer.secretAccessKey}</SecretAccessKey>
      <SessionToken>${answer.sessionToken}</SessionToken>
      <Expiration>${isoSeconds(session.expiration)}</Expiration>
    </Credentials>
    <Issuer>${xmlText(session.issuer)}</Issuer>
    <NameQualifier>${session.nameQualifier}</NameQualifier>
${session.sourceIdentity === undefined ? '' : `    <SourceIdentity>${xmlText(session.sourceIdentity)}</SourceIdentity>\n`}    <Subject>${xmlText(session.subject)}</Subject>
    <SubjectType>${xmlText(session.subjectType)}</SubjectType>
  </AssumeRoleWithSAMLResult>
  <ResponseMetadata>
    <RequestId>${requestId}</RequestId>
  </ResponseMetadata>
</AssumeRoleWithSAMLResponse>
`;
}

/** `ErrorResponse` as STS writes it. */
export function errorXml(error: StsError, requestId: string): string {
  return `<ErrorResponse xmlns="${STS_NAMESPACE}">
  <Error>
    <Type>${error.type}</Type>
    <Code>${xmlText(error.code)}</Code>
    <Message>${xmlText(error.message)}</Message>
  </Error>
  <RequestId>${requestId}</RequestId>
</ErrorResponse>
`;
}

export interface TemplateLoadOptions {
  /** Account, region and physical ids used to resolve the template. */
  readonly deployment?: DeploymentValues;
  /** The RSA key whose certificate replaces the deploy-time certificates. @default - a new RSA-2048 key */
  readonly signingKeyPem?: string;
}

/** What {@link loadFromTemplate} registered, and the values a deployment would have produced. */
export interface LoadedTemplate {
  /** PKCS#8 PEM of the test signing key (for the handler's `pem` signer); never logged. */
  readonly signingKeyPem: string;
  /** Base64 DER of the certificate put into every metadata document. */
  readonly certificateBase64: string;
  /** The deployment values, including the certificate resources' `CertificateBase64`. */
  readonly deployment: DeploymentValues;
  readonly providers: ReadonlyArray<{ readonly logicalId: string; readonly arn: string; readonly entityId: string }>;
  readonly roles: ReadonlyArray<{ readonly logicalId: string; readonly arn: string; readonly maxSessionDurationSeconds: number }>;
}

/** Logical ids of every resource whose `CertificateBase64` attribute `value` reads. */
function certificateResourceIds(value: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    value.forEach((item) => certificateResourceIds(item, found));
  } else if (value !== null && typeof value === 'object') {
    for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
      if (key === 'Fn::GetAtt') {
        const [logicalId, attribute] = Array.isArray(child) ? child as string[] : String(child).split('.');
        if (attribute === 'CertificateBase64') found.add(logicalId);
      }
      certificateResourceIds(child, found);
    }
  }
  return found;
}

function federatedPrincipals(trustPolicy: unknown): string[] {
  const statements = (trustPolicy as { Statement?: unknown }).Statement;
  return (Array.isArray(statements) ? statements : [statements]).flatMap((statement) =>
    asList((statement as { Principal?: { Federated?: unknown } } | undefined)?.Principal?.Federated));
}

/**
 * Registers the SAML providers of a synthesized stack (their metadata resolved with a certificate made
 * here, by the deploy-time code, for a test key) and every role that trusts one of them.
 */
export async function loadFromTemplate(sts: LoopbackSts, template: Template, options: TemplateLoadOptions = {}): Promise<LoadedTemplate> {
  const signingKeyPem = options.signingKeyPem
    ?? generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const certificate = await buildSelfSignedCertificate({
    subjectPublicKeyInfoDer: new Uint8Array(createPublicKey(signingKeyPem).export({ type: 'spki', format: 'der' })),
    commonName: 'cdk-token-delegation SAML signing',
    signer: new PemSigner(signingKeyPem),
  });
  const certificateBase64 = Buffer.from(certificate.der).toString('base64');

  const providerIds = logicalIdsOfType(template, 'AWS::IAM::SAMLProvider');
  const certificateIds = new Set(providerIds.flatMap((id) => [...certificateResourceIds(template.Resources[id].Properties)]));
  const given = options.deployment ?? {};
  const deployment: DeploymentValues = {
    ...given,
    resources: {
      ...given.resources,
      ...Object.fromEntries([...certificateIds].map((id) => [id, { CertificateBase64: certificateBase64, ...given.resources?.[id] }])),
    },
  };

  const providers = providerIds.map((logicalId) => {
    const arn = resolveIntrinsics(template, { Ref: logicalId }, deployment) as string;
    const metadataXml = resolvedProperties(template, logicalId, deployment).SamlMetadataDocument as string;
    return { logicalId, arn, entityId: sts.registerProvider(arn, metadataXml).entityId };
  });
  const providerArns = new Set(providers.map((provider) => provider.arn));
  const roles = logicalIdsOfType(template, 'AWS::IAM::Role').flatMap((logicalId) => {
    const properties = resolvedProperties(template, logicalId, deployment);
    if (!federatedPrincipals(properties.AssumeRolePolicyDocument).some((principal) => providerArns.has(principal))) {
      return [];
    }
    const arn = resolveIntrinsics(template, { 'Fn::GetAtt': [logicalId, 'Arn'] }, deployment) as string;
    const maxSessionDurationSeconds = Number(properties.MaxSessionDuration ?? DEFAULT_DURATION_SECONDS);
    sts.registerRole(arn, properties.AssumeRolePolicyDocument, maxSessionDurationSeconds);
    return [{ logicalId, arn, maxSessionDurationSeconds }];
  });
  return { signingKeyPem, certificateBase64, deployment, providers, roles };
}

/** The `saml:*` keys AWS derives from an assertion's attributes (those it documents), with every value. */
export function samlAttributeContext(attributes: ReadonlyMap<string, readonly string[]>): Record<string, string[]> {
  const context: Record<string, string[]> = {};
  for (const [name, values] of attributes) {
    const key = SAML_ATTRIBUTE_CONDITION_KEYS[name];
    if (key !== undefined) context[key] = [...values];
  }
  return context;
}
