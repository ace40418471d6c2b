import { KeyObject, constants, createHmac, randomUUID, sign as signBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import {
  SignJWT,
  base64url,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from 'jose';
import { listenOnLoopback } from './loopback-server';
import { registerSecret } from './secret-registry';

/**
 * A tiny OpenID Connect issuer on 127.0.0.1 for tests and the local demo: keys are generated at start,
 * discovery and JWKS are served over loopback HTTP, and tokens (good ones and deliberately bad ones)
 * are signed on demand. Never used in production.
 */

/** Asymmetric algorithms the local issuer can hold keys for. */
export type IssuerKeyAlgorithm = 'RS256' | 'RS384' | 'RS512' | 'PS256' | 'ES256' | 'ES384' | 'EdDSA';

/** How the JWKS endpoint misbehaves, for resilience tests. */
export type JwksFault =
  /** Serve the keys normally. */
  | 'none'
  /** Destroy the connection without answering (a network error for the client). */
  | 'reset'
  /** Answer 500. */
  | 'status-500'
  /** Hold the answer for `slowDelayMs` (beyond the verifier's timeout). */
  | 'slow'
  /** Answer 200 with a body that is not JSON. */
  | 'garbage'
  /** Answer 200 with JSON that is not a key set. */
  | 'invalid-jwks'
  /** Answer 302 to a path that serves the real keys (a client that follows redirects would succeed). */
  | 'redirect'
  /** Answer 200 with the real keys padded to 1 MiB (a client without a size limit would succeed). */
  | 'oversized';

export interface OidcIssuerOptions {
  /** One signing key is generated per entry, in this order; the first is the default. @default ['RS256'] */
  readonly keyAlgorithms?: readonly IssuerKeyAlgorithm[];
  /** Default `aud` of signed tokens. @default 'local-client' */
  readonly audience?: string;
  /** Default `sub` of signed tokens. @default 'auth0|local-user' */
  readonly subject?: string;
  /** Path appended to `http://127.0.0.1:<port>` to form the issuer, e.g. `/` for an Auth0-like trailing slash. @default '' */
  readonly issuerPath?: string;
  /** Delay of the `slow` fault. @default 10000 */
  readonly slowDelayMs?: number;
}

export interface SignTokenOptions {
  /** `kid` header; `null` leaves it out. @default the key's own kid */
  readonly kid?: string | null;
  /** `alg` header. @default the key's algorithm */
  readonly alg?: string;
  /** Extra protected header parameters (e.g. `typ`, `jku`, `jwk`, `x5u`); `undefined` values remove defaults. */
  readonly header?: Record<string, unknown>;
  /** Sign with this key instead of the issuer's (e.g. an attacker's key). */
  readonly key?: CryptoKey;
  /** Which of the issuer's keys signs, by index. @default 0 */
  readonly keyIndex?: number;
}

export interface IssuerKey {
  readonly kid: string;
  readonly alg: IssuerKeyAlgorithm;
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  readonly publicJwk: JWK;
}

export interface LocalOidcIssuer {
  /** The `iss` value, e.g. `http://127.0.0.1:43121`. */
  readonly issuer: string;
  readonly jwksUri: string;
  readonly discoveryUri: string;
  readonly audience: string;
  readonly keys: readonly IssuerKey[];
  /** Number of requests the JWKS path has received (whatever the fault). */
  readonly jwksFetchCount: number;
  /** Number of requests that reached the redirect target of the `redirect` fault. */
  readonly redirectTargetFetchCount: number;
  /**
   * Signs a JWT. Defaults: `iss`, `aud`, `sub`, `iat` = now, `exp` = now + 1 h; a claim set to
   * `undefined` is left out, so `{ sub: undefined }` makes a token without `sub`.
   */
  sign(claims?: Record<string, unknown>, options?: SignTokenOptions): Promise<string>;
  /** The default claims merged with `claims` (undefined values removed), as `sign` would use them. */
  claims(claims?: Record<string, unknown>): JWTPayload;
  /** An HMAC token whose secret is the issuer's public key (SPKI PEM): the classic algorithm-confusion attack. */
  signHmacWithPublicKey(claims?: Record<string, unknown>, alg?: 'HS256' | 'HS384' | 'HS512'): Promise<string>;
  /**
   * Signs exactly the given protected header (nothing added, nothing checked, e.g. unknown `crit`
   * entries jose would refuse to produce) with one of the issuer's keys.
   */
  signWithRawHeader(header: Record<string, unknown>, claims?: Record<string, unknown>, keyIndex?: number): string;
  /** An unsecured token with the given `alg` spelling (e.g. `none`, `None`, `NONE`) and signature segment. */
  unsignedToken(claims?: Record<string, unknown>, alg?: string, signature?: string): string;
  /** Adds a key with a new kid to the served set and returns it (key rotation). */
  addKey(alg?: IssuerKeyAlgorithm): Promise<IssuerKey>;
  /** Makes the JWKS endpoint misbehave until set back to `none`. */
  setFault(fault: JwksFault): void;
  close(): Promise<void>;
}

const DEFAULT_TOKEN_LIFETIME_SECONDS = 3600;

/** Generates an attacker's key pair for the given algorithm (outside any issuer). */
export async function generateForeignKey(alg: IssuerKeyAlgorithm = 'RS256'): Promise<CryptoKey> {
  return (await generateKeyPair(alg, { extractable: true })).privateKey;
}

async function newIssuerKey(alg: IssuerKeyAlgorithm): Promise<IssuerKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const kid = randomUUID();
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicKey, publicJwk };
}

