/**
 * One JSON log line per request, carrying a CloudWatch metric per outcome in the embedded metric format
 * (EMF), and a scrubber every logged string passes through, so no token, assertion, key or credential
 * can reach the logs even when an error message quotes one.
 */

import { DelegationMetric } from '../../src/contract/delegation-environment';

export type LogLevel = 'info' | 'warn' | 'error';

/** What is known about one request when it ends. */
export interface RequestOutcome {
  /** Lambda's request id. */
  readonly requestId: string;
  /** API Gateway's request id (`requestContext.requestId`), which its access logs carry too. */
  readonly apiRequestId?: string;
  /** `issued` or the OAuth error code answered (`invalid_token`, `access_denied`, …). */
  readonly outcome: string;
  /** Short machine-readable cause, e.g. `jwt_expired` or `sts_IDPRejectedClaim`. */
  readonly reason: string;
  readonly status: number;
  readonly durationMs: number;
  readonly form?: string;
  /** Set once the token is verified. */
  readonly issuer?: string;
  /** Set once the grant is decided: the SAML NameID. */
  readonly subject?: string;
  readonly roleArn?: string;
  /** An unexpected error, logged (scrubbed) for operators. */
  readonly error?: unknown;
}

/** Name and dimension of the per-outcome metric; `DelegationEndpoint.metricOutcome` reads the same. */
export const OUTCOME_METRIC_NAME = DelegationMetric.NAME;
export const OUTCOME_DIMENSION = DelegationMetric.DIMENSION;

/** Long random key material mixes digits, upper and lower case; ARN paths, hex digests and words rarely do. */
function looksRandom(text: string): boolean {
  return /[0-9]/.test(text) && /[A-Z]/.test(text) && /[a-z]/.test(text);
}

/**
 * The base64url characters that can begin the encoding of a JOSE header: the first character carries the
 * top six bits of the first byte, which is `{` (`e`) or JSON white space that JSON.parse, and so jose,
 * skips before it: space (`I`), TAB or LF (`C`), CR (`D`).
 */
const JOSE_HEADER_FIRST_CHARACTER = /[eICD]/g;
/** A JOSE header decoded: optional JSON white space, `{`, optional white space, then a quoted member name. */
const JOSE_HEADER_OPENING = /^[ \t\n\r]*\{[ \t\n\r]*"/;

/** Where a JOSE header starts inside a base64url segment: a position from which it decodes to a JSON object's opening. */
function joseHeaderStart(segment: string): number {
  for (const candidate of segment.matchAll(JOSE_HEADER_FIRST_CHARACTER)) {
    if (JOSE_HEADER_OPENING.test(Buffer.from(segment.slice(candidate.index), 'base64url').toString('latin1'))) {
      return candidate.index;
    }
  }
  return -1;
}

/** Redacts a compact JWS/JWE (a JSON header segment followed by at least two more) inside a dotted run. */
function redactJose(match: string): string {
  const segments = match.split('.');
  for (let index = 0; index + 2 < segments.length; index++) {
    const start = joseHeaderStart(segments[index]);
    if (start >= 0) {
      const kept = [...segments.slice(0, index), segments[index].slice(0, start)].join('.');
      return `${kept}[redacted:jwt]`;
    }
  }
  return match;
}

type Replacer = (match: string) => string;

function when(test: (match: string) => boolean, replacement: string): Replacer {
  return (match) => (test(match) ? replacement : match);
}

const REDACTIONS: ReadonlyArray<readonly [RegExp, Replacer]> = [
  // PEM blocks (private keys, certificates), also when cut off.
  [/-----BEGIN [A-Z0-9 ]+-----[\s\S]*?(?:-----END [A-Z0-9 ]+-----|$)/g, () => '[redacted:pem]'],
  // SAML or XML-DSig markup, from its first element to the end of the string.
  [/<\/?(?:[A-Za-z][\w.-]*:)?(?:Response|Assertion|Signature|SignedInfo|NameID|Issuer|Attribute)\b[\s\S]*/g, () => '[redacted:xml]'],
  // Compact JWS/JWE: a base64url JSON header segment and at least two more.
  [/[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*){2,}/g, redactJose],
  // Long base64 or base64url runs: session tokens, base64 SAML, JSON-serialized JWS parts, key material.
  [/[A-Za-z0-9+/_-]{64,}={0,2}/g, when(looksRandom, '[redacted:blob]')],
  // AWS access key ids.
  [/\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g, () => '[redacted:akid]'],
  // AWS secret access keys: 40 base64 characters standing alone (unconditionally: some real keys lack a digit).
  [/(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{40}(?![A-Za-z0-9+/])/g, () => '[redacted:secret]'],
];

/** Removes anything that looks like a token, an assertion, key material or AWS credentials from a string. */
export function scrubSecrets(text: string): string {
  let scrubbed = text;
  for (const [pattern, replace] of REDACTIONS) {
    scrubbed = scrubbed.replace(pattern, replace);
  }
  return scrubbed;
}

const MAX_DEPTH = 6;

/** Scrubs every string inside a JSON-like value (keys included), dropping what JSON cannot hold. */
export function scrubValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') {
    return scrubSecrets(value);
  }
  if (value === null || typeof value === 'number' || typeof value === 'boolean') {
    return value;
  }
  if (depth >= MAX_DEPTH || typeof value !== 'object') {
    return undefined;
  }
  if (Array.isArray(value)) {
    return value.map((item) => scrubValue(item, depth + 1));
  }
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [scrubSecrets(key), scrubValue(item, depth + 1)]));
}

