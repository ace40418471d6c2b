import { constants, generateKeyPairSync, privateEncrypt, randomUUID } from 'node:crypto';
import { KMSClient } from '@aws-sdk/client-kms';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PROVER_ENV } from '../contract';
import type { CrossUserFacts, ExchangeFacts, OwnPrefixFacts, ProverEvent, ProverFacts, RefusalFacts, S3Outcome, Scenario } from '../facts';
import { keyIdOf, kmsDigestSigner, mintIdToken, type DigestSigner } from '../id-token';

/**
 * The live proof, run inside the account: mints id tokens of the test issuer, exchanges them at the
 * delegation endpoint exactly as an app would (Bearer form), and uses the credentials it gets with S3.
 * Its own role may only kms:Sign with the issuer's key: every S3 request it makes is the delegated
 * user's. It answers facts only (see ../facts.ts) and logs nothing.
 */

/** The credentials a successful exchange hands out (the S3 client's credential identity). */
export interface DelegatedCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expiration: Date;
}

export interface ProverConfig {
  readonly issuerUrl: string;
  readonly issuerKeyArn: string;
  readonly audience: string;
  readonly delegationUrl: string;
  readonly bucketName: string;
  readonly userPrefix: string;
}

export interface ProverDependencies {
  /** Signs with the issuer's key. */
  readonly sign: DigestSigner;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** An S3 client that signs with the delegated credentials. */
  s3ClientFor(credentials: DelegatedCredentials): S3Client;
  /** Seconds since the epoch. @default the clock */
  now?(): number;
  /** Waits between exchange attempts. @default setTimeout */
  sleep?(milliseconds: number): Promise<void>;
}

/** Attempts of one exchange while IAM may still be propagating the new role and provider (403/503). */
const EXCHANGE_ATTEMPTS = 6;
const EXCHANGE_RETRY_DELAY_MS = 5_000;
const REQUEST_TIMEOUT_MS = 10_000;
const OBJECT_NAME = 'live-proof.txt';

interface Exchanged {
  readonly facts: ExchangeFacts;
  readonly credentials?: DelegatedCredentials;
}

