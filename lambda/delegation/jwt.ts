import {
  errors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
  type ProtectedHeaderParameters,
} from 'jose';
import { DelegationError } from './errors';
import { fetchJwks } from './jwks-fetch';
import { createRemoteKeySet, type RemoteKeySet } from './remote-key-set';
import { MAX_TOKEN_CHARS } from './request';
import { parseStrictJsonObject, type StrictJsonError } from './strict-json';
import type { VerifiedToken } from './types';
import type { IssuerConfig } from '../../src/contract/delegation-environment';

export interface TokenVerifierOptions {
  /** Timeout of one JWKS fetch. @default 3000 */
  readonly timeoutMs?: number;
  /** Minimum time between two JWKS fetches triggered by an unknown `kid`. @default 30000 */
  readonly cooldownMs?: number;
  /** How long fetched keys are trusted before they are fetched again. @default 600000 */
  readonly cacheMaxAgeMs?: number;
  /** After a failed JWKS fetch, how long requests that would need a fetch are answered 503 at once. @default 5000 */
  readonly failureBackoffMs?: number;
  /** Value of the `Retry-After` header of a 503. @default 5 */
  readonly retryAfterSeconds?: number;
  /** Clock used for exp/nbf/iat checks (tests). @default the system clock */
  readonly now?: () => Date;
}

/** Claims every accepted id token must carry (jose only checks `exp` and `iat` when told to). */
export const REQUIRED_CLAIMS = ['iss', 'sub', 'aud', 'exp', 'iat'];

const BASE64URL_SEGMENT = /^[A-Za-z0-9_-]*$/;
const ACCESS_TOKEN_TYPES = new Set(['at+jwt', 'application/at+jwt']);

/** Raised by the key resolver when the issuer's JWKS cannot be fetched or used; answered 503, never 401. */
class JwksUnavailableError extends Error {
  constructor(cause?: unknown) {
    super('The issuer\'s JSON Web Key Set is unavailable', { cause });
    this.name = 'JwksUnavailableError';
  }
}

interface IssuerState {
  readonly config: IssuerConfig;
  keySet?: RemoteKeySet;
  unavailableUntil: number;
}

/**
 * Verifies id tokens of the configured issuers with jose. One instance per container: each issuer's
 * remote key set (pinned `jwksUri`, never a `jku`/`x5u`/`jwk` header of the token) is created on first
 * use and keeps its keys, cooldown and timeout across requests.
 */
export class TokenVerifier {
  private readonly issuers: ReadonlyMap<string, IssuerState>;
  private readonly timeoutMs: number;
  private readonly cooldownMs: number;
  private readonly cacheMaxAgeMs: number;
  private readonly failureBackoffMs: number;
  private readonly retryAfterSeconds: number;
  private readonly now: () => Date;

  constructor(issuers: readonly IssuerConfig[], options: TokenVerifierOptions = {}) {
    this.issuers = new Map(issuers.map((config) => [config.issuer, { config, unavailableUntil: 0 }]));
    this.timeoutMs = options.timeoutMs ?? 3000;
    this.cooldownMs = options.cooldownMs ?? 30_000;
    this.cacheMaxAgeMs = options.cacheMaxAgeMs ?? 600_000;
    this.failureBackoffMs = options.failureBackoffMs ?? 5000;
    this.retryAfterSeconds = options.retryAfterSeconds ?? 5;
    this.now = options.now ?? (() => new Date());
  }