function encodeSegment(value: unknown): string {
  return base64url.encode(JSON.stringify(value));
}

/** A JWS signature of `signingInput` with node:crypto, in the encoding RFC 7518 prescribes for the key's algorithm. */
function rawSignature(key: IssuerKey, signingInput: string): Buffer {
  const privateKey = KeyObject.from(key.privateKey);
  const data = Buffer.from(signingInput);
  const hash = `sha${key.alg.slice(2)}`;
  switch (key.alg.slice(0, 2)) {
    case 'RS':
      return signBytes(hash, data, privateKey);
    case 'PS':
      return signBytes(hash, data, { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(key.alg.slice(2)) / 8 });
    case 'ES':
      return signBytes(hash, data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    default:
      return signBytes(null, data, privateKey);
  }
}

/** Starts the issuer on 127.0.0.1 with a random port. */
export async function startOidcIssuer(options: OidcIssuerOptions = {}): Promise<LocalOidcIssuer> {
  const keys: IssuerKey[] = [];
  for (const alg of options.keyAlgorithms ?? ['RS256']) {
    keys.push(await newIssuerKey(alg));
  }
  const audience = options.audience ?? 'local-client';
  const defaultSubject = options.subject ?? 'auth0|local-user';
  const slowDelayMs = options.slowDelayMs ?? 10_000;
  let fault: JwksFault = 'none';
  let jwksFetchCount = 0;
  let redirectTargetFetchCount = 0;
  const timers = new Set<NodeJS.Timeout>();

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path === discoveryPath) {
      sendJson(response, 200, discovery());
    } else if (path === '/jwks.json') {
      jwksFetchCount++;
      serveJwks(request, response);
    } else if (path === '/redirected-jwks.json') {
      redirectTargetFetchCount++;
      sendJson(response, 200, { keys: keys.map((key) => key.publicJwk) });
    } else {
      sendJson(response, 404, { error: 'not_found' });
    }
  });
  const listening = await listenOnLoopback(server);
  const origin = `http://127.0.0.1:${listening.port}`;
  const issuer = `${origin}${options.issuerPath ?? ''}`;
  const jwksUri = `${origin}/jwks.json`;
  const discoveryUri = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  const discoveryPath = new URL(discoveryUri).pathname;

  function discovery(): Record<string, unknown> {
    return {
      issuer,
      jwks_uri: jwksUri,
      authorization_endpoint: `${origin}/authorize`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: [...new Set(keys.map((key) => key.alg))],
    };
  }

  function serveJwks(request: IncomingMessage, response: ServerResponse): void {
    switch (fault) {
      case 'reset':
        request.socket.destroy();
        return;
      case 'status-500':
        sendJson(response, 500, { error: 'server_error' });
        return;
      case 'slow': {
        const timer = setTimeout(() => {
          timers.delete(timer);
          sendJson(response, 200, { keys: keys.map((key) => key.publicJwk) });
        }, slowDelayMs);
        timers.add(timer);
        return;
      }
      case 'garbage':
        response.writeHead(200, { 'Content-Type': 'application/json' }).end('<html>not json');
        return;
      case 'invalid-jwks':
        sendJson(response, 200, { keys: 'not-a-list' });
        return;
      case 'redirect':
        response.writeHead(302, { Location: `${origin}/redirected-jwks.json` }).end();
        return;
      case 'oversized':
        sendJson(response, 200, { keys: keys.map((key) => key.publicJwk), padding: 'x'.repeat(1024 * 1024) });
        return;
      case 'none':
        sendJson(response, 200, { keys: keys.map((key) => key.publicJwk) });
        return;
    }
  }

  function claims(overrides: Record<string, unknown> = {}): JWTPayload {
    const now = Math.floor(Date.now() / 1000);
    const merged: Record<string, unknown> = {
      iss: issuer,
      aud: audience,
      sub: defaultSubject,
      iat: now,
      exp: now + DEFAULT_TOKEN_LIFETIME_SECONDS,
      ...overrides,
    };
    for (const [name, value] of Object.entries(merged)) {
      if (value === undefined) delete merged[name];
    }
    return merged as JWTPayload;
  }

  function headerFor(alg: string, kid: string | null | undefined, extra: Record<string, unknown> = {}): Record<string, unknown> {
    const header: Record<string, unknown> = { alg, typ: 'JWT', ...(kid === null || kid === undefined ? {} : { kid }), ...extra };
    for (const [name, value] of Object.entries(header)) {
      if (value === undefined) delete header[name];
    }
    return header;
  }

  return {
    issuer,
    jwksUri,
    discoveryUri,
    audience,
    keys,
    get jwksFetchCount() {
      return jwksFetchCount;
    },
    get redirectTargetFetchCount() {
      return redirectTargetFetchCount;
    },
    claims,
    async sign(overrides = {}, signOptions = {}) {
      const issuerKey = keys[signOptions.keyIndex ?? 0];
      const alg = signOptions.alg ?? issuerKey.alg;
      const kid = signOptions.kid === undefined ? issuerKey.kid : signOptions.kid;
      // No SignJWT setters are used, so the payload is exactly what the test asked for.
      return registerSecret('id-token', await new SignJWT(claims(overrides))
        .setProtectedHeader(headerFor(alg, kid, signOptions.header) as { alg: string })
        .sign(signOptions.key ?? issuerKey.privateKey));
    },
    async signHmacWithPublicKey(overrides = {}, alg = 'HS256') {
      const secret = await exportSPKI(keys[0].publicKey);
      const signingInput = `${encodeSegment(headerFor(alg, keys[0].kid))}.${encodeSegment(claims(overrides))}`;
      const mac = createHmac(`sha${alg.slice(2)}`, secret).update(signingInput).digest();
      return registerSecret('id-token', `${signingInput}.${base64url.encode(mac)}`);
    },
    signWithRawHeader(header, overrides = {}, keyIndex = 0) {
      const signingInput = `${encodeSegment(header)}.${encodeSegment(claims(overrides))}`;
      return registerSecret('id-token', `${signingInput}.${base64url.encode(rawSignature(keys[keyIndex], signingInput))}`);
    },
    unsignedToken(overrides = {}, alg = 'none', signature = '') {
      return registerSecret('id-token', `${encodeSegment(headerFor(alg, keys[0].kid))}.${encodeSegment(claims(overrides))}.${signature}`);
    },
    async addKey(alg = 'RS256') {
      const key = await newIssuerKey(alg);
      keys.push(key);
      return key;
    },
    setFault(next) {
      fault = next;
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await listening.close();
    },
  };
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }).end(JSON.stringify(body));
}
