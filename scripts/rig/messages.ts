/**
 * What the load and benchmark rig's child processes and their parent say to each other over the
 * child_process IPC channel (one request, one reply of the matching type).
 */

/** One HTTP request as a loopback stand-in received it, to be replayed by a bare keep-alive client. */
export interface HttpSample {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/**
 * The references timed beside the handler in each round, each as N operations in a row: bare RSA-2048
 * signatures, bare keep-alive POSTs of a sample request to the STS or KMS stand-in, RS256 verifications.
 */
export interface ReferenceJob {
  readonly count: number;
  readonly signature?: boolean;
  readonly stsPost?: HttpSample;
  readonly kmsPost?: HttpSample;
  readonly verify?: boolean;
}

/** The names of the references a {@link CpuRound} may carry. */
export type ReferenceName = 'signature' | 'stsPost' | 'kmsPost' | 'verify';

/** Per round: CPU microseconds per handler request, and per operation of each reference, measured in turn. */
export interface CpuRound {
  readonly handlerMicrosPerRequest: number;
  readonly referenceMicros: Readonly<Partial<Record<ReferenceName, number>>>;
}

export type HandlerRequest =
  /** Sequential handler calls (no HTTP) to warm the process up. */
  | { readonly type: 'warm-up'; readonly tokens: readonly string[]; readonly requests: number }
  /** N sequential handler calls (no HTTP) alternating with the references, for `rounds` rounds. */
  | { readonly type: 'measure-cpu'; readonly tokens: readonly string[]; readonly requests: number; readonly rounds: number; readonly references: ReferenceJob }
  /** Bare RSA-2048 PKCS#1 v1.5 SHA-256 signatures for `durationMs`, one after the other. */
  | { readonly type: 'measure-signature-rate'; readonly durationMs: number }
  /** Resident memory, after a full garbage collection when the process runs with --expose-gc. */
  | { readonly type: 'memory' }
  /** Cumulative CPU time of the process. */
  | { readonly type: 'cpu-usage' };

export type HandlerReply =
  | { readonly type: 'ready'; readonly url: string; readonly pid: number }
  | { readonly type: 'warm-up'; readonly statuses: Readonly<Record<string, number>>; readonly bodyBytes: number }
  | { readonly type: 'measure-cpu'; readonly rounds: readonly CpuRound[]; readonly statuses: Readonly<Record<string, number>> }
  | { readonly type: 'measure-signature-rate'; readonly signatures: number; readonly elapsedMs: number; readonly cpuMicros: number }
  | { readonly type: 'memory'; readonly rss: number; readonly heapUsed: number; readonly external: number; readonly collected: boolean }
  | { readonly type: 'cpu-usage'; readonly user: number; readonly system: number }
  | { readonly type: 'error'; readonly message: string };

/** What the STS child is told (as JSON in `LOAD_STS_CONFIG`). */
export interface StsProcessConfig {
  /** `verifying`: local/sts-server.ts, which checks every assertion; `stub`: the recording stub, which only parses it. */
  readonly kind: 'verifying' | 'stub';
  readonly providerArn: string;
  readonly entityId: string;
  /** Base64 DER of the certificate of the handler's signing key. */
  readonly certificateBase64: string;
  readonly recipient: string;
  readonly roleArns: readonly string[];
}

/** What the KMS child is told (as JSON in `LOAD_KMS_CONFIG`). */
export interface KmsProcessConfig {
  readonly keyId: string;
  /** PKCS#8 PEM of the key the stand-in signs with (a test key). */
  readonly privateKeyPem: string;
}

/** Asked of the STS or KMS child: the last request it received, to be replayed by a bare client. */
export interface SampleRequest {
  readonly type: 'sample-request';
}

export type StsReply =
  | { readonly type: 'ready'; readonly endpoint: string }
  | { readonly type: 'sample-request'; readonly sample?: HttpSample }
  | { readonly type: 'error'; readonly message: string };

/** The load generator's job (as JSON in `LOAD_CLIENT_OPTIONS`). */
export interface LoadClientOptions {
  readonly url: string;
  readonly connections: number;
  /** Total requests; when absent, `durationSeconds` applies. */
  readonly amount?: number;
  readonly durationSeconds?: number;
  readonly timeoutSeconds: number;
  /** One request per entry, cycled through by every connection. */
  readonly requests: ReadonlyArray<{ readonly headers: Record<string, string>; readonly body?: string }>;
}

/** The load generator's summary. */
export interface LoadClientResult {
  readonly type: 'result';
  readonly total: number;
  readonly ok2xx: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly resets: number;
  readonly durationSeconds: number;
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly max: number };
}

/** Per round: CPU microseconds per SAML build-and-sign by each path and per bare RSA-2048 signature. */
export interface SamlSigningRound {
  readonly emitterMicros: number;
  readonly xmlCryptoMicros: number;
  readonly signatureMicros: number;
}

export type SamlSigningReply =
  | { readonly type: 'saml-signing'; readonly rounds: readonly SamlSigningRound[]; readonly emitterBytes: number; readonly xmlCryptoBytes: number }
  | { readonly type: 'error'; readonly message: string };

/** Per round: CPU microseconds per call of each stage of a warm request, by stage name. */
export interface StageRound {
  readonly micros: Readonly<Record<string, number>>;
}

/** What the cold-start child reports on stderr (one JSON line), all in milliseconds. */
export interface ColdReport {
  /** performance.now() when the script began: node's own boot. */
  readonly bootMs: number;
  readonly requireMs: number;
  readonly firstRequestMs?: number;
  /** CPU time of the whole process (user + system) when it reports, boot included. */
  readonly cpuMs: number;
  /** CPU time of the whole process once the bundle is loaded (Lambda's INIT phase), before the first request. */
  readonly initCpuMs?: number;
  readonly status?: number;
  /** Whether Node loaded its fetch implementation (undici) by the time of the report. */
  readonly undiciLoaded?: boolean;
}

export type StagesReply =
  | { readonly type: 'stages'; readonly rounds: readonly StageRound[] }
  | { readonly type: 'error'; readonly message: string };