  /** Returns the verified token or throws DelegationError 401 `invalid_token` / 503 `temporarily_unavailable`. */
  async verify(idToken: string): Promise<VerifiedToken> {
    const { header, unverifiedClaims } = decodeUnverified(idToken);
    const typ = header.typ;
    if (typ !== undefined && (typeof typ !== 'string' || ACCESS_TOKEN_TYPES.has(typ.toLowerCase()))) {
      throw DelegationError.invalidToken('jwt_typ', 'An access token is not accepted; send the id_token');
    }
    // The issuer is picked by exact string match before any key is fetched, so a look-alike `iss` never reaches the network.
    const state = typeof unverifiedClaims.iss === 'string' ? this.issuers.get(unverifiedClaims.iss) : undefined;
    if (state === undefined) {
      throw DelegationError.invalidToken('jwt_issuer', 'The token issuer is not accepted');
    }
    const { config } = state;
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(idToken, this.keyResolver(state), {
        issuer: config.issuer,
        audience: config.audiences,
        algorithms: config.algorithms,
        requiredClaims: REQUIRED_CLAIMS,
        maxTokenAge: config.maxTokenAgeSeconds,
        clockTolerance: config.clockToleranceSeconds,
        currentDate: this.now(),
      }));
    } catch (error) {
      throw this.mapVerificationError(error);
    }
    checkAudienceAndAuthorizedParty(claims, config);
    if (config.tokenUse !== undefined && claims.token_use !== config.tokenUse) {
      throw DelegationError.invalidToken('jwt_token_use', 'The token is not an id token (token_use)');
    }
    return {
      issuer: config.issuer,
      namespace: config.namespace,
      subjectClaim: config.subjectClaim,
      claims,
    };
  }

  private keySet(state: IssuerState): RemoteKeySet {
    // Not jose's createRemoteJWKSet, whose Headers would load undici on every cold start (see remote-key-set.ts).
    state.keySet ??= createRemoteKeySet(state.config.jwksUri, {
      timeoutMs: this.timeoutMs,
      cooldownMs: this.cooldownMs,
      cacheMaxAgeMs: this.cacheMaxAgeMs,
      fetch: fetchJwks,
    });
    return state.keySet;
  }

  /**
   * Wraps the remote key set so that fetch failures are told apart from bad tokens, and so that during
   * an outage only tokens whose `kid` is in the still-fresh cached set are served while the rest fail fast.
   */
  private keyResolver(state: IssuerState): JWTVerifyGetKey {
    return async (header, token) => {
      const remote = this.keySet(state);
      if (Date.now() < state.unavailableUntil) {
        const cached = remote.fresh ? remote.jwks() : undefined;
        const kidCached = typeof header.kid === 'string' && cached?.keys.some((key) => key.kid === header.kid);
        if (!kidCached) {
          throw new JwksUnavailableError();
        }
      }
      try {
        return await remote(header, token);
      } catch (error) {
        if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
          throw error;
        }
        state.unavailableUntil = Date.now() + this.failureBackoffMs;
        throw new JwksUnavailableError(error);
      }
    };
  }

  private mapVerificationError(error: unknown): DelegationError {
    if (error instanceof JwksUnavailableError) {
      return DelegationError.unavailable('jwks', 'unavailable', this.retryAfterSeconds);
    }
    if (error instanceof errors.JWTExpired) {
      return error.claim === 'iat'
        ? DelegationError.invalidToken('jwt_too_old', 'The token was issued too long ago')
        : DelegationError.invalidToken('jwt_expired', 'The token has expired');
    }
    if (error instanceof errors.JWTClaimValidationFailed) {
      return claimError(error);
    }
    if (error instanceof errors.JOSEAlgNotAllowed) {
      return DelegationError.invalidToken('jwt_alg', 'The token\'s signing algorithm is not accepted');
    }
    if (error instanceof errors.JOSENotSupported) {
      return DelegationError.invalidToken('jwt_unsupported', 'The token uses an unsupported JWS feature');
    }
    if (error instanceof errors.JWSSignatureVerificationFailed) {
      return DelegationError.invalidToken('jwt_signature', 'The token signature is invalid');
    }
    if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
      return DelegationError.invalidToken('jwt_kid', 'No key of the issuer matches the token (kid)');
    }
    if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) {
      return DelegationError.invalidToken('jwt_malformed', 'The token is malformed');
    }
    return DelegationError.invalidToken('jwt_invalid', 'The token is not valid');
  }
}

