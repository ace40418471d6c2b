import type { STSClient } from '@aws-sdk/client-sts';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { decideGrant } from './claims';
import { loadConfig, type DelegationConfig } from './config';
import { DelegationError } from './errors';
import { assertOriginAllowed, corsHeaders, errorResponse, requestOrigin, successResponse } from './http';
import { TokenVerifier } from './jwt';
import { parseDelegationRequest } from './request';
import { buildSignedSamlResponse } from './saml';
import { createKmsClient, createSecretsManagerClient, remoteSignerWithinDeadline, type SigningDependency } from './signing';
import { assumeRoleWithSaml, createStsClient } from './sts';
import { coldStartFailureLine, requestLogLine, writeLogLine } from './telemetry';
import { awsSamlAudienceFor } from '../../src/private/saml-constants';
import { KmsSigner } from '../shared/kms-signer';
import { PemSigner } from '../shared/pem-signer';
import { SecretPemSigner } from '../shared/secret-pem-signer';
import type { Signer } from '../shared/signer';
/** Time kept back from Lambda's remaining time to log and answer after the last dependency call. */
const ANSWER_MARGIN_MS = 500;
/** Budget per request when no Lambda context tells the remaining time (local runs). */
const DEFAULT_BUDGET_MS = 8000;
/** One JWKS fetch may take this long, leaving most of a 10 s function's time to KMS and STS. */
const JWKS_TIMEOUT_MS = 2000;

/** Everything built once per container and reused by every request. */
interface Runtime {
  readonly config: DelegationConfig;
  readonly verifier: TokenVerifier;
  readonly sts: STSClient;
  readonly signer: Signer;
  /** The AWS service a signature depends on: such signatures are bounded by the request's deadline and their failures answered with 503. */
  readonly signingDependency?: SigningDependency;
  readonly audiences: readonly string[];
}

function createSigner(config: DelegationConfig, region: string): { signer: Signer; signingDependency?: SigningDependency } {
  const signer = config.signer;
  switch (signer.kind) {
    case 'kms':
      return { signer: new KmsSigner(signer.kmsKeyArn, createKmsClient({ region })), signingDependency: 'kms' };
    case 'pem':
      return { signer: new PemSigner(signer.signingKeyPem) };
    case 'secret-pem':
      return {
        signer: new SecretPemSigner(signer.signingKeySecretArn, createSecretsManagerClient({ region })),
        signingDependency: 'secretsmanager',
      };
  }
}

function createRuntime(env: NodeJS.ProcessEnv): Runtime {
  const config = loadConfig(env);
  const region = env.AWS_REGION?.trim();
  if (!region) {
    throw new Error('AWS_REGION: is required (Lambda sets it; set it for local runs)');
  }
  return {
    config,
    verifier: new TokenVerifier([...config.issuers], { timeoutMs: JWKS_TIMEOUT_MS }),
    sts: createStsClient({ region }),
    ...createSigner(config, region),
    // The entityID of AWS in the Recipient's partition (urn:amazon:webservices, …:cn-north-1 or …:govcloud), and the Recipient.
    audiences: [...new Set([awsSamlAudienceFor(config.samlRecipient), config.samlRecipient])],
  };
}

/** A configuration error fails the cold start, logged as one JSON line (without secrets) and rethrown so Lambda reports it. */
function initialise(): Runtime {
  try {
    return createRuntime(process.env);
  } catch (error) {
    writeLogLine(coldStartFailureLine(error, Date.now()));
    throw error;
  }
}

const runtime = initialise();

/** Epoch milliseconds by which every dependency call of this request must have finished. */
function deadlineFor(startedAt: number, context: Partial<Context> | undefined): number {
  const remaining = typeof context?.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : DEFAULT_BUDGET_MS + ANSWER_MARGIN_MS;
  return startedAt + remaining - ANSWER_MARGIN_MS;
}

interface RequestFacts {
  form?: string;
  issuer?: string;
  subject?: string;
  roleArn?: string;
}

/** The API Gateway request id, read defensively: it only labels the log line. */
function apiRequestIdOf(event: APIGatewayProxyEvent | undefined): string | undefined {
  const requestId: unknown = event?.requestContext?.requestId;
  return typeof requestId === 'string' ? requestId : undefined;
}

/** `POST /delegation`: verify the id token, decide the grant, sign a SAML assertion, exchange it at STS. */
export async function handler(event: APIGatewayProxyEvent, context?: Partial<Context>): Promise<APIGatewayProxyResult> {
  const startedAt = Date.now();
  const deadline = deadlineFor(startedAt, context);
  const { config } = runtime;
  const facts: RequestFacts = {};
  let cors: Record<string, string> = {};
  let response: APIGatewayProxyResult;
  let outcome = 'issued';
  let reason = 'issued';
  let unexpected: unknown;

  try {
    cors = corsHeaders(requestOrigin(event), config.allowedOrigins);
    assertOriginAllowed(event, config.allowedOrigins);
    const request = parseDelegationRequest(event);
    facts.form = request.form;
    const token = await runtime.verifier.verify(request.idToken);
    facts.issuer = token.issuer;
    const grant = decideGrant(token, request, config);
    facts.subject = grant.subject;
    facts.roleArn = grant.roleArn;
    const signer = runtime.signingDependency
      ? remoteSignerWithinDeadline(runtime.signer, deadline, runtime.signingDependency)
      : runtime.signer;
    const samlResponse = await buildSignedSamlResponse({
      issuer: config.samlEntityId,
      recipient: config.samlRecipient,
      audiences: runtime.audiences,
      providerArn: config.providerArn,
      grant,
      now: new Date(),
      lifetimeSeconds: config.assertionLifetimeSeconds,
    }, signer, { keyInfoCertificate: config.signingCertificate });
    const result = await assumeRoleWithSaml(runtime.sts, {
      roleArn: grant.roleArn,
      providerArn: config.providerArn,
      samlResponseBase64: Buffer.from(samlResponse, 'utf8').toString('base64'),
      durationSeconds: grant.durationSeconds,
    }, { deadline });
    response = successResponse(result, cors);
  } catch (error) {
    const failure = error instanceof DelegationError ? error : DelegationError.unexpected();
    if (!(error instanceof DelegationError)) {
      unexpected = error;
    } else if (error.cause !== undefined) {
      // A configuration error an operator must fix (e.g. STS's ValidationError): log what AWS said.
      unexpected = error.cause;
    }
    outcome = failure.code;
    reason = failure.reason;
    response = errorResponse(failure, cors);
  }

  writeLogLine(requestLogLine({
    requestId: context?.awsRequestId ?? apiRequestIdOf(event) ?? 'unknown',
    apiRequestId: apiRequestIdOf(event),
    ...facts,
    outcome,
    reason,
    status: response.statusCode,
    durationMs: Date.now() - startedAt,
    error: unexpected,
  }, config.metricsNamespace, Date.now()));
  return response;
}
