import fc from 'fast-check';
import { AWS_SESSION_NAME_PATTERN, awsSessionNameFor, decideGrant } from '../../lambda/delegation/claims';
import type { DelegationConfig } from '../../lambda/delegation/config';
import { DelegationError } from '../../lambda/delegation/errors';
import type { DelegationRequest, VerifiedToken } from '../../lambda/delegation/types';
import type { RoleConfig, SamlAttributeConfig, SessionTagConfig } from '../../src/contract/delegation-environment';

const USER_ROLE = 'arn:aws:iam::123456789012:role/delegation-user';
const ADMIN_ROLE = 'arn:aws:iam::123456789012:role/delegation-admin';
const EDITOR_ROLE = 'arn:aws:iam::123456789012:role/delegation-editor';
const PROVIDER = 'arn:aws:iam::123456789012:saml-provider/TokenDelegation';
const ISSUER = 'https://tenant.auth0.com/';

interface ConfigOverrides {
  readonly roles?: Partial<RoleConfig>;
  readonly sessionTags?: SessionTagConfig[];
  readonly sessionDurationSeconds?: number;
  readonly limitSessionToToken?: boolean;
  readonly samlAttributes?: SamlAttributeConfig[];
}

function config(overrides: ConfigOverrides = {}): DelegationConfig {
  return {
    issuers: [],
    samlEntityId: 'https://delegation.example.com/saml',
    samlRecipient: 'https://signin.aws.amazon.com/saml',
    providerArn: PROVIDER,
    roles: { defaultRoleArn: USER_ROLE, rules: [], clientSelectable: [], ...overrides.roles },
    sessionTags: overrides.sessionTags ?? [],
    samlAttributes: overrides.samlAttributes ?? [],
    sessionDurationSeconds: overrides.sessionDurationSeconds ?? 3600,
    limitSessionToToken: overrides.limitSessionToToken ?? false,
    signer: { kind: 'kms', kmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/x' },
    allowedOrigins: [],
    assertionLifetimeSeconds: 300,
    metricsNamespace: 'TokenDelegation',
  };
}

function token(claims: Record<string, unknown> = {}, overrides: Partial<VerifiedToken> = {}): VerifiedToken {
  return { issuer: ISSUER, namespace: '', subjectClaim: 'sub', claims: { sub: 'auth0|5f1a2b', aud: 'client-1', ...claims }, ...overrides };
}

function request(overrides: Partial<DelegationRequest> = {}): DelegationRequest {
  return { idToken: 'not.used.here', form: 'bearer', ...overrides };
}

function failureOf(action: () => unknown): DelegationError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(DelegationError);
    return error as DelegationError;
  }
  throw new Error('expected a refusal');
}

function expectRefused(action: () => unknown, status: number, code: string, reason: string): void {
  const failure = failureOf(action);
  expect([failure.status, failure.code, failure.reason]).toEqual([status, code, reason]);
}

