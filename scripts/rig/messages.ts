/**
 * What the load and benchmark rig's child processes and their parent say to each other over the
 * child_process IPC channel (one request, one reply of the matching type).
 */

/** Per round: CPU microseconds per handler request and per bare RSA-2048 signature, measured in turn. */
export interface CpuRound {
  readonly handlerMicrosPerRequest: number;
  readonly signatureMicrosPerSignature: number;
}

export type HandlerRequest =
  /** N sequential handler calls (no HTTP) alternating with M bare signatures, for `rounds` rounds. */
  | { readonly type: 'measure-cpu'; readonly tokens: readonly string[]; readonly requests: number; readonly signatures: number; readonly rounds: number; readonly warmupRequests: number }
  /** Bare RSA-2048 PKCS#1 v1.5 SHA-256 signatures for `durationMs`, one after the other. */
  | { readonly type: 'measure-signature-rate'; readonly durationMs: number }
  /** Resident memory, after a full garbage collection when the process runs with --expose-gc. */
  | { readonly type: 'memory' }
  /** Cumulative CPU time of the process. */
  | { readonly type: 'cpu-usage' };

export type HandlerReply =
  | { readonly type: 'ready'; readonly url: string; readonly pid: number }
  | { readonly type: 'measure-cpu'; readonly rounds: readonly CpuRound[]; readonly statuses: Readonly<Record<string, number>> }
  | { readonly type: 'measure-signature-rate'; readonly signatures: number; readonly elapsedMs: number; readonly cpuMicros: number }
  | { readonly type: 'memory'; readonly rss: number; readonly heapUsed: number; readonly collected: boolean }
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

export type StsReply =
  | { readonly type: 'ready'; readonly endpoint: string }
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

export type StagesReply =
  | { readonly type: 'stages'; readonly rounds: readonly StageRound[] }
  | { readonly type: 'error'; readonly message: string };