/** Runs one scenario of the live proof. */
export function createProver(config: ProverConfig, dependencies: ProverDependencies): (event: ProverEvent) => Promise<ProverFacts> {
  const doFetch = dependencies.fetch ?? fetch;
  const now = dependencies.now ?? (() => Math.floor(Date.now() / 1000));
  const sleep = dependencies.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const kid = keyIdOf(config.issuerKeyArn);

  const token = (subject: string, overrides: { audience?: string; sign?: DigestSigner } = {}) => mintIdToken({
    issuer: config.issuerUrl,
    audience: overrides.audience ?? config.audience,
    subject,
    keyId: kid,
    issuedAt: now(),
  }, overrides.sign ?? dependencies.sign);

  async function exchangeOnce(idToken: string): Promise<Exchanged> {
    const response = await doFetch(config.delegationUrl, {
      method: 'POST',
      headers: { 'Authorization': `Bearer ${idToken}`, 'Content-Type': 'application/json' },
      body: '{}',
      redirect: 'manual',
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    let body: any;
    try {
      body = JSON.parse(await response.text());
    } catch {
      body = undefined;
    }
    if (response.status !== 200) {
      return { facts: { status: response.status, error: typeof body?.error === 'string' ? body.error : 'unreadable' } };
    }
    const given = body?.Credentials;
    const complete = typeof given?.AccessKeyId === 'string' && typeof given?.SecretAccessKey === 'string'
      && typeof given?.SessionToken === 'string' && Date.parse(given?.Expiration) > now() * 1000;
    return {
      facts: {
        status: 200,
        subject: typeof body?.Subject === 'string' ? body.Subject : undefined,
        noStore: /\bno-store\b/.test(response.headers.get('cache-control') ?? ''),
        credentials: complete ? 'issued' : 'malformed',
      },
      credentials: complete ? {
        accessKeyId: given.AccessKeyId,
        secretAccessKey: given.SecretAccessKey,
        sessionToken: given.SessionToken,
        expiration: new Date(given.Expiration),
      } : undefined,
    };
  }

  /** Exchanges a token from `mint`, retrying what a just-created role or provider can answer (403, 503) a bounded number of times. */
  async function exchange(mint: () => Promise<string>): Promise<Exchanged> {
    let result: Exchanged | undefined;
    for (let attempt = 1; attempt <= EXCHANGE_ATTEMPTS; attempt++) {
      // A fresh token each time, so that no attempt fails on the token's age.
      result = await exchangeOnce(await mint());
      if (result.facts.status !== 403 && result.facts.status !== 503) break;
      if (attempt < EXCHANGE_ATTEMPTS) await sleep(EXCHANGE_RETRY_DELAY_MS);
    }
    return result!;
  }

  type S3Result = { outcome: S3Outcome; content?: string };
  /** One PutObject (when `put` is given) or GetObject with the delegated credentials. */
  async function s3(credentials: DelegatedCredentials | undefined, request: { put?: string; key: string }): Promise<S3Result> {
    if (!credentials) return { outcome: 'skipped' };
    const client = dependencies.s3ClientFor(credentials);
    try {
      if (request.put !== undefined) {
        await client.send(new PutObjectCommand({ Bucket: config.bucketName, Key: request.key, Body: request.put, ContentType: 'text/plain' }));
        return { outcome: 'ok' };
      }
      const answer = await client.send(new GetObjectCommand({ Bucket: config.bucketName, Key: request.key }));
      return { outcome: 'ok', content: await answer.Body?.transformToString('utf8') };
    } catch (error) {
      return { outcome: (error as Error).name || 'Error' };
    } finally {
      client.destroy();
    }
  }

  const objectKey = (subject: string | undefined) => `${config.userPrefix}${subject ?? 'unknown-subject'}/${OBJECT_NAME}`;

  async function ownPrefix(event: ProverEvent): Promise<OwnPrefixFacts> {
    const user = await exchange(() => token(event.subject));
    const content = `live proof ${randomUUID()}`;
    const key = objectKey(user.facts.subject);
    const put = await s3(user.credentials, { key, put: content });
    const get = await s3(user.credentials, { key });
    return { scenario: 'own-prefix', exchange: user.facts, putOwn: put.outcome, getOwn: get.outcome, sameContent: get.content === content };
  }

  async function crossUser(event: ProverEvent): Promise<CrossUserFacts> {
    const owner = await exchange(() => token(event.otherSubject!));
    const ownerKey = objectKey(owner.facts.subject);
    const ownerPut = await s3(owner.credentials, { key: ownerKey, put: `belongs to ${owner.facts.subject}` });
    const intruder = await exchange(() => token(event.subject));
    const putOther = await s3(intruder.credentials, { key: ownerKey, put: 'overwritten' });
    const getOther = await s3(intruder.credentials, { key: ownerKey });
    const ownerGet = await s3(owner.credentials, { key: ownerKey });
    return {
      scenario: 'cross-user',
      owner: { exchange: owner.facts, putOwn: ownerPut.outcome },
      intruder: { exchange: intruder.facts, putOther: putOther.outcome, getOther: getOther.outcome },
      ownerGetsOwn: ownerGet.outcome,
    };
  }

  async function refusals(event: ProverEvent): Promise<RefusalFacts> {
    // An attacker's key, made here and dropped after the call: the endpoint must check the signature
    // against the issuer's JWKS, not trust the kid.
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    // RSASSA-PKCS1-v1_5 of a precomputed digest, as kms:Sign with MessageType DIGEST computes it.
    const foreignSign: DigestSigner = async (digest) => privateEncrypt(
      { key: privateKey, padding: constants.RSA_PKCS1_PADDING },
      Buffer.concat([SHA256_DIGEST_INFO, Buffer.from(digest)]),
    );
    const foreignKey = await exchangeOnce(await token(event.subject, { sign: foreignSign }));
    const wrongAudience = await exchangeOnce(await token(event.subject, { audience: `${config.audience}-other` }));
    return { scenario: 'refusals', foreignKey: foreignKey.facts, wrongAudience: wrongAudience.facts };
  }

  const scenarios: Record<Scenario, (event: ProverEvent) => Promise<ProverFacts>> = {
    'own-prefix': ownPrefix,
    'cross-user': crossUser,
    'refusals': refusals,
  };

  return async (event) => {
    const run = scenarios[event?.scenario];
    const crossUserWithoutOther = event?.scenario === 'cross-user'
      && (typeof event.otherSubject !== 'string' || event.otherSubject === '' || event.otherSubject === event.subject);
    if (!run || typeof event.subject !== 'string' || event.subject === '' || crossUserWithoutOther) {
      return { scenario: 'unknown', failure: 'bad_event' };
    }
    try {
      return await run(event);
    } catch (error) {
      // The name only: a message could quote a request.
      return { scenario: event.scenario, failure: (error as Error)?.name || 'Error' };
    }
  };
}

/** DER prefix of a PKCS#1 v1.5 DigestInfo for SHA-256 (RFC 8017, section 9.2, note 1). */
const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');

let deployed: ((event: ProverEvent) => Promise<ProverFacts>) | undefined;

/** The Lambda entry point, configured from {@link PROVER_ENV}. */
export const handler = (event: ProverEvent): Promise<ProverFacts> => {
  if (!deployed) {
    const env = (name: string) => process.env[name] ?? '';
    const config: ProverConfig = {
      issuerUrl: env(PROVER_ENV.ISSUER_URL),
      issuerKeyArn: env(PROVER_ENV.ISSUER_KEY_ARN),
      audience: env(PROVER_ENV.AUDIENCE),
      delegationUrl: env(PROVER_ENV.DELEGATION_URL),
      bucketName: env(PROVER_ENV.BUCKET_NAME),
      userPrefix: env(PROVER_ENV.USER_PREFIX),
    };
    deployed = createProver(config, {
      sign: kmsDigestSigner(new KMSClient({}), config.issuerKeyArn),
      s3ClientFor: (credentials) => new S3Client({ credentials }),
    });
  }
  return deployed(event);
};
