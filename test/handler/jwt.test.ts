import { createServer } from 'node:net';
import { exportJWK } from 'jose';
import { DelegationError } from '../../lambda/delegation/errors';
import { errorHeaders } from '../../lambda/delegation/http';
import { TokenVerifier, type TokenVerifierOptions } from '../../lambda/delegation/jwt';
import type { VerifiedToken } from '../../lambda/delegation/types';
import { generateForeignKey, startOidcIssuer, type JwksFault, type LocalOidcIssuer } from '../../local/oidc-issuer';
import type { IssuerConfig } from '../../src/contract/delegation-environment';

let issuer: LocalOidcIssuer;
/** A second issuer that plays the attacker's key server for jku/x5u headers. */
let attacker: LocalOidcIssuer;

beforeAll(async () => {
  [issuer, attacker] = await Promise.all([
    // Its 'slow' fault never answers within a test, so a verifier that returns has given up by its own timeout.
    startOidcIssuer({ keyAlgorithms: ['RS256', 'ES256'], slowDelayMs: 600_000 }),
    startOidcIssuer(),
  ]);
});

afterAll(async () => {
  await Promise.all([issuer.close(), attacker.close()]);
});

afterEach(() => {
  issuer.setFault('none');
});

const now = () => Math.floor(Date.now() / 1000);

function configFor(target: LocalOidcIssuer, overrides: Partial<IssuerConfig> = {}): IssuerConfig {
  return {
    issuer: target.issuer,
    jwksUri: target.jwksUri,
    audiences: [target.audience],
    algorithms: ['RS256'],
    subjectClaim: 'sub',
    namespace: '',
    maxTokenAgeSeconds: 3600,
    clockToleranceSeconds: 30,
    ...overrides,
  };
}

function verifierFor(overrides: Partial<IssuerConfig> = {}, options: TokenVerifierOptions = {}): TokenVerifier {
  return new TokenVerifier([configFor(issuer, overrides)], options);
}

/** The one verifier most tests share, as the handler shares one per container. */
let shared: TokenVerifier;
beforeAll(() => {
  shared = verifierFor();
});

async function failureOf(verifier: TokenVerifier, token: string): Promise<DelegationError> {
  let result: VerifiedToken | undefined;
  try {
    result = await verifier.verify(token);
  } catch (error) {
    expect(error).toBeInstanceOf(DelegationError);
    const failure = error as DelegationError;
    if (token !== '') {
      expect(failure.description).not.toContain(token);
    }
    if (token.length > 40) {
      expect(failure.description).not.toContain(token.slice(-40));
    }
    return failure;
  }
  throw new Error(`expected the token to be refused, got claims for ${String(result?.claims.sub)}`);
}

async function expectInvalid(token: string, reason: string, verifier: TokenVerifier = shared): Promise<void> {
  const failure = await failureOf(verifier, token);
  expect({ status: failure.status, code: failure.code, reason: failure.reason, headers: errorHeaders(failure) }).toEqual({
    status: 401,
    code: 'invalid_token',
    reason,
    headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' },
  });
}

function segments(token: string): string[] {
  return token.split('.');
}

function withPayload(token: string, payload: Record<string, unknown>): string {
  const [header, , signature] = segments(token);
  return `${header}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${signature}`;
}

