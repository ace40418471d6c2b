import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';

/**
 * Lambda billed milliseconds per warm and per cold delegation, modelled from CPU measured here and
 * network latencies assumed below, and the cost per million delegations built on them. Every price is
 * us-east-1 as read on {@link PRICES_CHECKED}; every latency is an assumption, with its reasoning.
 */

export const PRICES_CHECKED = '2026-12-01';

/** The handler's configuration in `src/delegation-endpoint.ts`. */
export const LAMBDA_MEMORY_MB = 512;
/** "At 1,769 MB, a function has the equivalent of one vCPU (one vCPU-second of credits per second)." */
export const MB_PER_VCPU = 1769;
export const CPU_SHARE = LAMBDA_MEMORY_MB / MB_PER_VCPU;

export interface Price {
  readonly what: string;
  readonly usd: number;
  readonly unit: string;
  /** The price as the vendor states it. */
  readonly shown: string;
  readonly source: string;
  /** Set when the figure could not be confirmed on the vendor's own page. */
  readonly assumption?: string;
}

export const PRICES = {
  lambdaGbSecond: {
    what: 'Lambda duration, Arm (first 7.5 billion GB-s a month)',
    usd: 0.0000133334,
    unit: 'GB-s',
    shown: '$0.0000133334 per GB-s',
    source: 'https://aws.amazon.com/lambda/pricing/ (us-east-1 tier table, as quoted by cloudchipr.com/blog/aws-lambda-pricing)',
  },
  lambdaRequest: {
    what: 'Lambda requests',
    usd: 0.20 / 1e6,
    unit: 'request',
    shown: '$0.20 per million requests',
    source: 'https://aws.amazon.com/lambda/pricing/',
  },
  apiGatewayRest: {
    what: 'API Gateway REST API calls (first 333 million a month)',
    usd: 3.50 / 1e6,
    unit: 'request',
    shown: '$3.50 per million',
    source: 'AWS whitepaper "Best Practices for Designing Amazon API Gateway Private APIs", cost optimization, table 4 (docs.aws.amazon.com/whitepapers)',
  },
  kmsSign: {
    what: 'KMS Sign with an RSA_2048 key (the default signing key)',
    usd: 0.03 / 1e4,
    unit: 'request',
    shown: '$0.03 per 10,000 requests',
    source: 'https://aws.amazon.com/kms/pricing/ (requests involving RSA 2048 keys; the other asymmetric key specs are $0.15 per 10,000, and asymmetric requests are outside the free tier)',
  },
  kmsKeyMonth: {
    what: 'KMS key, any kind',
    usd: 1,
    unit: 'key-month',
    shown: '$1 per key per month',
    source: 'https://aws.amazon.com/kms/pricing/',
  },
  secretsManagerCall: {
    what: 'Secrets Manager API calls',
    usd: 0.05 / 1e4,
    unit: 'call',
    shown: '$0.05 per 10,000 API calls',
    source: 'aws.amazon.com/secrets-manager/pricing/ as quoted by hivebook.wiki (AWS Secrets Manager overview)',
    assumption: 'the vendor page itself was not read here',
  },
  secretMonth: {
    what: 'Secrets Manager secret',
    usd: 0.40,
    unit: 'secret-month',
    shown: '$0.40 per secret per month',
    source: 'as above',
    assumption: 'the vendor page itself was not read here',
  },
  logsIngestionGb: {
    what: 'CloudWatch Logs ingestion, Standard class',
    usd: 0.50,
    unit: 'GB',
    shown: '$0.50 per GB ingested',
    source: 'aws.amazon.com/cloudwatch/pricing/ as quoted by c3x.dev and hykell.com (us-east-1, 2026)',
  },
} satisfies Record<string, Price>;

export interface Latency {
  readonly what: string;
  readonly ms: number;
  readonly reasoning: string;
}

