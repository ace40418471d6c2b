import { Duration, Lazy } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as iam from 'aws-cdk-lib/aws-iam';
import { JwtIssuer, RoleRule, SessionTag } from '../../src';
import { testStack } from '../support/stacks';

describe('JwtIssuer', () => {
  test('oidc defaults: RS256, sub, 1 h token age, 30 s tolerance, JWKS under the issuer', () => {
    const issuer = JwtIssuer.oidc({ issuerUrl: 'https://tenant.auth0.com/', audiences: ['c'] });
    expect(issuer.algorithms).toEqual(['RS256']);
    expect(issuer.subjectClaim).toBe('sub');
    expect(issuer.maxTokenAge.toSeconds()).toBe(3600);
    expect(issuer.clockTolerance.toSeconds()).toBe(30);
    expect(issuer.jwksUri).toBe('https://tenant.auth0.com/.well-known/jwks.json');
    expect(JwtIssuer.oidc({ issuerUrl: 'https://login.example.com/realms/app', audiences: ['c'] }).jwksUri)
      .toBe('https://login.example.com/realms/app/.well-known/jwks.json');
  });

  test('oidc uses the given JWKS URL and settings', () => {
    const issuer = JwtIssuer.oidc({
      issuerUrl: 'https://accounts.google.com',
      audiences: ['c'],
      jwksUri: 'https://www.googleapis.com/oauth2/v3/certs',
      maxTokenAge: Duration.minutes(5),
      clockTolerance: Duration.seconds(5),
      subjectClaim: 'oid',
      subjectNamespace: 'google',
    });
    expect(issuer.jwksUri).toBe('https://www.googleapis.com/oauth2/v3/certs');
    expect(issuer.maxTokenAge.toSeconds()).toBe(300);
    expect(issuer.subjectClaim).toBe('oid');
    expect(issuer.subjectNamespace).toBe('google');
  });

  test.each<[string, object, RegExp]>([
    ['an http issuer', { issuerUrl: 'http://tenant.auth0.com/' }, /issuerUrl must be an https URL/],
    ['a malformed issuer', { issuerUrl: 'tenant.auth0.com' }, /issuerUrl must be an https URL/],
    ['credentials in the issuer', { issuerUrl: 'https://u:p@tenant.auth0.com/' }, /issuerUrl must be an https URL/],
    ['an http JWKS URL', { jwksUri: 'http://tenant.auth0.com/jwks' }, /jwksUri must be an https URL/],
    ['no audience', { audiences: [] }, /at least one audience/],
    ['an empty audience', { audiences: [' '] }, /must not be empty/],
    ['no algorithm', { algorithms: [] }, /at least one algorithm/],
    ['a subject claim with a space', { subjectClaim: 'user id' }, /subjectClaim/],
    ['a zero token age', { maxTokenAge: Duration.seconds(0) }, /maxTokenAge/],
    ['a tolerance over 5 minutes', { clockTolerance: Duration.minutes(6) }, /clockTolerance/],
    ['an uppercase namespace', { subjectNamespace: 'Auth0' }, /subjectNamespace must be/],
    ['a namespace with a colon', { subjectNamespace: 'a:b' }, /subjectNamespace must be/],
  ])('refuses %s', (_, override, message) => {
    expect(() => JwtIssuer.oidc({ issuerUrl: 'https://tenant.auth0.com/', audiences: ['c'], ...override })).toThrow(message);
  });

  test('skips validation of tokens', () => {
    const url = Lazy.string({ produce: () => 'https://late.example.com/' });
    expect(() => JwtIssuer.oidc({ issuerUrl: url, jwksUri: url, audiences: [url] })).not.toThrow();
  });

  test('a token issuerUrl needs an explicit jwksUri: the default path depends on a trailing slash known only at deploy time', () => {
    const url = Lazy.string({ produce: () => 'https://late.example.com/' });
    expect(() => JwtIssuer.oidc({ issuerUrl: url, audiences: ['c'] })).toThrow(/give jwksUri when issuerUrl is a token/);
  });

  test('cognito refuses a pool without clients', () => {
    const stack = testStack();
    const pool = new cognito.UserPool(stack, 'Pool');
    expect(() => JwtIssuer.cognito({ userPool: pool, clients: [] })).toThrow(/at least one audience/);
  });
});

describe('RoleRule and SessionTag', () => {
  const role = iam.Role.fromRoleArn(testStack(), 'R', 'arn:aws:iam::123456789012:role/Admin');

  test('rules keep claim, value and role', () => {
    const rule = RoleRule.claimContains('groups', 'admin', role);
    expect([rule.claim, rule.value, rule.role]).toEqual(['groups', 'admin', role]);
    expect(RoleRule.claimEquals('tier', 'gold', role).value).toBe('gold');
  });

  test.each([['', 'x'], ['a b', 'x'], ['groups', '']])('refuses the rule claim=%j value=%j', (claim, value) => {
    expect(() => RoleRule.claimEquals(claim, value, role)).toThrow(/RoleRule/);
  });

  test('tags accept AWS\'s key characters and default to optional', () => {
    const tag = SessionTag.fromClaim('cost-center/eu:1=a+b@c', 'custom:cc');
    expect(tag.required).toBe(false);
    expect(SessionTag.fromClaim('Abteilung', 'dept', { required: true }).required).toBe(true);
  });

  test.each([[''], ['a|b'], ['x'.repeat(129)], ['aws:foo'], ['AWS:Bar'], ['a*']])('refuses the tag key %j', (key) => {
    expect(() => SessionTag.fromClaim(key, 'claim')).toThrow(/SessionTag/);
  });

  test('refuses an empty tag claim', () => {
    expect(() => SessionTag.fromClaim('dept', '')).toThrow(/claim must be/);
  });
});