describe('subject', () => {
  test.each([
    'auth0|5f1a2b3c4d5e6f7a8b9c0d1e',
    'google-oauth2|110169484474386276334',
    '110169484474386276334',
    '8f6a1b2c-3d4e-4f50-9a6b-7c8d9e0f1a2b',
    'AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ',
    '00u1a2b3c4D5E6F7g8h9',
    'samlp|acme|alice@example.com',
    'a',
    'x'.repeat(128),
  ])('accepts %s unchanged', (sub) => {
    expect(decideGrant(token({ sub }), request(), config()).subject).toBe(sub);
  });

  test.each([
    ['a path', 'alice/../bob'],
    ['a slash', 'alice/'],
    ['a wildcard', '*'],
    ['a question mark', 'alic?'],
    ['a policy variable', '${x}'],
    ['a dollar', '$alice'],
    ['braces', '{alice}'],
    ['a space', 'a b'],
    ['a tab', 'a\tb'],
    ['a newline', 'a\nb'],
    ['a NUL', 'a\u0000b'],
    ['a colon', 'a:b'],
    ['XML', '<a>&amp;"\''],
    ['a non-ASCII letter', 'álice'],
    ['a right-to-left override', 'alice\u202Eecila'],
    ['129 characters', 'x'.repeat(129)],
    ['a lone dot', '.'],
    ['two dots', '..'],
  ])('refuses a subject with %s (403 subject_charset)', (_name, sub) => {
    expectRefused(() => decideGrant(token({ sub }), request(), config()), 403, 'access_denied', 'subject_charset');
  });

  test.each<[string, unknown]>([
    ['missing', undefined],
    ['empty', ''],
    ['a number', 12345],
    ['an array', ['alice']],
    ['null', null],
  ])('refuses a subject claim that is %s (403 subject_missing)', (_name, sub) => {
    const claims: Record<string, unknown> = { aud: 'client-1' };
    if (sub !== undefined) claims.sub = sub;
    expectRefused(() => decideGrant({ issuer: ISSUER, namespace: '', subjectClaim: 'sub', claims }, request(), config()), 403, 'access_denied', 'subject_missing');
  });

  test('reads the configured subject claim, never an inherited property', () => {
    expect(decideGrant(token({ oid: '00000000-0000-0000-0000-000000000001' }, { subjectClaim: 'oid' }), request(), config()).subject)
      .toBe('00000000-0000-0000-0000-000000000001');
    expectRefused(() => decideGrant(token({}, { subjectClaim: 'constructor' }), request(), config()), 403, 'access_denied', 'subject_missing');
  });

  test('prefixes the namespace, so equal subjects of two issuers differ', () => {
    const fromA = decideGrant(token({ sub: '1234' }, { namespace: 'auth0' }), request(), config());
    const fromB = decideGrant(token({ sub: '1234' }, { namespace: 'cognito' }), request(), config());
    expect([fromA.subject, fromB.subject]).toEqual(['auth0:1234', 'cognito:1234']);
    expect(fromA.roleSessionName).not.toBe(fromB.roleSessionName);
  });

  test('namespaced subjects never collide: neither part can contain a colon', () => {
    // "a:b" under namespace "x" would be "x:a:b", the same as "b" under namespace "x:a"; the colon is refused instead.
    expectRefused(() => decideGrant(token({ sub: 'a:b' }, { namespace: 'x' }), request(), config()), 403, 'access_denied', 'subject_charset');
  });
});

describe('awsSessionNameFor', () => {
  test('keeps a subject that already fits', () => {
    expect(awsSessionNameFor('110169484474386276334')).toBe('110169484474386276334');
    expect(awsSessionNameFor('alice@example.com')).toBe('alice@example.com');
  });

  test('replaces disallowed characters and appends a hash', () => {
    const name = awsSessionNameFor('auth0|5f1a2b');
    expect(name).toMatch(/^auth0_5f1a2b=[0-9a-f]{24}$/);
    expect(awsSessionNameFor('auth0|5f1a2b')).toBe(name);
  });

  test('is injective on inputs that sanitize alike', () => {
    const colliding = ['auth0|1', 'auth0_1', 'auth0:1', 'auth0/1', 'auth0 1', 'auth0|1=', 'x:auth0|1', 'y:auth0|1', 'x'.repeat(64), 'x'.repeat(65), 'x'.repeat(66)];
    const names = colliding.map(awsSessionNameFor);
    expect(new Set(names).size).toBe(colliding.length);
  });

  test('a subject that looks like a derived name is itself hashed, so it cannot take another subject\'s name', () => {
    const derived = awsSessionNameFor('auth0|1');
    expect(awsSessionNameFor(derived)).not.toBe(derived);
    expect(awsSessionNameFor(derived)).toMatch(/=[0-9a-f]{24}$/);
  });

  test.each(['a', 'x'.repeat(65), 'x'.repeat(500), 'ns:' + 'y'.repeat(128), 'aws:alice', 'AWS:x', ''])('fits AWS rules for %#', (subject) => {
    const name = awsSessionNameFor(subject);
    expect(name).toMatch(AWS_SESSION_NAME_PATTERN);
    expect(name.toLowerCase().startsWith('aws:')).toBe(false);
  });

  test('property: always fits, deterministic, and different subjects get different names', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 }), (a, b) => {
      const nameA = awsSessionNameFor(a);
      expect(nameA).toMatch(AWS_SESSION_NAME_PATTERN);
      expect(awsSessionNameFor(a)).toBe(nameA);
      if (a !== b) {
        expect(awsSessionNameFor(b)).not.toBe(nameA);
      }
    }), { numRuns: 2000 });
  });

  test('RoleSessionName and SourceIdentity of a grant are both derived from the namespaced subject', () => {
    const grant = decideGrant(token({ sub: 'auth0|5f1a2b' }, { namespace: 'main' }), request(), config());
    expect(grant.roleSessionName).toBe(awsSessionNameFor('main:auth0|5f1a2b'));
    expect(grant.sourceIdentity).toBe(grant.roleSessionName);
  });
});