/** Network waits in AWS that loopback cannot show. None is published by AWS: all are assumptions. */
export const LATENCIES = {
  kmsSign: {
    what: 'KMS Sign, RSA_2048, in-region, connection kept alive',
    ms: 10,
    reasoning: 'an HSM RSA-2048 private-key operation takes 1–2 ms; add the in-region HTTPS round trip and the service\'s own authorization and logging; KMS publishes no latency, field reports for KMS calls are single-digit to low-tens of ms',
  },
  stsAssumeRoleWithSaml: {
    what: 'STS AssumeRoleWithSAML, regional endpoint, connection kept alive',
    ms: 30,
    reasoning: 'STS verifies the XML signature against the provider\'s metadata, evaluates the trust policy and mints session credentials; no published figure, assumed a few times a KMS call',
  },
  jwksFetch: {
    what: 'JWKS fetch, cold start only (issuer outside AWS, new TLS connection)',
    ms: 100,
    reasoning: 'DNS + TCP + TLS 1.3 + one request is 3–4 round trips of 20–30 ms to an issuer such as Auth0 or Cognito in another network',
  },
  newConnection: {
    what: 'new TLS connection to KMS or STS, cold start only, each',
    ms: 10,
    reasoning: 'two in-region round trips plus the handshake\'s own CPU at a 0.29 vCPU share (the loopback bench speaks plain HTTP, so this CPU is not measured)',
  },
  getSecretValue: {
    what: 'Secrets Manager GetSecretValue, cold start only (new TLS connection included)',
    ms: 20,
    reasoning: 'one in-region call on a new connection; assumed twice a warm KMS call',
  },
} satisfies Record<string, Latency>;

/** AWS: "INITs (cold starts) typically occur in under 1% of invocations" (Compute Blog, INIT billing, 2025). */
export const COLD_SHARE = 0.01;

/** Lambda's own platform lines per invocation (START, END, REPORT), written out as Lambda formats them. */
export function platformLogBytes(cold: boolean): number {
  const id = '8f5e7c3a-1b2d-4e6f-9a0b-c1d2e3f4a5b6';
  const lines = [
    `START RequestId: ${id} Version: $LATEST`,
    `END RequestId: ${id}`,
    `REPORT RequestId: ${id}\tDuration: 48.31 ms\tBilled Duration: 49 ms\tMemory Size: 512 MB\tMax Memory Used: 97 MB\t${cold ? 'Init Duration: 412.77 ms\t' : ''}`,
  ];
  return lines.reduce((sum, line) => sum + Buffer.byteLength(line) + 1, 0);
}

/** One API Gateway access log line in the format the endpoint configures, with typical values. */
export function accessLogLineBytes(responseLength: number): number {
  const format = AccessLogFormat.jsonWithStandardFields({
    caller: false, httpMethod: true, ip: true, protocol: true, requestTime: true, resourcePath: true, responseLength: true, status: true, user: false,
  }).toString();
  const values: Record<string, string> = {
    '$context.requestId': '0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b',
    '$context.identity.sourceIp': '203.0.113.42',
    '$context.requestTime': '01/Dec/2026:20:00:00 +0000',
    '$context.httpMethod': 'POST',
    '$context.resourcePath': '/delegation',
    '$context.status': '200',
    '$context.protocol': 'HTTP/1.1',
    '$context.responseLength': String(responseLength),
  };
  const line = format.replace(/\$context\.[A-Za-z.]+/g, (name) => values[name] ?? '-');
  return Buffer.byteLength(line) + 1;
}

export interface BilledInput {
  /** Handler CPU of a warm request, ms, on one core of this machine. */
  readonly warmCpuMs: number;
  /** CPU of a fresh process from spawn to its first answer, ms (node's boot included). */
  readonly coldCpuMs: number;
  /** Network waits of a warm request, ms. */
  readonly warmWaitMs: number;
  /** Network waits a cold start adds, ms (the first request's waits included). */
  readonly coldWaitMs: number;
  /** Of coldCpuMs, the part before the first request (INIT: node's boot and the bundle's require). */
  readonly initCpuMs: number;
}

export interface Billed {
  readonly warmMs: number;
  readonly coldMs: number;
  /** CPU time stretched by the 512 MB share, before the waits. */
  readonly warmCpuAtShareMs: number;
  readonly coldCpuAtShareMs: number;
  /** The cold figure if INIT runs on one full vCPU (as field measurements report) and only the first request at the share. */
  readonly coldInitUnthrottledMs: number;
}