/** The parts of an Error worth logging; the SDK's `$metadata` and fault but never request or response bodies. */
export function describeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) {
    return { type: typeof error };
  }
  const details = error as Error & {
    code?: unknown;
    $fault?: unknown;
    $metadata?: { httpStatusCode?: unknown; requestId?: unknown; attempts?: unknown };
  };
  return {
    name: error.name,
    message: error.message,
    code: typeof details.code === 'string' ? details.code : undefined,
    fault: typeof details.$fault === 'string' ? details.$fault : undefined,
    httpStatusCode: details.$metadata?.httpStatusCode,
    awsRequestId: details.$metadata?.requestId,
    attempts: details.$metadata?.attempts,
    stack: error.stack?.split('\n').slice(0, 8).join('\n'),
  };
}

/** Info for answered requests, warn for unavailable dependencies, error for bugs. */
export function levelFor(status: number): LogLevel {
  if (status >= 500) {
    return status === 503 ? 'warn' : 'error';
  }
  return 'info';
}

/** The log line (without newline) for one finished request, with its EMF metric. */
export function requestLogLine(record: RequestOutcome, namespace: string, timestamp: number): string {
  const line = {
    level: levelFor(record.status),
    message: 'delegation request',
    requestId: record.requestId,
    apiRequestId: record.apiRequestId,
    form: record.form,
    issuer: record.issuer,
    subject: record.subject,
    roleArn: record.roleArn,
    outcome: record.outcome,
    reason: record.reason,
    status: record.status,
    durationMs: record.durationMs,
    error: record.error === undefined ? undefined : describeError(record.error),
    _aws: {
      Timestamp: timestamp,
      CloudWatchMetrics: [{
        Namespace: namespace,
        Dimensions: [[OUTCOME_DIMENSION]],
        Metrics: [{ Name: OUTCOME_METRIC_NAME, Unit: 'Count' }],
      }],
    },
    [OUTCOME_DIMENSION]: record.outcome,
    [OUTCOME_METRIC_NAME]: 1,
  };
  return JSON.stringify(scrubValue(line));
}

/** The log line for a cold start that failed (invalid configuration), without metric. */
export function coldStartFailureLine(error: unknown, timestamp: number): string {
  return JSON.stringify(scrubValue({
    level: 'error',
    message: 'delegation handler cannot start',
    timestamp: new Date(timestamp).toISOString(),
    error: error instanceof Error ? { name: error.name, message: error.message } : { type: typeof error },
  }));
}

/** Writes one line to stdout as is: Lambda ships it unchanged, so CloudWatch can extract the EMF metric. */
export function writeLogLine(line: string): void {
  process.stdout.write(`${line}\n`);
}