describe('roles', () => {
  const rules: RoleConfig['rules'] = [
    { roleArn: ADMIN_ROLE, issuer: ISSUER, claim: 'groups', match: 'contains', value: 'admin' },
    { roleArn: EDITOR_ROLE, issuer: ISSUER, claim: 'https://example.com/tier', match: 'equals', value: 'editor' },
  ];

  test('server choice: first matching rule, else the default', () => {
    const withRules = config({ roles: { rules } });
    expect(decideGrant(token({ 'groups': ['staff', 'admin'], 'https://example.com/tier': 'editor' }), request(), withRules).roleArn).toBe(ADMIN_ROLE);
    expect(decideGrant(token({ 'https://example.com/tier': 'editor' }), request(), withRules).roleArn).toBe(EDITOR_ROLE);
    expect(decideGrant(token({ groups: ['staff'] }), request(), withRules).roleArn).toBe(USER_ROLE);
  });

  test.each<[string, Record<string, unknown>]>([
    ['contains on a string claim', { groups: 'admin' }],
    ['contains on an array with a non-string', { groups: [{ admin: true }] }],
    ['equals on an array claim', { 'https://example.com/tier': ['editor'] }],
    ['equals with different case', { 'https://example.com/tier': 'Editor' }],
    ['a missing claim', {}],
  ])('no rule matches with %s: 403 no_role when there is no default', (_name, claims) => {
    expectRefused(() => decideGrant(token(claims), request(), config({ roles: { defaultRoleArn: '', rules } })), 403, 'access_denied', 'no_role');
  });

  test('a requested role is honoured when client-selectable and available', () => {
    const selectable = config({ roles: { rules, clientSelectable: [USER_ROLE, ADMIN_ROLE] } });
    const admin = token({ groups: ['admin'] });
    expect(decideGrant(admin, request({ requestedRoleArn: USER_ROLE }), selectable).roleArn).toBe(USER_ROLE);
    expect(decideGrant(admin, request({ requestedRoleArn: ADMIN_ROLE }), selectable).roleArn).toBe(ADMIN_ROLE);
  });

  test.each<[string, string, Record<string, unknown>]>([
    ['available but not client-selectable', EDITOR_ROLE, { 'https://example.com/tier': 'editor' }],
    ['client-selectable but not available to this user', ADMIN_ROLE, { groups: ['staff'] }],
    ['unknown', 'arn:aws:iam::123456789012:role/other', {}],
    ['a look-alike in another account', 'arn:aws:iam::999999999999:role/delegation-admin', { groups: ['admin'] }],
    ['a look-alike in upper case', ADMIN_ROLE.toUpperCase(), { groups: ['admin'] }],
    ['a look-alike with a trailing space', `${ADMIN_ROLE} `, { groups: ['admin'] }],
    ['a look-alike with a path', 'arn:aws:iam::123456789012:role/x/delegation-admin', { groups: ['admin'] }],
    ['a prefix of an allowed role', ADMIN_ROLE.slice(0, -1), { groups: ['admin'] }],
  ])('refuses a requested role that is %s (403 role_not_allowed)', (_name, requestedRoleArn, claims) => {
    const selectable = config({ roles: { rules, clientSelectable: [USER_ROLE, ADMIN_ROLE] } });
    expectRefused(() => decideGrant(token(claims), request({ requestedRoleArn }), selectable), 403, 'access_denied', 'role_not_allowed');
  });

  test('a requested principal must be our SAML provider', () => {
    expect(decideGrant(token(), request({ requestedPrincipalArn: PROVIDER }), config()).roleArn).toBe(USER_ROLE);
    expectRefused(
      () => decideGrant(token(), request({ requestedPrincipalArn: 'arn:aws:iam::123456789012:saml-provider/Other' }), config()),
      403, 'access_denied', 'principal_not_allowed',
    );
  });

  test('the legacy client_id must be an audience of the token', () => {
    expect(decideGrant(token({ aud: ['client-1', 'api'] }), request({ form: 'auth0-legacy', clientId: 'client-1' }), config()).roleArn).toBe(USER_ROLE);
    expectRefused(() => decideGrant(token(), request({ form: 'auth0-legacy', clientId: 'client-2' }), config()), 400, 'invalid_request', 'client_id_mismatch');
  });
});

