import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { parseServerArguments, startLocalServer, type RunningLocalServer } from '../../local/server';
import {
  DelegationEndpoint, DelegationIdentityProvider, DelegationRole, JwtIssuer, RoleRule, SessionTag, TokenDelegation, UserPrefixAccess,
} from '../../src';
import { loadBundledHandler, withoutLogs } from '../support/handler-harness';

/**
 * The local command on a template with two issuers (a Cognito user pool and an OIDC provider, each
 * with its namespace): one local issuer per issuer of the template, with its client id; and the
 * templates it refuses, each with a sentence that says what to give instead.
 */

function templateFile(name: string, content: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), 'local-command-')), name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

function twoIssuerTemplate(): unknown {
  const stack = new Stack(new App(), 'TwoIssuers');
  const userPool = new cognito.UserPool(stack, 'Pool');
  const client = userPool.addClient('Web');
  new TokenDelegation(stack, 'Files', {
    issuers: [
      JwtIssuer.cognito({ userPool, clients: [client], subjectNamespace: 'cognito' }),
      JwtIssuer.oidc({ issuerUrl: 'https://tenant.eu.auth0.com/', audiences: ['AUTH0_CLIENT'], subjectNamespace: 'auth0' }),
    ],
  });
  return Template.fromStack(stack).toJSON();
}

describe('a template with two issuers', () => {
  let local: RunningLocalServer;

  beforeAll(async () => {
    const file = templateFile('TwoIssuers.template.json', twoIssuerTemplate());
    local = await startLocalServer(parseServerArguments(['--template', file, '--port', '0', '--user', 'carol']), (env) => withoutLogs(loadBundledHandler(env)));
  }, 60_000);

  afterAll(async () => {
    await local?.close();
  });

  test('gets one local issuer per issuer, with its own client id, and the users sign in at every issuer', () => {
    const audiences = local.testBed!.issuers.map((issuer) => issuer.audience);
    expect(audiences[1]).toBe('AUTH0_CLIENT');
    expect(audiences[0]).toMatch(/^[a-z0-9]{26}$/);
    expect(local.banner).toContain(`client id ${audiences[0]}  (?issuer=0)`);
    expect(local.banner).toContain('client id AUTH0_CLIENT  (?issuer=1)');
    expect(local.sessions.map((session) => session.subject)).toEqual(['cognito:carol', 'auth0:carol']);
    expect(local.banner).toMatch(/^carol +signed in at issuer 0 -> HTTP 200, role FilesUserRole\w+, saml:sub = cognito:carol$/m);
    expect(local.banner).toMatch(/^carol +signed in at issuer 1 -> HTTP 200, role FilesUserRole\w+, saml:sub = auth0:carol$/m);
    // One column per session, named by its ${saml:sub}: each issuer's user reaches their own prefix only.
    expect(local.banner).toMatch(/^request +cognito:carol +auth0:carol$/m);
    expect(local.banner).toMatch(/^PutObject {4}users\/cognito:carol\/notes\.txt +allowed +denied$/m);
    expect(local.banner).toMatch(/^PutObject {4}users\/auth0:carol\/notes\.txt +denied +allowed$/m);
  });

  test('the dev token route mints for the issuer asked for, and the exchange namespaces the subject by it', async () => {
    const { id_token: idToken } = await (await fetch(`${local.server.origin}/dev/token?sub=carol&issuer=1`)).json() as { id_token: string };
    const response = await fetch(local.server.url, { method: 'POST', headers: { Authorization: `Bearer ${idToken}` } });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { Subject: string }).Subject).toBe('auth0:carol');
    expect((await fetch(`${local.server.origin}/dev/token?sub=carol&issuer=2`)).status).toBe(400);
    expect((await fetch(`${local.server.origin}/dev/token`)).status).toBe(400);
  });
});

/** Editors only: no default role, a role rule on a groups claim, and a session tag from a claim. */
function editorsOnlyTemplate(): unknown {
  const stack = new Stack(new App(), 'EditorsOnly');
  const identityProvider = new DelegationIdentityProvider(stack, 'IdentityProvider');
  const editors = new DelegationRole(stack, 'Editors', { identityProvider });
  editors.grantUserPrefix(new s3.Bucket(stack, 'Data'), { prefix: 'home/', access: UserPrefixAccess.READ_WRITE });
  new DelegationEndpoint(stack, 'Endpoint', {
    identityProvider,
    issuers: [JwtIssuer.oidc({ issuerUrl: 'https://tenant.eu.auth0.com/', audiences: ['AUTH0_CLIENT'] })],
    roleRules: [RoleRule.claimContains('https://example.com/groups', 'editors', editors)],
    sessionTags: [SessionTag.fromClaim('department', 'https://example.com/department')],
  });
  return Template.fromStack(stack).toJSON();
}