/** Lambda bills wall time rounded up to the next ms; CPU-bound time stretches by 1 / share. */
export function billed(input: BilledInput): Billed {
  const warmCpuAtShareMs = input.warmCpuMs / CPU_SHARE;
  const coldCpuAtShareMs = input.coldCpuMs / CPU_SHARE;
  return {
    warmCpuAtShareMs,
    coldCpuAtShareMs,
    warmMs: Math.ceil(warmCpuAtShareMs + input.warmWaitMs),
    coldMs: Math.ceil(coldCpuAtShareMs + input.coldWaitMs),
    coldInitUnthrottledMs: Math.ceil(input.initCpuMs + (input.coldCpuMs - input.initCpuMs) / CPU_SHARE + input.coldWaitMs),
  };
}

export interface CostLine {
  readonly item: string;
  readonly usdPerMillion: number;
  readonly basis: string;
}

export interface SignerCost {
  readonly signer: string;
  readonly lines: readonly CostLine[];
  readonly totalPerMillion: number;
  /** Fixed monthly charges, not per delegation. */
  readonly monthly: readonly CostLine[];
}

const MILLION = 1e6;

export function signerCost(options: {
  signer: string;
  billed: Billed;
  /** Log bytes per warm delegation: handler line + access log line + Lambda's platform lines. */
  logBytes: number;
  kmsSignsPerDelegation: number;
  secretReadsPerColdStart: number;
}): SignerCost {
  const { billed: ms } = options;
  const meanMs = (1 - COLD_SHARE) * ms.warmMs + COLD_SHARE * ms.coldMs;
  const gbSeconds = (meanMs / 1000) * (LAMBDA_MEMORY_MB / 1024);
  const coldLogExtra = COLD_SHARE * (platformLogBytes(true) - platformLogBytes(false));
  const lines: CostLine[] = [
    { item: 'Lambda requests', usdPerMillion: PRICES.lambdaRequest.usd * MILLION, basis: '$0.20 per million' },
    {
      item: 'Lambda duration',
      usdPerMillion: gbSeconds * PRICES.lambdaGbSecond.usd * MILLION,
      basis: `${(1 - COLD_SHARE) * 100}% × ${ms.warmMs} ms + ${COLD_SHARE * 100}% × ${ms.coldMs} ms = ${meanMs.toFixed(1)} ms × 0.5 GB × $${PRICES.lambdaGbSecond.usd}/GB-s`,
    },
    { item: 'API Gateway REST', usdPerMillion: PRICES.apiGatewayRest.usd * MILLION, basis: '$3.50 per million' },
  ];
  if (options.kmsSignsPerDelegation > 0) {
    lines.push({ item: 'KMS Sign', usdPerMillion: options.kmsSignsPerDelegation * PRICES.kmsSign.usd * MILLION, basis: `${options.kmsSignsPerDelegation} per delegation × $0.03 per 10,000 (RSA_2048)` });
  }
  if (options.secretReadsPerColdStart > 0) {
    lines.push({ item: 'Secrets Manager GetSecretValue', usdPerMillion: COLD_SHARE * options.secretReadsPerColdStart * PRICES.secretsManagerCall.usd * MILLION, basis: `one per cold start (${COLD_SHARE * 100}%) × $0.05 per 10,000` });
  }
  const bytes = options.logBytes + coldLogExtra;
  lines.push({ item: 'CloudWatch Logs ingestion', usdPerMillion: (bytes * MILLION / 1e9) * PRICES.logsIngestionGb.usd, basis: `${bytes.toFixed(0)} B per delegation × $0.50/GB` });
  lines.push({ item: 'STS AssumeRoleWithSAML', usdPerMillion: 0, basis: 'no charge for STS calls' });
  const monthly: CostLine[] = options.kmsSignsPerDelegation > 0
    ? [{ item: 'KMS key', usdPerMillion: PRICES.kmsKeyMonth.usd, basis: '$1 per key-month' }]
    : [{ item: 'Secrets Manager secret', usdPerMillion: PRICES.secretMonth.usd, basis: '$0.40 per secret-month (assumption)' }];
  return { signer: options.signer, lines, totalPerMillion: lines.reduce((sum, line) => sum + line.usdPerMillion, 0), monthly };
}