describe('session tags', () => {
  const tags: SessionTagConfig[] = [
    { issuer: ISSUER, key: 'department', claim: 'custom:department', required: true },
    { issuer: ISSUER, key: 'level', claim: 'level', required: false },
  ];

  test('maps strings and finite numbers, and leaves out a missing optional claim', () => {
    expect(decideGrant(token({ 'custom:department': 'Sales/Marketing EU', 'level': 3 }), request(), config({ sessionTags: tags })).sessionTags)
      .toEqual([{ key: 'department', value: 'Sales/Marketing EU' }, { key: 'level', value: '3' }]);
    expect(decideGrant(token({ 'custom:department': 'Ventes-Île-de-France' }), request(), config({ sessionTags: tags })).sessionTags)
      .toEqual([{ key: 'department', value: 'Ventes-Île-de-France' }]);
    expect(decideGrant(token({ 'custom:department': '', 'level': 1.5 }), request(), config({ sessionTags: tags })).sessionTags)
      .toEqual([{ key: 'department', value: '' }, { key: 'level', value: '1.5' }]);
  });

  test('accepts 256 UTF-16 units and refuses 257, counting letters outside the BMP as two', () => {
    const withTags = config({ sessionTags: tags });
    expect(decideGrant(token({ 'custom:department': 'é'.repeat(256) }), request(), withTags).sessionTags[0].value).toHaveLength(256);
    const astral = '\u{1D49C}'.repeat(128);
    expect(decideGrant(token({ 'custom:department': astral }), request(), withTags).sessionTags[0].value).toBe(astral);
    expectRefused(() => decideGrant(token({ 'custom:department': `${astral}a` }), request(), withTags), 403, 'access_denied', 'tag_invalid');
  });

  test('refuses a missing required claim (403 tag_missing)', () => {
    expectRefused(() => decideGrant(token({ level: 1 }), request(), config({ sessionTags: tags })), 403, 'access_denied', 'tag_missing');
  });

  test.each<[string, unknown]>([
    ['a pipe', 'a|b'],
    ['a comma', 'a,b'],
    ['a control character', 'a\u0007b'],
    ['XML', '<x>'],
    ['a policy variable', '${aws:username}'],
    ['257 characters', 'x'.repeat(257)],
    ['a boolean', true],
    ['an array', ['sales']],
    ['an object', { name: 'sales' }],
    ['null', null],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
  ])('refuses a tag value with %s (403 tag_invalid), even for an optional tag', (_name, value) => {
    expectRefused(() => decideGrant(token({ 'custom:department': value }), request(), config({ sessionTags: tags })), 403, 'access_denied', 'tag_invalid');
    expectRefused(() => decideGrant(token({ 'custom:department': 'ok', 'level': value }), request(), config({ sessionTags: tags })), 403, 'access_denied', 'tag_invalid');
  });
});