describe('a template whose role rules need claims', () => {
  const file = () => templateFile('EditorsOnly.template.json', editorsOnlyTemplate());

  test('without the claims the users are refused, and the command still starts and says what to give', async () => {
    const local = await startLocalServer(parseServerArguments(['--template', file(), '--port', '0']), (env) => withoutLogs(loadBundledHandler(env)));
    try {
      expect(local.sessions).toEqual([]);
      expect(local.refused.map((refusal) => [refusal.user, refusal.status, refusal.error])).toEqual([['alice', 403, 'access_denied'], ['bob', 403, 'access_denied']]);
      expect(local.banner).toContain('No user signed in, so there is no table: give the claims your role rules need with --claim name=value.');
    } finally {
      await local.close();
    }
  }, 60_000);

  test('--claim puts them into the tokens: the rule picks the role and the session carries the tag', async () => {
    const args = ['--template', file(), '--port', '0', '--claim', 'https://example.com/groups=["editors"]', '--claim', 'https://example.com/department=sales'];
    const local = await startLocalServer(parseServerArguments(args), (env) => withoutLogs(loadBundledHandler(env)));
    try {
      expect(local.refused).toEqual([]);
      expect(local.sessions.map((session) => [session.subject, session.roleArn.split('/').pop(), session.sessionTags])).toEqual([
        ['alice', expect.stringMatching(/^Editors[0-9A-F]{8}$/), [{ key: 'department', value: 'sales' }]],
        ['bob', expect.stringMatching(/^Editors[0-9A-F]{8}$/), [{ key: 'department', value: 'sales' }]],
      ]);
      expect(local.banner).toMatch(/^PutObject {4}home\/alice\/notes\.txt +allowed +denied$/m);
      // The dev token route takes claims as further parameters, and never a reserved one.
      const token = async (query: string) => fetch(`${local.server.origin}/dev/token?${query}`);
      const groups = encodeURIComponent('https://example.com/groups');
      const minted = await (await token(`sub=carol&${groups}=${encodeURIComponent('["editors"]')}`)).json() as { id_token: string };
      const answer = await fetch(local.server.url, { method: 'POST', headers: { Authorization: `Bearer ${minted.id_token}` } });
      expect(answer.status).toBe(200);
      expect((await token('sub=carol&aud=other')).status).toBe(400);
      expect((await token('sub=carol&exp=1')).status).toBe(400);
    } finally {
      await local.close();
    }
  }, 60_000);

  test.each([['aud=x'], ['noequals'], ['=x'], ['groups=[broken']])('--claim %s is refused', (claim) => {
    expect(() => parseServerArguments(['--template', 't.json', '--claim', claim])).toThrow(/--claim/);
  });
});

describe('templates the command refuses', () => {
  test.each([
    ['not JSON', '{"Resources":', /is not JSON: give the synthesized template/],
    ['without Resources', { Outputs: {} }, /has no Resources/],
    ['without a delegation function', { Resources: { Bucket: { Type: 'AWS::S3::Bucket' } } }, /no delegation function/],
  ])('a template %s', async (_name, content, message) => {
    const file = templateFile('Bad.template.json', content);
    await expect(startLocalServer(parseServerArguments(['--template', file, '--port', '0']), (env) => withoutLogs(loadBundledHandler(env)))).rejects.toThrow(message);
  });

  test('a function that is not a delegation function of the template', async () => {
    const file = templateFile('TwoIssuers.template.json', twoIssuerTemplate());
    await expect(startLocalServer(parseServerArguments(['--template', file, '--port', '0', '--function', 'Nope']), (env) => withoutLogs(loadBundledHandler(env))))
      .rejects.toThrow(/Nope is not a delegation function of the template; these are: FilesEndpointHandler/);
  });
});

describe('--host', () => {
  const base = ['--template', 'cdk.out/Stack.template.json'];

  test.each(['127.0.0.1', '127.8.9.10', 'localhost', 'LOCALHOST', '::1', '0:0:0:0:0:0:0:1'])('accepts the loopback address %s', (host) => {
    expect(parseServerArguments([...base, '--host', host]).host).toBe(host);
  });

  test.each(['0.0.0.0', '::', '192.168.1.20', '10.0.0.1', '8.8.8.8', '::ffff:10.0.0.1', 'fe80::1', 'my-laptop.local', '128.0.0.1'])(
    'refuses %s, which the network may reach, and says how to mean it', (host) => {
      expect(() => parseServerArguments([...base, '--host', host]))
        .toThrow(new RegExp(`--host ${host.replace(/[.]/g, '\\.')} is not a loopback address: .*--allow-non-loopback`));
    });

  test('--allow-non-loopback lets --host name another address (parsed only: nothing is bound here)', () => {
    expect(parseServerArguments([...base, '--host', '0.0.0.0', '--allow-non-loopback']).host).toBe('0.0.0.0');
    expect(parseServerArguments([...base, '--allow-non-loopback', '--host', '192.168.1.20']).host).toBe('192.168.1.20');
  });

  test('the default host is loopback', () => {
    expect(parseServerArguments(base).host).toBe('127.0.0.1');
  });
});
