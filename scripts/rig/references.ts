import { generateKeyPairSync, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { Agent, request } from 'node:http';
import { cpuMicros } from './cpu';
import type { HttpSample, ReferenceJob, ReferenceName } from './messages';

/**
 * The floors a warm request is measured against, each timed as CPU of this process: one bare RSA-2048
 * signature, one bare keep-alive POST of a recorded request body to the same loopback stand-in (no SDK:
 * no signing, serialization or parsing, the answer read and dropped), one bare RS256 verification.
 */

/** About the size of the canonical SignedInfo the handler signs. */
const SIGNED_BYTES = randomBytes(900);
/** About the size of a JWT's signing input (header.payload). */
const JWT_SIGNING_INPUT = Buffer.from(randomBytes(600).toString('base64url'), 'utf8');

/** A full collection before each timed batch (with --expose-gc), so no batch pays for the garbage of the one before. */
export function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** One connection kept alive per stand-in, as the SDK's HTTP handler keeps one. */
const agent = new Agent({ keepAlive: true, maxSockets: 1 });

/** POSTs `sample` once on the kept-alive connection and resolves when its whole answer has arrived. */
export function barePost(sample: HttpSample): Promise<number> {
  return new Promise((resolve, reject) => {
    const outgoing = request(sample.url, { method: 'POST', agent, headers: { ...sample.headers, 'content-length': Buffer.byteLength(sample.body) } }, (incoming) => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('end', () => {
        const length = Buffer.concat(chunks).length;
        if (incoming.statusCode !== 200) {
          reject(new Error(`bare POST to ${sample.url} answered ${incoming.statusCode}`));
        } else {
          resolve(length);
        }
      });
      incoming.on('error', reject);
    });
    outgoing.on('error', reject);
    outgoing.end(sample.body);
  });
}

export interface References {
  /** CPU microseconds per operation of each reference the job names, timed one after the other. */
  measure(job: ReferenceJob): Promise<Partial<Record<ReferenceName, number>>>;
  /** One RS256 verification, untimed (for callers that time it themselves). */
  verifyOnce(): void;
}

/** References that sign with `signingKey` and verify with a fresh RSA-2048 key of their own. */
export function references(signingKey: KeyObject): References {
  const verifyKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwtSignature = sign('sha256', JWT_SIGNING_INPUT, verifyKeys.privateKey);
  const verifyOnce = () => {
    if (!verify('sha256', JWT_SIGNING_INPUT, verifyKeys.publicKey, jwtSignature)) {
      throw new Error('the reference RS256 signature does not verify');
    }
  };
  const timed = async (count: number, work: () => unknown): Promise<number> => {
    collectGarbage();
    const before = cpuMicros();
    for (let index = 0; index < count; index++) {
      await work();
    }
    return (cpuMicros() - before) / count;
  };
  return {
    async measure(job) {
      const micros: Partial<Record<ReferenceName, number>> = {};
      if (job.signature) {
        micros.signature = await timed(job.count, () => sign('sha256', SIGNED_BYTES, signingKey));
      }
      if (job.kmsPost) {
        const sample = job.kmsPost;
        micros.kmsPost = await timed(job.count, () => barePost(sample));
      }
      if (job.stsPost) {
        const sample = job.stsPost;
        micros.stsPost = await timed(job.count, () => barePost(sample));
      }
      if (job.verify) {
        micros.verify = await timed(job.count, verifyOnce);
      }
      return micros;
    },
    verifyOnce,
  };
}