describe('rules and tags belong to one issuer', () => {
  const PARTNER = 'https://partner.example.com/';
  const rules: RoleConfig['rules'] = [{ roleArn: ADMIN_ROLE, issuer: ISSUER, claim: 'cognito:groups', match: 'contains', value: 'editors' }];
  const tags: SessionTagConfig[] = [{ issuer: ISSUER, key: 'department', claim: 'custom:department', required: false }];
  const scoped = config({ roles: { rules, clientSelectable: [ADMIN_ROLE] }, sessionTags: tags });
  const partnerToken = (claims: Record<string, unknown>) => token(claims, { issuer: PARTNER, namespace: 'partner' });

  test('a token of the rule\'s own issuer matches it', () => {
    expect(decideGrant(token({ 'cognito:groups': ['editors'] }), request(), scoped).roleArn).toBe(ADMIN_ROLE);
  });

  test('another issuer\'s token with the same claim gets the default role, not the rule\'s', () => {
    expect(decideGrant(partnerToken({ 'cognito:groups': ['editors'] }), request(), scoped).roleArn).toBe(USER_ROLE);
  });

  test('another issuer\'s token cannot ask for the rule\'s role (403 role_not_allowed)', () => {
    expectRefused(() => decideGrant(partnerToken({ 'cognito:groups': ['editors'] }), request({ requestedRoleArn: ADMIN_ROLE }), scoped),
      403, 'access_denied', 'role_not_allowed');
  });

  test('another issuer\'s token never gets the tag its claim would fill', () => {
    expect(decideGrant(token({ 'custom:department': 'sales' }), request(), scoped).sessionTags).toEqual([{ key: 'department', value: 'sales' }]);
    expect(decideGrant(partnerToken({ 'custom:department': 'sales' }), request(), scoped).sessionTags).toEqual([]);
  });

  test('a required tag of another issuer does not refuse this issuer\'s tokens', () => {
    const required = config({ sessionTags: [{ issuer: PARTNER, key: 'org', claim: 'org', required: true }] });
    expect(decideGrant(token(), request(), required).sessionTags).toEqual([]);
    expectRefused(() => decideGrant(partnerToken({}), request(), required), 403, 'access_denied', 'tag_missing');
  });
});

describe('companion claims', () => {
  const rules: RoleConfig['rules'] = [{
    roleArn: ADMIN_ROLE,
    issuer: ISSUER,
    claim: 'email',
    match: 'equals',
    value: 'ops-admin@corp.example',
    requires: [{ claim: 'email_verified', match: 'true' }],
  }];
  const withCompanion = config({ roles: { defaultRoleArn: '', rules } });

  test.each<[string, unknown]>([['the boolean true', true], ['the string "true"', 'true']])('matches when email_verified is %s', (_name, verified) => {
    expect(decideGrant(token({ email: 'ops-admin@corp.example', email_verified: verified }), request(), withCompanion).roleArn).toBe(ADMIN_ROLE);
  });

  test.each<[string, Record<string, unknown>]>([
    ['email_verified false', { email_verified: false }],
    ['email_verified "false"', { email_verified: 'false' }],
    ['email_verified 1', { email_verified: 1 }],
    ['email_verified ["true"]', { email_verified: ['true'] }],
    ['no email_verified', {}],
  ])('does not match with %s (403 no_role)', (_name, claims) => {
    expectRefused(() => decideGrant(token({ email: 'ops-admin@corp.example', ...claims }), request(), withCompanion), 403, 'access_denied', 'no_role');
  });

  test('every companion must hold, equals and contains included', () => {
    const strict = config({
      roles: {
        defaultRoleArn: '',
        rules: [{
          roleArn: ADMIN_ROLE,
          issuer: ISSUER,
          claim: 'groups',
          match: 'contains',
          value: 'ops',
          requires: [{ claim: 'amr', match: 'contains', value: 'mfa' }, { claim: 'tenant', match: 'equals', value: 'corp' }],
        }],
      },
    });
    expect(decideGrant(token({ groups: ['ops'], amr: ['pwd', 'mfa'], tenant: 'corp' }), request(), strict).roleArn).toBe(ADMIN_ROLE);
    expectRefused(() => decideGrant(token({ groups: ['ops'], amr: ['pwd'], tenant: 'corp' }), request(), strict), 403, 'access_denied', 'no_role');
    expectRefused(() => decideGrant(token({ groups: ['ops'], amr: ['mfa'], tenant: 'other' }), request(), strict), 403, 'access_denied', 'no_role');
  });
});

