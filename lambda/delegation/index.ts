import type { STSClient } from '@aws-sdk/client-sts';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { decideGrant } from './claims';
import { loadConfig, type DelegationConfig } from './config';
import { DelegationError } from './errors';
import { RequestHeaders } from './headers';
import { assertOriginAllowed, corsHeaders, errorResponse, successResponse } from './http';
import { TokenVerifier } from './jwt';
import { parseDelegationRequest } from './request';
import { SamlIssuer } from './saml-issuer';
import { createConfiguredSigner } from './signing';
import { assumeRoleWithSaml, createStsClient } from './sts';
import { coldStartFailureLine, requestLogLine, writeLogLine } from './telemetry';
import { DelegationOutcome } from '../../src/contract/delegation-outcome';
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
  readonly samlIssuer: SamlIssuer;
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
    samlIssuer: new SamlIssuer(config, createConfiguredSigner(config.signer, region)),
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
  let outcome: DelegationOutcome = DelegationOutcome.ISSUED;
  let reason: string = DelegationOutcome.ISSUED;
  let unexpected: unknown;

  try {
    const headers = RequestHeaders.of(event);
    cors = corsHeaders(headers.origin, config.allowedOrigins);
    assertOriginAllowed(headers, config.allowedOrigins);
    const request = parseDelegationRequest(event, {}, headers);
    facts.form = request.form;
    const token = await runtime.verifier.verify(request.idToken);
    facts.issuer = token.issuer;
    const grant = decideGrant(token, request, config);
    facts.subject = grant.subject;
    facts.roleArn = grant.roleArn;
    const samlResponseBase64 = await runtime.samlIssuer.issue(grant, deadline);
    const result = await assumeRoleWithSaml(runtime.sts, {
      roleArn: grant.roleArn,
      providerArn: config.providerArn,
      samlResponseBase64,
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