describe('local OIDC issuer', () => {
  test('serves discovery and a JWKS of public keys only, under the issuer path', async () => {
    const tenant = await startOidcIssuer({ issuerPath: '/tenant/' });
    try {
      expect(tenant.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/tenant\/$/);
      const discovery = await (await fetch(tenant.discoveryUri)).json() as Record<string, unknown>;
      expect(discovery).toMatchObject({ issuer: tenant.issuer, jwks_uri: tenant.jwksUri, id_token_signing_alg_values_supported: ['RS256'] });
      const jwks = await (await fetch(tenant.jwksUri)).json() as { keys: Array<Record<string, unknown>> };
      expect(jwks.keys).toHaveLength(1);
      expect(jwks.keys[0]).toMatchObject({ kty: 'RSA', kid: tenant.keys[0].kid, alg: 'RS256', use: 'sig' });
      expect(Object.keys(jwks.keys[0]).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
      expect(tenant.jwksFetchCount).toBe(1);
    } finally {
      await tenant.close();
    }
  });
});

describe('valid tokens', () => {
  test('returns issuer, namespace, subject claim and all claims', async () => {
    const token = await issuer.sign({ sub: 'auth0|5f1a', email: 'a@example.com', groups: ['admin'] });
    const verified = await shared.verify(token);
    expect(verified).toEqual({
      issuer: issuer.issuer,
      namespace: '',
      subjectClaim: 'sub',
      claims: expect.objectContaining({ sub: 'auth0|5f1a', email: 'a@example.com', groups: ['admin'], aud: issuer.audience }),
    });
  });

  test('accepts clock skew within the tolerance (exp just past, iat and nbf just ahead)', async () => {
    await expect(shared.verify(await issuer.sign({ exp: now() - 10 }))).resolves.toBeDefined();
    await expect(shared.verify(await issuer.sign({ iat: now() + 10, nbf: now() + 10 }))).resolves.toBeDefined();
  });

  test('accepts an aud array with azp naming our client, and a single aud with matching azp', async () => {
    await expect(shared.verify(await issuer.sign({ aud: [issuer.audience, 'https://api.example.com'], azp: issuer.audience }))).resolves.toBeDefined();
    await expect(shared.verify(await issuer.sign({ azp: issuer.audience }))).resolves.toBeDefined();
  });

  test('accepts a token without kid when the key set has one usable key for the algorithm', async () => {
    await expect(shared.verify(await issuer.sign({}, { kid: null }))).resolves.toBeDefined();
  });

  test('accepts typ JWT and no typ at all', async () => {
    await expect(shared.verify(await issuer.sign({}, { header: { typ: 'JWT' } }))).resolves.toBeDefined();
    await expect(shared.verify(await issuer.sign({}, { header: { typ: undefined } }))).resolves.toBeDefined();
  });

  test('accepts Cognito id tokens when token_use is required', async () => {
    const cognito = verifierFor({ tokenUse: 'id' });
    await expect(cognito.verify(await issuer.sign({ token_use: 'id' }))).resolves.toBeDefined();
  });

  test('accepts ES256 when the issuer is configured for it', async () => {
    const es256 = verifierFor({ algorithms: ['ES256'] });
    await expect(es256.verify(await issuer.sign({}, { keyIndex: 1 }))).resolves.toBeDefined();
  });
});

describe('time claims', () => {
  test.each<[string, () => Record<string, unknown>, string]>([
    ['expired beyond the tolerance', () => ({ exp: now() - 60 }), 'jwt_expired'],
    ['nbf in the future', () => ({ nbf: now() + 120 }), 'jwt_not_yet_valid'],
    ['iat older than maxTokenAge', () => ({ iat: now() - 3700, exp: now() + 600 }), 'jwt_too_old'],
    ['iat in the future', () => ({ iat: now() + 120 }), 'jwt_iat'],
    ['exp as a string', () => ({ exp: String(now() + 600) }), 'jwt_claim_invalid'],
    ['iat as a string', () => ({ iat: String(now()) }), 'jwt_claim_invalid'],
  ])('%s', async (_name, claims, reason) => {
    await expectInvalid(await issuer.sign(claims()), reason);
  });

  test.each(['sub', 'iat', 'exp', 'aud', 'iss'])('missing %s', async (claim) => {
    const token = await issuer.sign({ [claim]: undefined });
    // Without iss the issuer cannot even be chosen.
    await expectInvalid(token, claim === 'iss' ? 'jwt_issuer' : 'jwt_claim_missing');
  });
});

describe('issuer and audience', () => {
  test.each([
    ['another issuer', 'https://other.example.com/'],
    ['a look-alike suffix', 'https://issuer.example.com.evil/'],
    ['no trailing slash', 'https://issuer.example.com'],
    ['upper-case scheme', 'HTTPS://issuer.example.com/'],
    ['extra path', 'https://issuer.example.com/x'],
  ])('refuses %s without fetching any key', async (_name, iss) => {
    const verifier = new TokenVerifier([{ ...configFor(issuer), issuer: 'https://issuer.example.com/' }]);
    await expect(verifier.verify(await issuer.sign({ iss: 'https://issuer.example.com/' }))).resolves.toBeDefined();
    const fetches = issuer.jwksFetchCount;
    await expectInvalid(await issuer.sign({ iss }), 'jwt_issuer', verifier);
    expect(issuer.jwksFetchCount).toBe(fetches);
  });

  test.each([
    ['an array', (iss: string) => [iss]],
    ['a number', () => 42],
    ['null', () => null],
  ])('refuses iss that is %s', async (_name, value) => {
    await expectInvalid(await issuer.sign({ iss: value(issuer.issuer) }), 'jwt_issuer');
  });

  test.each<[string, Record<string, unknown>, string]>([
    ['a foreign aud', { aud: 'another-client' }, 'jwt_audience'],
    ['an empty aud array', { aud: [] }, 'jwt_audience'],
    ['an aud array with a non-string member', { aud: ['local-client', 7] }, 'jwt_audience'],
    ['an aud array of two without azp', { aud: ['local-client', 'another-client'] }, 'jwt_azp'],
    ['an aud array with azp of another client', { aud: ['local-client', 'another-client'], azp: 'another-client' }, 'jwt_azp'],
    ['a single aud with azp of another client', { azp: 'another-client' }, 'jwt_azp'],
    ['azp that is not a string', { azp: ['local-client'] }, 'jwt_azp'],
  ])('refuses %s', async (_name, claims, reason) => {
    await expectInvalid(await issuer.sign(claims), reason);
  });

  test('refuses a token of one configured issuer that names the other as iss', async () => {
    const both = new TokenVerifier([
      configFor(issuer, { namespace: 'one' }),
      configFor(attacker, { namespace: 'two' }),
    ]);
    expect((await both.verify(await attacker.sign())).namespace).toBe('two');
    // Signed by the first issuer's key but claiming the second issuer: the second issuer's JWKS has no such kid.
    await expectInvalid(await issuer.sign({ iss: attacker.issuer }), 'jwt_kid', both);
    await expectInvalid(await issuer.sign({ iss: attacker.issuer }, { kid: attacker.keys[0].kid }), 'jwt_signature', both);
  });
});

describe('token type', () => {
  test.each(['at+jwt', 'AT+JWT', 'application/at+jwt'])('refuses an access token (typ %s)', async (typ) => {
    await expectInvalid(await issuer.sign({}, { header: { typ } }), 'jwt_typ');
  });

  test('refuses a non-string typ', async () => {
    await expectInvalid(await issuer.sign({}, { header: { typ: 1 } }), 'jwt_typ');
  });

  test.each<[string, Record<string, unknown>]>([
    ['access', { token_use: 'access' }],
    ['missing', {}],
  ])('refuses a Cognito token whose token_use is %s', async (_name, claims) => {
    await expectInvalid(await issuer.sign(claims), 'jwt_token_use', verifierFor({ tokenUse: 'id' }));
  });
});

describe('JWS structure attacks', () => {
  test.each(['none', 'None', 'NONE', 'nOnE'])('refuses alg %s with an empty signature', async (alg) => {
    await expectInvalid(issuer.unsignedToken({}, alg), 'jwt_alg');
  });

  test('refuses alg none carrying the signature of a real token', async () => {
    const real = await issuer.sign();
    await expectInvalid(issuer.unsignedToken({}, 'none', segments(real)[2]), 'jwt_alg');
  });

  test.each(['HS256', 'HS384', 'HS512'] as const)('refuses %s made with the public key as secret (algorithm confusion)', async (alg) => {
    await expectInvalid(await issuer.signHmacWithPublicKey({}, alg), 'jwt_alg');
  });

  test('refuses an algorithm outside the allow-list even with a valid signature of the issuer', async () => {
    await expectInvalid(await issuer.sign({}, { keyIndex: 1 }), 'jwt_alg');
  });

  test('refuses an alg header that differs from the alg the key set publishes for that kid (RS256 key, RS512 header)', async () => {
    const rs512 = verifierFor({ algorithms: ['RS256', 'RS512'] });
    const token = await issuer.sign();
    const [, payload, signature] = segments(token);
    const header = Buffer.from(JSON.stringify({ alg: 'RS512', kid: issuer.keys[0].kid })).toString('base64url');
    await expectInvalid(`${header}.${payload}.${signature}`, 'jwt_kid', rs512);
  });

  test('refuses a missing alg', async () => {
    const header = Buffer.from(JSON.stringify({ kid: issuer.keys[0].kid })).toString('base64url');
    await expectInvalid(`${header}.${segments(await issuer.sign())[1]}.abc`, 'jwt_malformed');
  });

  test.each([
    ['jwk', async (publicJwk: Record<string, unknown>) => ({ jwk: publicJwk })],
    ['jku', async () => ({ jku: attacker.jwksUri })],
    ['x5u', async () => ({ x5u: `${attacker.jwksUri}?cert` })],
  ])('never uses a %s header: a token signed by the attacker is refused and the attacker is never contacted', async (_name, makeHeader) => {
    const attackerKey = attacker.keys[0];
    const publicJwk = { ...(await exportJWK(attackerKey.publicKey)), kid: attackerKey.kid, alg: 'RS256' };
    const header = await makeHeader(publicJwk);
    const before = attacker.jwksFetchCount;
    await expectInvalid(await issuer.sign({}, { key: attackerKey.privateKey, kid: attackerKey.kid, header }), 'jwt_kid');
    await expectInvalid(await issuer.sign({}, { key: attackerKey.privateKey, header }), 'jwt_signature');
    expect(attacker.jwksFetchCount).toBe(before);
  });

  test('a genuine token carrying a jku header is verified with the pinned key set only', async () => {
    const before = attacker.jwksFetchCount;
    await expect(shared.verify(await issuer.sign({}, { header: { jku: attacker.jwksUri } }))).resolves.toBeDefined();
    expect(attacker.jwksFetchCount).toBe(before);
  });

  test('refuses a token signed with a foreign key under the issuer\'s kid', async () => {
    await expectInvalid(await issuer.sign({}, { key: await generateForeignKey() }), 'jwt_signature');
  });

  test('refuses an altered payload and a stripped signature', async () => {
    const token = await issuer.sign({ sub: 'alice' });
    const claims = JSON.parse(Buffer.from(segments(token)[1], 'base64url').toString()) as Record<string, unknown>;
    await expectInvalid(withPayload(token, { ...claims, sub: 'bob' }), 'jwt_signature');
    await expectInvalid(`${segments(token)[0]}.${segments(token)[1]}.`, 'jwt_signature');
  });

  test.each(['unknown-kid', '', '../../etc/passwd', 'x'.repeat(2000)])('refuses an unknown kid (%#)', async (kid) => {
    await expectInvalid(await issuer.sign({}, { kid }), 'jwt_kid');
  });

  test('refuses an unknown critical header', async () => {
    const base = { alg: 'RS256', kid: issuer.keys[0].kid };
    await expect(shared.verify(issuer.signWithRawHeader(base))).resolves.toBeDefined();
    await expectInvalid(issuer.signWithRawHeader({ ...base, 'crit': ['exp-2'], 'exp-2': 1 }), 'jwt_unsupported');
    await expectInvalid(issuer.signWithRawHeader({ ...base, b64: false, crit: ['b64'] }), 'jwt_malformed');
  });

  test('refuses JWE, JSON serialization and wrong segment counts before any key lookup', async () => {
    const token = await issuer.sign();
    const [header, payload, signature] = segments(token);
    const fetches = issuer.jwksFetchCount;
    const fresh = verifierFor();
    const jwe = `${Buffer.from('{"alg":"RSA-OAEP","enc":"A256GCM"}').toString('base64url')}.a.b.c.d`;
    await expectInvalid(jwe, 'jwt_jwe', fresh);
    await expectInvalid(JSON.stringify({ protected: header, payload, signature }), 'jwt_serialization', fresh);
    await expectInvalid(JSON.stringify({ payload, signatures: [{ protected: header, signature }] }), 'jwt_serialization', fresh);
    await expectInvalid(`${header}.${payload}`, 'jwt_malformed', fresh);
    await expectInvalid(`${token}.${signature}`, 'jwt_malformed', fresh);
    await expectInvalid(`${header}..${signature}`, 'jwt_malformed', fresh);
    await expectInvalid(`${header}.${payload}.${signature}=`, 'jwt_malformed', fresh);
    await expectInvalid(`${Buffer.from('not json').toString('base64url')}.${payload}.${signature}`, 'jwt_malformed', fresh);
    await expectInvalid(`${header}.${Buffer.from('[1]').toString('base64url')}.${signature}`, 'jwt_malformed', fresh);
    await expectInvalid('', 'jwt_malformed', fresh);
    expect(issuer.jwksFetchCount).toBe(fetches);
  });
});

describe('JWKS availability', () => {
  async function closedPortUrl(): Promise<string> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return `http://127.0.0.1:${port}/jwks.json`;
  }

  async function expectUnavailable(verifier: TokenVerifier, token: string): Promise<void> {
    const failure = await failureOf(verifier, token);
    expect({ status: failure.status, code: failure.code, reason: failure.reason, headers: errorHeaders(failure) }).toEqual({
      status: 503,
      code: 'temporarily_unavailable',
      reason: 'jwks_unavailable',
      headers: { 'Retry-After': '5' },
    });
  }

  test.each<JwksFault>(['reset', 'status-500', 'slow', 'garbage', 'invalid-jwks', 'redirect', 'oversized'])('answers 503 with Retry-After when the JWKS endpoint fails (%s)', async (fault) => {
    issuer.setFault(fault);
    const token = await issuer.sign();
    const before = issuer.jwksFetchCount;
    // Long enough for every other fault's answer to arrive on a busy machine; the slow one never does.
    await expectUnavailable(verifierFor({}, { timeoutMs: 2000 }), token);
    expect(issuer.jwksFetchCount).toBe(before + 1);
    expect(issuer.redirectTargetFetchCount).toBe(0);
  });

  test('answers 503 when nothing listens on the JWKS port', async () => {
    const verifier = new TokenVerifier([configFor(issuer, { jwksUri: await closedPortUrl() })]);
    await expectUnavailable(verifier, await issuer.sign());
  });

  test('cached keys keep working while the issuer is down; unknown kids fail fast with 503', async () => {
    const verifier = verifierFor({}, { cooldownMs: 0, failureBackoffMs: 60_000 });
    const token = await issuer.sign();
    await verifier.verify(token);
    const fetches = issuer.jwksFetchCount;
    issuer.setFault('reset');
    await expect(verifier.verify(token)).resolves.toBeDefined();
    expect(issuer.jwksFetchCount).toBe(fetches);

    // A kid the cached set does not know needs a fetch, which fails: 503, and the backoff starts.
    await expectUnavailable(verifier, await issuer.sign({}, { kid: 'rotated-kid' }));
    expect(issuer.jwksFetchCount).toBe(fetches + 1);
    // During the backoff, more unknown kids are answered at once without touching the issuer...
    await expectUnavailable(verifier, await issuer.sign({}, { kid: 'rotated-kid-2' }));
    expect(issuer.jwksFetchCount).toBe(fetches + 1);
    // ...while tokens with a cached kid are still verified.
    await expect(verifier.verify(await issuer.sign({ sub: 'other' }))).resolves.toBeDefined();
  });

  test('recovers once the issuer is back and picks up a rotated key', async () => {
    const verifier = verifierFor({}, { cooldownMs: 0, failureBackoffMs: 0 });
    issuer.setFault('status-500');
    await expectUnavailable(verifier, await issuer.sign());
    issuer.setFault('none');
    await expect(verifier.verify(await issuer.sign())).resolves.toBeDefined();
    const rotated = await issuer.addKey('RS256');
    const token = await issuer.sign({}, { keyIndex: issuer.keys.indexOf(rotated) });
    await expect(verifier.verify(token)).resolves.toBeDefined();
  });

  test('creates the key set lazily and once per verifier', async () => {
    const before = issuer.jwksFetchCount;
    const verifier = verifierFor();
    expect(issuer.jwksFetchCount).toBe(before);
    for (let index = 0; index < 5; index++) {
      await verifier.verify(await issuer.sign({ sub: `user-${index}` }));
    }
    expect(issuer.jwksFetchCount).toBe(before + 1);
  });

  test('a flood of random kids causes no refetch within the cooldown', async () => {
    // A cooldown no busy machine outlasts, so that the whole flood falls within it.
    const verifier = verifierFor({}, { cooldownMs: 600_000 });
    await verifier.verify(await issuer.sign());
    const fetches = issuer.jwksFetchCount;
    const tokens = await Promise.all(Array.from({ length: 50 }, (_, index) => issuer.sign({}, { kid: `unknown-${index}` })));
    for (const token of tokens) {
      await expectInvalid(token, 'jwt_kid', verifier);
    }
    expect(issuer.jwksFetchCount).toBe(fetches);
  });

  test('a sustained flood of random kids causes at most one refetch per cooldown', async () => {
    const cooldownMs = 200;
    const verifier = verifierFor({}, { cooldownMs });
    await verifier.verify(await issuer.sign());
    const fetches = issuer.jwksFetchCount;
    const started = Date.now();
    // A fixed number of requests, paced so that they span at least two cooldowns however fast the machine.
    for (let request = 0; request < 80; request++) {
      await expectInvalid(await issuer.sign({}, { kid: `unknown-${request}` }), 'jwt_kid', verifier);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const elapsed = Date.now() - started;
    const refetches = issuer.jwksFetchCount - fetches;
    expect(elapsed).toBeGreaterThan(2 * cooldownMs);
    expect(refetches).toBeGreaterThanOrEqual(1);
    // Refetches are at least one cooldown apart, whatever the pace was.
    expect(refetches).toBeLessThanOrEqual(Math.floor(elapsed / cooldownMs) + 1);
  });
});

describe('the token\'s own JSON is read as strictly as request bodies', () => {
  /** Signs exactly these header and claims texts (bytes as given) with the issuer's RS256 key. */
  async function signTexts(headerText: string | Buffer, claimsText: string | Buffer): Promise<string> {
    const signingInput = `${Buffer.from(headerText).toString('base64url')}.${Buffer.from(claimsText).toString('base64url')}`;
    const signature = await crypto.subtle.sign('RSASSA-PKCS1-v1_5', issuer.keys[0].privateKey, Buffer.from(signingInput));
    return `${signingInput}.${Buffer.from(signature).toString('base64url')}`;
  }
  const headerText = () => JSON.stringify({ alg: 'RS256', kid: issuer.keys[0].kid });
  const claimsText = (extra = '') => {
    const claims = issuer.claims({ sub: 'alice' });
    return `${JSON.stringify(claims).slice(0, -1)}${extra}}`;
  };

  test('the texts signed this way are accepted when they are strict (control)', async () => {
    const verified = await shared.verify(await signTexts(headerText(), claimsText()));
    expect(verified.claims.sub).toBe('alice');
  });

  test('a claims set naming sub twice is refused, though its signature is valid (jwt_duplicate_member)', async () => {
    await expectInvalid(await signTexts(headerText(), claimsText(',"sub":"bob"')), 'jwt_duplicate_member');
  });

  test('a claims set naming a rule\'s claim twice is refused', async () => {
    await expectInvalid(await signTexts(headerText(), claimsText(',"groups":["staff"],"groups":["admin"]')), 'jwt_duplicate_member');
  });

  test('a header naming alg or kid twice is refused', async () => {
    const kid = issuer.keys[0].kid;
    await expectInvalid(await signTexts(`{"alg":"RS256","kid":"${kid}","kid":"${kid}"}`, claimsText()), 'jwt_duplicate_member');
    await expectInvalid(await signTexts(`{"alg":"RS256","alg":"RS256","kid":"${kid}"}`, claimsText()), 'jwt_duplicate_member');
  });

  test.each([
    ['at the top level', ',"__proto__":{"admin":true}'],
    ['escaped', ',"\\u005f_proto__":{"admin":true}'],
    ['inside a claim', ',"address":{"__proto__":{"admin":true}}'],
    ['inside an object in an array', ',"orgs":[{"__proto__":{"admin":true}}]'],
  ])('a claims set with a member named __proto__ %s is refused, though its signature is valid (jwt_proto_member)', async (_where, extra) => {
    await expectInvalid(await signTexts(headerText(), claimsText(extra)), 'jwt_proto_member');
  });

  test('a header with a member named __proto__ is refused', async () => {
    await expectInvalid(await signTexts(`{"alg":"RS256","kid":"${issuer.keys[0].kid}","__proto__":{"crit":["x"]}}`, claimsText()), 'jwt_proto_member');
  });

  test('__proto__ as a value or inside a string is an ordinary value (control)', async () => {
    const verified = await shared.verify(await signTexts(headerText(), claimsText(',"note":"__proto__","tags":["__proto__"],"x":{"y":"\\"__proto__\\":1"}')));
    expect(verified.claims.note).toBe('__proto__');
  });

  test('a claims set that is not valid UTF-8 is refused (jose alone would read U+FFFD)', async () => {
    const text = Buffer.from(claimsText(',"name":"x"'));
    const invalid = Buffer.concat([text.subarray(0, text.length - 3), Buffer.from([0xff]), text.subarray(text.length - 2)]);
    await expectInvalid(await signTexts(headerText(), invalid), 'jwt_malformed');
  });

  test('a claims set with a byte order mark, or a JSON array, is refused', async () => {
    await expectInvalid(await signTexts(headerText(), `\ufeff${claimsText()}`), 'jwt_malformed');
    await expectInvalid(await signTexts(headerText(), '[]'), 'jwt_malformed');
  });

  test('a segment in non-canonical base64url (unused bits set) is refused', async () => {
    // Padded with JSON white space to 3n + 1 bytes, the claims segment ends in a character with 4 unused bits.
    let claims = claimsText();
    while (Buffer.byteLength(claims) % 3 !== 1) claims = `${claims.slice(0, -1)} }`;
    const [header, payload] = (await signTexts(headerText(), claims)).split('.');
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    // The neighbouring character differs only in the lowest of the 4 unused bits.
    const last = alphabet.indexOf(payload[payload.length - 1]);
    const tweaked = `${payload.slice(0, -1)}${alphabet[last % 2 === 0 ? last + 1 : last - 1]}`;
    expect(Buffer.from(tweaked, 'base64url').equals(Buffer.from(payload, 'base64url'))).toBe(true);
    const signingInput = `${header}.${tweaked}`;
    const signature = await crypto.subtle.sign('RSASSA-PKCS1-v1_5', issuer.keys[0].privateKey, Buffer.from(signingInput));
    await expectInvalid(`${signingInput}.${Buffer.from(signature).toString('base64url')}`, 'jwt_malformed');
  });
});