describe('SAML attributes from claims', () => {
  const AFFILIATION = 'urn:oid:1.3.6.1.4.1.5923.1.1.1.1';
  const MAIL = 'urn:oid:0.9.2342.19200300.100.1.3';
  const mapped = config({
    samlAttributes: [
      { issuer: ISSUER, name: AFFILIATION, claim: 'affiliation', required: false },
      { issuer: ISSUER, name: MAIL, claim: 'email', required: true },
    ],
  });

  test('strings, numbers and arrays of strings become values; a missing optional claim leaves the attribute out', () => {
    expect(decideGrant(token({ affiliation: ['staff', 'member'], email: 'a@example.edu' }), request(), mapped).samlAttributes)
      .toEqual([{ name: AFFILIATION, values: ['staff', 'member'] }, { name: MAIL, values: ['a@example.edu'] }]);
    expect(decideGrant(token({ email: 'a@example.edu' }), request(), mapped).samlAttributes).toEqual([{ name: MAIL, values: ['a@example.edu'] }]);
    expect(decideGrant(token({ affiliation: 42, email: 'x@y' }), request(), mapped).samlAttributes![0]).toEqual({ name: AFFILIATION, values: ['42'] });
  });

  test('a missing required claim refuses (403 attribute_missing)', () => {
    expectRefused(() => decideGrant(token({ affiliation: 'staff' }), request(), mapped), 403, 'access_denied', 'attribute_missing');
  });

  test.each<[string, unknown]>([
    ['an empty string', ''],
    ['an empty array', []],
    ['21 values', Array.from({ length: 21 }, (_, index) => `v${index}`)],
    ['257 characters', 'x'.repeat(257)],
    ['a control character', 'a\u0000b'],
    ['a line separator', 'a\u2028b'],
    ['a newline', 'a\nb'],
    ['a boolean', true],
    ['an object', { a: 1 }],
    ['null', null],
    ['numbers inside an array', [1, 2]],
    ['a nested array', [['staff']]],
    ['NaN', Number.NaN],
  ])('refuses a value that is %s (403 attribute_invalid)', (_name, value) => {
    expectRefused(() => decideGrant(token({ affiliation: value, email: 'a@b' }), request(), mapped), 403, 'access_denied', 'attribute_invalid');
  });

  test('XML in a value is kept as text (the emitter escapes it)', () => {
    expect(decideGrant(token({ affiliation: '<x a="b">&amp;', email: 'a@b' }), request(), mapped).samlAttributes![0].values).toEqual(['<x a="b">&amp;']);
  });

  test('another issuer\'s token never gets these attributes', () => {
    const partner = token({ affiliation: 'staff' }, { issuer: 'https://partner.example.com/', namespace: 'partner' });
    expect(decideGrant(partner, request(), mapped).samlAttributes).toEqual([]);
  });

  describe('with companion claims (requireClaims)', () => {
    const verifiedMail = (required: boolean) => config({
      samlAttributes: [{ issuer: ISSUER, name: MAIL, claim: 'email', required, requires: [{ claim: 'email_verified', match: 'true' }] }],
    });

    test.each<[string, unknown]>([['the boolean true', true], ['the string "true"', 'true']])('the claim counts when email_verified is %s', (_name, verified) => {
      expect(decideGrant(token({ email: 'a@example.edu', email_verified: verified }), request(), verifiedMail(false)).samlAttributes)
        .toEqual([{ name: MAIL, values: ['a@example.edu'] }]);
    });

    test.each<[string, Record<string, unknown>]>([
      ['email_verified false', { email_verified: false }],
      ['email_verified 1', { email_verified: 1 }],
      ['no email_verified', {}],
    ])('with %s the attribute is left out, as if the claim were absent', (_name, claims) => {
      expect(decideGrant(token({ email: 'victim@example.edu', ...claims }), request(), verifiedMail(false)).samlAttributes).toEqual([]);
    });

    test('with a required attribute an unverified claim refuses the request (403 attribute_unverified)', () => {
      expectRefused(() => decideGrant(token({ email: 'victim@example.edu', email_verified: false }), request(), verifiedMail(true)),
        403, 'access_denied', 'attribute_unverified');
      expectRefused(() => decideGrant(token({ email_verified: true }), request(), verifiedMail(true)), 403, 'access_denied', 'attribute_missing');
    });
  });
});