function claimError(error: InstanceType<typeof errors.JWTClaimValidationFailed>): DelegationError {
  if (error.reason === 'missing') {
    return DelegationError.invalidToken('jwt_claim_missing', `The token lacks the required "${error.claim}" claim`);
  }
  if (error.reason === 'invalid') {
    return DelegationError.invalidToken('jwt_claim_invalid', `The token's "${error.claim}" claim has the wrong type`);
  }
  switch (error.claim) {
    case 'nbf':
      return DelegationError.invalidToken('jwt_not_yet_valid', 'The token is not valid yet (nbf)');
    case 'aud':
      return DelegationError.invalidToken('jwt_audience', 'The token audience is not accepted');
    case 'iss':
      return DelegationError.invalidToken('jwt_issuer', 'The token issuer is not accepted');
    case 'iat':
      return DelegationError.invalidToken('jwt_iat', 'The token issue time is invalid');
    default:
      return DelegationError.invalidToken('jwt_claim_invalid', 'A token claim has an invalid value');
  }
}

/**
 * Reads header and claims without trusting them, refusing JWE, JSON serialization and anything but
 * three base64url segments before jose sees the token.
 */
function decodeUnverified(idToken: string): { header: ProtectedHeaderParameters; unverifiedClaims: JWTPayload } {
  if (typeof idToken !== 'string' || idToken === '' || idToken.length > MAX_TOKEN_CHARS) {
    throw DelegationError.invalidToken('jwt_malformed', 'The token is malformed');
  }
  if (idToken.trimStart().startsWith('{')) {
    throw DelegationError.invalidToken('jwt_serialization', 'Only the compact serialization of a JWS is accepted');
  }
  const segments = idToken.split('.');
  if (segments.length === 5) {
    throw DelegationError.invalidToken('jwt_jwe', 'Encrypted tokens (JWE) are not accepted');
  }
  if (segments.length !== 3 || segments[0] === '' || segments[1] === '' || !segments.every((segment) => BASE64URL_SEGMENT.test(segment))) {
    throw DelegationError.invalidToken('jwt_malformed', 'The token is malformed');
  }
  return {
    header: strictSegment(segments[0], 'header') as ProtectedHeaderParameters,
    unverifiedClaims: strictSegment(segments[1], 'claims set') as JWTPayload,
  };
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The JSON object of a header or claims segment, read as strictly as request bodies are: canonical
 * base64url, valid UTF-8, a JSON object, no member named twice. jose reads the same bytes again
 * after the signature check; with duplicates refused here, both readings agree.
 */
function strictSegment(segment: string, what: 'header' | 'claims set'): Record<string, unknown> {
  const bytes = Buffer.from(segment, 'base64url');
  if (bytes.toString('base64url') !== segment) {
    throw DelegationError.invalidToken('jwt_malformed', 'The token is malformed');
  }
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    throw DelegationError.invalidToken('jwt_malformed', 'The token is malformed');
  }
  try {
    return parseStrictJsonObject(text);
  } catch (error) {
    if ((error as StrictJsonError).problem === 'duplicate_member') {
      throw DelegationError.invalidToken('jwt_duplicate_member', `The token's ${what} names a member twice`);
    }
    if ((error as StrictJsonError).problem === 'proto_member') {
      throw DelegationError.invalidToken('jwt_proto_member', `The token's ${what} has a member named __proto__`);
    }
    throw DelegationError.invalidToken('jwt_malformed', 'The token is malformed');
  }
}

/**
 * jose accepts an `aud` array when any member matches; OpenID Connect Core 3.1.3.7 also wants every
 * member to be a string, and an `azp` that names one of our clients when it is present or when `aud`
 * lists several audiences.
 */
function checkAudienceAndAuthorizedParty(claims: JWTPayload, config: IssuerConfig): void {
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (audiences.length === 0 || !audiences.every((audience) => typeof audience === 'string')) {
    throw DelegationError.invalidToken('jwt_audience', 'The token audience is not accepted');
  }
  const azp = claims.azp;
  if (azp === undefined) {
    if (audiences.length > 1) {
      throw DelegationError.invalidToken('jwt_azp', 'A token with several audiences must name its authorized party (azp)');
    }
    return;
  }
  if (typeof azp !== 'string' || !config.audiences.includes(azp)) {
    throw DelegationError.invalidToken('jwt_azp', 'The token\'s authorized party (azp) is not accepted');
  }
}