describe('sessions limited to the token\'s lifetime', () => {
  const NOW = new Date('2026-12-01T12:00:00Z');
  const at = (secondsFromNow: number) => Math.floor(NOW.getTime() / 1000) + secondsFromNow;
  const limited = config({ limitSessionToToken: true });

  test('off by default: the full duration whatever the token\'s exp', () => {
    expect(decideGrant(token({ exp: at(1200) }), request(), config(), NOW).durationSeconds).toBe(3600);
  });

  test('on: the session ends when the token does', () => {
    expect(decideGrant(token({ exp: at(1200) }), request(), limited, NOW).durationSeconds).toBe(1200);
    expect(decideGrant(token({ exp: at(1200) }), request({ requestedDurationSeconds: 1000 }), limited, NOW).durationSeconds).toBe(1000);
  });

  test('on: never shorter than STS\'s 900 s, never longer than the configured duration', () => {
    expect(decideGrant(token({ exp: at(60) }), request(), limited, NOW).durationSeconds).toBe(900);
    expect(decideGrant(token({ exp: at(7200) }), request(), limited, NOW).durationSeconds).toBe(3600);
  });
});

describe('duration', () => {
  test('defaults to the configured duration', () => {
    expect(decideGrant(token(), request(), config({ sessionDurationSeconds: 7200 })).durationSeconds).toBe(7200);
  });

  test.each([900, 1800, 3600])('honours a requested %i seconds up to the default', (seconds) => {
    expect(decideGrant(token(), request({ requestedDurationSeconds: seconds }), config()).durationSeconds).toBe(seconds);
  });

  test.each([899, 3601, 43200, 0, -900, 900.5, Number.NaN, Number.POSITIVE_INFINITY])('refuses a requested %p (400 invalid_request)', (seconds) => {
    expectRefused(() => decideGrant(token(), request({ requestedDurationSeconds: seconds }), config()), 400, 'invalid_request', 'duration_out_of_range');
  });
});

test('a complete grant', () => {
  const grant = decideGrant(
    token({ 'sub': 'auth0|5f1a2b', 'groups': ['admin'], 'custom:department': 'sales' }),
    request({ requestedDurationSeconds: 900 }),
    config({
      roles: { rules: [{ roleArn: ADMIN_ROLE, issuer: ISSUER, claim: 'groups', match: 'contains', value: 'admin' }] },
      sessionTags: [{ issuer: ISSUER, key: 'department', claim: 'custom:department', required: true }],
    }),
  );
  expect(grant).toEqual({
    subject: 'auth0|5f1a2b',
    roleArn: ADMIN_ROLE,
    roleSessionName: awsSessionNameFor('auth0|5f1a2b'),
    sourceIdentity: awsSessionNameFor('auth0|5f1a2b'),
    sessionTags: [{ key: 'department', value: 'sales' }],
    samlAttributes: [],
    durationSeconds: 900,
  });
});
