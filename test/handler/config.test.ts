import { generateKeyPairSync } from 'node:crypto';
import { loadConfig } from '../../lambda/delegation/config';
import { DelegationEnv, type IssuerConfig, type RoleConfig } from '../../src/contract/delegation-environment';

const ROLE = 'arn:aws:iam::123456789012:role/delegation-user';
const ADMIN_ROLE = 'arn:aws:iam::123456789012:role/admins/delegation-admin';
const PROVIDER = 'arn:aws:iam::123456789012:saml-provider/TokenDelegation';
const KMS_KEY = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const COGNITO = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC';
const AUTH0 = 'https://tenant.auth0.com/';
const SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:delegation-key-AbCdEf';

function issuer(overrides: Partial<Record<keyof IssuerConfig, unknown>> = {}): Record<string, unknown> {
  return {
    issuer: 'https://tenant.auth0.com/',
    jwksUri: 'https://tenant.auth0.com/.well-known/jwks.json',
    audiences: ['client-1'],
    algorithms: ['RS256'],
    subjectClaim: 'sub',
    namespace: '',
    maxTokenAgeSeconds: 3600,
    clockToleranceSeconds: 60,
    ...overrides,
  };
}

function roles(overrides: Partial<Record<keyof RoleConfig, unknown>> = {}): Record<string, unknown> {
  return { defaultRoleArn: ROLE, rules: [], clientSelectable: [], ...overrides };
}

function env(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    [DelegationEnv.ISSUERS]: JSON.stringify([issuer()]),
    [DelegationEnv.SAML_ENTITY_ID]: 'https://delegation.example.com/saml',
    [DelegationEnv.SAML_RECIPIENT]: 'https://signin.aws.amazon.com/saml',
    [DelegationEnv.SAML_PROVIDER_ARN]: PROVIDER,
    [DelegationEnv.ROLES]: JSON.stringify(roles()),
    [DelegationEnv.KMS_KEY_ARN]: KMS_KEY,
    ...overrides,
  };
}

function messageOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected an error');
}


/** A role rule with every field, read back unchanged. */
const ADMIN_BY_VERIFIED_EMAIL_WITH_MFA = {
  roleArn: ADMIN_ROLE,
  issuer: 'https://tenant.auth0.com/',
  claim: 'email',
  match: 'equals',
  value: 'ops@corp.example',
  requires: [{ claim: 'email_verified', match: 'true' }, { claim: 'amr', match: 'contains', value: 'mfa' }],
};
describe('loadConfig: a valid environment', () => {
  test('applies the documented defaults for every optional variable', () => {
    const config = loadConfig(env());
    expect(config).toEqual({
      issuers: [issuer()],
      samlEntityId: 'https://delegation.example.com/saml',
      samlRecipient: 'https://signin.aws.amazon.com/saml',
      providerArn: PROVIDER,
      roles: roles(),
      sessionTags: [],
      sessionDurationSeconds: 3600,
      limitSessionToToken: false,
      samlAttributes: [],
      signer: { kind: 'kms', kmsKeyArn: KMS_KEY },
      allowedOrigins: [],
      assertionLifetimeSeconds: 300,
      metricsNamespace: 'TokenDelegation',
    });
  });

  test('honours the namespace of a lone issuer', () => {
    const config = loadConfig(env({ [DelegationEnv.ISSUERS]: JSON.stringify([issuer({ namespace: 'corp' })]) }));
    expect(config.issuers[0].namespace).toBe('corp');
  });

  test('accepts one issuer without a namespace beside namespaced ones', () => {
    const config = loadConfig(env({
      [DelegationEnv.ISSUERS]: JSON.stringify([issuer(), issuer({ issuer: 'https://b.example.com', namespace: 'b' })]),
    }));
    expect(config.issuers.map((item) => item.namespace)).toEqual(['', 'b']);
  });

  test('with one issuer, rules, tags and attributes may leave their issuer out', () => {
    const config = loadConfig(env({
      [DelegationEnv.ROLES]: JSON.stringify(roles({ rules: [{ roleArn: ADMIN_ROLE, claim: 'g', match: 'equals', value: 'a' }] })),
      [DelegationEnv.SESSION_TAGS]: JSON.stringify([{ key: 'k', claim: 'c', required: false }]),
      [DelegationEnv.SAML_ATTRIBUTES]: JSON.stringify([{ name: 'urn:oid:2.5.4.3', claim: 'name', required: false }]),
    }));
    expect([config.roles.rules[0].issuer, config.sessionTags[0].issuer, config.samlAttributes[0].issuer]).toEqual([AUTH0, AUTH0, AUTH0]);
  });

  test('a SAML attribute keeps its companion conditions, and leaves them out when there are none', () => {
    const config = loadConfig(env({
      [DelegationEnv.SAML_ATTRIBUTES]: JSON.stringify([
        { name: 'urn:oid:0.9.2342.19200300.100.1.3', claim: 'email', required: true, requires: [{ claim: 'email_verified', match: 'true' }] },
        { name: 'urn:oid:2.5.4.3', claim: 'name', required: false, requires: [] },
      ]),
    }));
    expect(config.samlAttributes).toEqual([
      { issuer: AUTH0, name: 'urn:oid:0.9.2342.19200300.100.1.3', claim: 'email', required: true, requires: [{ claim: 'email_verified', match: 'true' }] },
      { issuer: AUTH0, name: 'urn:oid:2.5.4.3', claim: 'name', required: false },
    ]);
    expect(messageOf(() => loadConfig(env({
      [DelegationEnv.SAML_ATTRIBUTES]: JSON.stringify([{ name: 'urn:oid:2.5.4.3', claim: 'name', required: false, requires: [{ claim: 'v', match: 'regex' }] }]),
    })))).toContain('DELEGATION_SAML_ATTRIBUTES[0].requires[0].match: must be "equals", "contains" or "true"');
  });

  test('the same tag key may be mapped for two issuers', () => {
    const config = loadConfig(env({
      [DelegationEnv.ISSUERS]: JSON.stringify([issuer(), issuer({ issuer: COGNITO, namespace: 'cognito' })]),
      [DelegationEnv.SESSION_TAGS]: JSON.stringify([
        { issuer: AUTH0, key: 'department', claim: 'https://corp.example/department', required: false },
        { issuer: COGNITO, key: 'department', claim: 'custom:department', required: false },
      ]),
    }));
    expect(config.sessionTags.map((tag) => tag.issuer)).toEqual([AUTH0, COGNITO]);
  });

  test('reads every variable when all are set', () => {
    const config = loadConfig(env({
      [DelegationEnv.ISSUERS]: JSON.stringify([
        issuer({ namespace: 'auth0', algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'] }),
        issuer({
          issuer: COGNITO,
          jwksUri: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC/.well-known/jwks.json',
          namespace: 'cognito',
          tokenUse: 'id',
          clockToleranceSeconds: 0,
        }),
      ]),
      [DelegationEnv.ROLES]: JSON.stringify(roles({
        rules: [ADMIN_BY_VERIFIED_EMAIL_WITH_MFA],
        clientSelectable: [ADMIN_ROLE, ROLE],
      })),
      [DelegationEnv.SESSION_TAGS]: JSON.stringify([{ issuer: COGNITO, key: 'department', claim: 'custom:department', required: false }]),
      [DelegationEnv.SESSION_DURATION_SECONDS]: '43200',
      [DelegationEnv.LIMIT_SESSION_TO_TOKEN]: 'true',
      [DelegationEnv.ALLOWED_ORIGINS]: JSON.stringify(['https://app.example.com', 'http://localhost:3000', 'https://app.example.com:8443']),
      [DelegationEnv.ASSERTION_LIFETIME_SECONDS]: '60',
      [DelegationEnv.METRICS_NAMESPACE]: 'My/Delegation',
    }));
    expect(config.issuers.map((item) => [item.namespace, item.tokenUse])).toEqual([['auth0', undefined], ['cognito', 'id']]);
    expect(config.issuers[0].algorithms).toEqual(['RS256', 'PS256', 'ES256', 'EdDSA']);
    expect(config.roles.rules).toEqual([ADMIN_BY_VERIFIED_EMAIL_WITH_MFA]);
    expect(config.roles.clientSelectable).toEqual([ADMIN_ROLE, ROLE]);
    expect(config.sessionTags).toEqual([{ issuer: COGNITO, key: 'department', claim: 'custom:department', required: false }]);
    expect(config.sessionDurationSeconds).toBe(43200);
    expect(config.limitSessionToToken).toBe(true);
    expect(config.allowedOrigins).toHaveLength(3);
    expect(config.assertionLifetimeSeconds).toBe(60);
    expect(config.metricsNamespace).toBe('My/Delegation');
  });

  test('allows plain http only for loopback issuers and JWKS', () => {
    for (const host of ['127.0.0.1:8080', 'localhost:8080', '[::1]:8080']) {
      const config = loadConfig(env({
        [DelegationEnv.ISSUERS]: JSON.stringify([issuer({ issuer: `http://${host}`, jwksUri: `http://${host}/jwks.json` })]),
      }));
      expect(config.issuers[0].jwksUri).toBe(`http://${host}/jwks.json`);
    }
  });

  test('accepts an inline PEM key or a Secrets Manager ARN with the pem signer', () => {
    const pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const withPem = loadConfig(env({ [DelegationEnv.SIGNER]: 'pem', [DelegationEnv.KMS_KEY_ARN]: undefined, [DelegationEnv.SIGNING_KEY_PEM]: pem }));
    expect(withPem.signer).toEqual({ kind: 'pem', signingKeyPem: pem.trim() });
    const withSecret = loadConfig(env({ [DelegationEnv.SIGNER]: 'pem', [DelegationEnv.KMS_KEY_ARN]: undefined, [DelegationEnv.SIGNING_KEY_SECRET_ARN]: SECRET }));
    expect(withSecret.signer).toEqual({ kind: 'secret-pem', signingKeySecretArn: SECRET });
  });

  test('a PEM key from Secrets Manager and the KMS signer are accepted inside AWS Lambda', () => {
    const inLambda = { AWS_LAMBDA_FUNCTION_NAME: 'delegation' };
    expect(loadConfig(env({ ...inLambda, [DelegationEnv.SIGNER]: 'pem', [DelegationEnv.KMS_KEY_ARN]: undefined, [DelegationEnv.SIGNING_KEY_SECRET_ARN]: SECRET })).signer)
      .toEqual({ kind: 'secret-pem', signingKeySecretArn: SECRET });
    expect(loadConfig(env(inLambda)).signer).toEqual({ kind: 'kms', kmsKeyArn: KMS_KEY });
  });
});

describe('loadConfig: refuses', () => {
  const issuersEnv = (...items: unknown[]) => env({ [DelegationEnv.ISSUERS]: JSON.stringify(items) });
  const rolesEnv = (value: unknown) => env({ [DelegationEnv.ROLES]: JSON.stringify(value) });
  const tagsEnv = (value: unknown) => env({ [DelegationEnv.SESSION_TAGS]: JSON.stringify(value) });

  test.each<[string, Record<string, string | undefined>, string]>([
    ['missing issuers', env({ [DelegationEnv.ISSUERS]: undefined }), 'DELEGATION_ISSUERS: is required'],
    ['issuers not JSON', env({ [DelegationEnv.ISSUERS]: '[{"issuer": ' }), 'DELEGATION_ISSUERS: is not valid JSON'],
    ['issuers not an array', env({ [DelegationEnv.ISSUERS]: '{}' }), 'DELEGATION_ISSUERS: must be a JSON array'],
    ['no issuer', issuersEnv(), 'DELEGATION_ISSUERS: must list at least one issuer'],
    ['http issuer', issuersEnv(issuer({ issuer: 'http://tenant.auth0.com/' })), 'DELEGATION_ISSUERS[0].issuer: must be an https URL'],
    ['not a URL', issuersEnv(issuer({ issuer: 'tenant.auth0.com' })), 'DELEGATION_ISSUERS[0].issuer: must be an https URL'],
    ['issuer not a string', issuersEnv(issuer({ issuer: 42 })), 'DELEGATION_ISSUERS[0].issuer: must be a string'],
    ['jwks with a space', issuersEnv(issuer({ jwksUri: 'https://tenant.auth0.com/a b' })), 'DELEGATION_ISSUERS[0].jwksUri: must not contain whitespace'],
    ['issuer with query', issuersEnv(issuer({ issuer: 'https://tenant.auth0.com/?x=1' })), 'DELEGATION_ISSUERS[0].issuer: must not contain a query'],
    ['issuer with fragment', issuersEnv(issuer({ issuer: 'https://tenant.auth0.com/#x' })), 'DELEGATION_ISSUERS[0].issuer: must not contain a fragment'],
    ['jwks over http', issuersEnv(issuer(), issuer({ issuer: 'https://b.example.com', jwksUri: 'http://b.example.com/jwks', namespace: 'b' })),
      'DELEGATION_ISSUERS[1].jwksUri: must be an https URL'],
    ['jwks with credentials', issuersEnv(issuer({ jwksUri: 'https://user:pw@tenant.auth0.com/jwks' })), 'DELEGATION_ISSUERS[0].jwksUri: must not contain credentials'],
    ['http on a look-alike loopback name', issuersEnv(issuer({ jwksUri: 'http://127.0.0.1.evil.example/jwks' })), 'DELEGATION_ISSUERS[0].jwksUri: must be an https URL'],
    ['no audience', issuersEnv(issuer({ audiences: [] })), 'DELEGATION_ISSUERS[0].audiences: must list at least one audience'],
    ['empty audience', issuersEnv(issuer({ audiences: [''] })), 'DELEGATION_ISSUERS[0].audiences[0]: must not be empty'],
    ['duplicate audience', issuersEnv(issuer({ audiences: ['a', 'a'] })), 'DELEGATION_ISSUERS[0].audiences[1]: duplicate audience'],
    ['alg none', issuersEnv(issuer({ algorithms: ['none'] })), 'DELEGATION_ISSUERS[0].algorithms[0]: must be one of RS256'],
    ['alg HS256', issuersEnv(issuer({ algorithms: ['RS256', 'HS256'] })), 'DELEGATION_ISSUERS[0].algorithms[1]: must be one of'],
    ['alg in lower case', issuersEnv(issuer({ algorithms: ['rs256'] })), 'DELEGATION_ISSUERS[0].algorithms[0]: must be one of'],
    ['no algorithm', issuersEnv(issuer({ algorithms: [] })), 'DELEGATION_ISSUERS[0].algorithms: must list at least one algorithm'],
    ['missing property', issuersEnv({ ...issuer(), subjectClaim: undefined }), 'DELEGATION_ISSUERS[0].subjectClaim: is required'],
    ['misspelt property', issuersEnv({ ...issuer(), audience: 'x' }), 'DELEGATION_ISSUERS[0]: unknown property "audience"'],
    ['two issuers without a namespace', issuersEnv(issuer(), issuer({ issuer: 'https://b.example.com' })),
      'DELEGATION_ISSUERS[1]: duplicate namespace (at most one issuer may have none)'],
    ['namespace with a colon on a lone issuer', issuersEnv(issuer({ namespace: 'a:b' })), 'DELEGATION_ISSUERS[0].namespace: must be empty or match'],
    ['namespace with a colon', issuersEnv(issuer({ namespace: 'a:b' }), issuer({ issuer: 'https://b.example.com', namespace: 'b' })),
      'DELEGATION_ISSUERS[0].namespace: must be empty or match'],
    ['upper-case namespace', issuersEnv(issuer({ namespace: 'Auth0' }), issuer({ issuer: 'https://b.example.com', namespace: 'b' })),
      'DELEGATION_ISSUERS[0].namespace: must be empty or match'],
    ['duplicate namespace', issuersEnv(issuer({ namespace: 'a' }), issuer({ issuer: 'https://b.example.com', namespace: 'a' })),
      'DELEGATION_ISSUERS[1]: duplicate namespace'],
    ['duplicate issuer', issuersEnv(issuer({ namespace: 'a' }), issuer({ namespace: 'b' })), 'DELEGATION_ISSUERS[1]: duplicate issuer'],
    ['zero max token age', issuersEnv(issuer({ maxTokenAgeSeconds: 0 })), 'DELEGATION_ISSUERS[0].maxTokenAgeSeconds: must be between 1 and'],
    ['fractional max token age', issuersEnv(issuer({ maxTokenAgeSeconds: 1.5 })), 'DELEGATION_ISSUERS[0].maxTokenAgeSeconds: must be an integer'],
    ['max token age as string', issuersEnv(issuer({ maxTokenAgeSeconds: '3600' })), 'DELEGATION_ISSUERS[0].maxTokenAgeSeconds: must be an integer'],
    ['negative tolerance', issuersEnv(issuer({ clockToleranceSeconds: -1 })), 'DELEGATION_ISSUERS[0].clockToleranceSeconds: must be between 0 and 300'],
    ['tolerance above 300', issuersEnv(issuer({ clockToleranceSeconds: 301 })), 'DELEGATION_ISSUERS[0].clockToleranceSeconds: must be between 0 and 300'],
    ['empty token_use', issuersEnv(issuer({ tokenUse: '' })), 'DELEGATION_ISSUERS[0].tokenUse: must not be empty'],

    ['missing entity id', env({ [DelegationEnv.SAML_ENTITY_ID]: '' }), 'DELEGATION_SAML_ENTITY_ID: is required'],
    ['entity id too long', env({ [DelegationEnv.SAML_ENTITY_ID]: `urn:${'x'.repeat(1021)}` }), 'DELEGATION_SAML_ENTITY_ID: must be at most 1024 characters'],
    ['entity id with spaces', env({ [DelegationEnv.SAML_ENTITY_ID]: 'urn:a b' }), 'DELEGATION_SAML_ENTITY_ID: must not contain whitespace'],
    ['missing recipient', env({ [DelegationEnv.SAML_RECIPIENT]: undefined }), 'DELEGATION_SAML_RECIPIENT: is required'],
    ['http recipient', env({ [DelegationEnv.SAML_RECIPIENT]: 'http://signin.aws.amazon.com/saml' }), 'DELEGATION_SAML_RECIPIENT: must be an https URL'],
    ['missing provider', env({ [DelegationEnv.SAML_PROVIDER_ARN]: undefined }), 'DELEGATION_SAML_PROVIDER_ARN: is required'],
    ['role ARN as provider', env({ [DelegationEnv.SAML_PROVIDER_ARN]: ROLE }), 'DELEGATION_SAML_PROVIDER_ARN: must be an IAM SAML provider ARN'],

    ['missing roles', env({ [DelegationEnv.ROLES]: undefined }), 'DELEGATION_ROLES: is required'],
    ['roles not an object', rolesEnv([ROLE]), 'DELEGATION_ROLES: must be a JSON object'],
    ['no role at all', rolesEnv(roles({ defaultRoleArn: '' })), 'DELEGATION_ROLES: needs a defaultRoleArn or at least one rule'],
    ['malformed default role', rolesEnv(roles({ defaultRoleArn: 'arn:aws:iam::12345:role/x' })), 'DELEGATION_ROLES.defaultRoleArn: must be an IAM role ARN'],
    ['user ARN as role', rolesEnv(roles({ defaultRoleArn: 'arn:aws:iam::123456789012:user/x' })), 'DELEGATION_ROLES.defaultRoleArn: must be an IAM role ARN'],
    ['role with a comma', rolesEnv(roles({ defaultRoleArn: 'arn:aws:iam::123456789012:role/a,b' })), 'DELEGATION_ROLES.defaultRoleArn: must be an IAM role ARN'],
    ['role with wildcard', rolesEnv(roles({ defaultRoleArn: 'arn:aws:iam::123456789012:role/*' })), 'DELEGATION_ROLES.defaultRoleArn: must be an IAM role ARN'],
    ['rule with bad match', rolesEnv(roles({ rules: [{ roleArn: ADMIN_ROLE, issuer: AUTH0, claim: 'groups', match: 'regex', value: 'a' }] })),
      'DELEGATION_ROLES.rules[0].match: must be "equals" or "contains"'],
    ['rule without claim', rolesEnv(roles({ rules: [{ roleArn: ADMIN_ROLE, issuer: AUTH0, claim: '', match: 'equals', value: 'a' }] })),
      'DELEGATION_ROLES.rules[0].claim: must not be empty'],
    ['rule without an issuer among several', env({
      [DelegationEnv.ISSUERS]: JSON.stringify([issuer(), issuer({ issuer: COGNITO, namespace: 'cognito' })]),
      [DelegationEnv.ROLES]: JSON.stringify(roles({ rules: [{ roleArn: ADMIN_ROLE, claim: 'groups', match: 'equals', value: 'a' }] })),
    }), 'DELEGATION_ROLES.rules[0].issuer: is required when several issuers are configured'],
    ['rule of an issuer that is not configured', rolesEnv(roles({ rules: [{ roleArn: ADMIN_ROLE, issuer: 'https://other.example.com/', claim: 'groups', match: 'equals', value: 'a' }] })),
      'DELEGATION_ROLES.rules[0].issuer: must be the issuer of one of DELEGATION_ISSUERS'],
    ['companion with an unknown match', rolesEnv(roles({ rules: [{ roleArn: ADMIN_ROLE, issuer: AUTH0, claim: 'g', match: 'equals', value: 'a', requires: [{ claim: 'v', match: 'regex', value: 'x' }] }] })),
      'DELEGATION_ROLES.rules[0].requires[0].match: must be "equals", "contains" or "true"'],
    ['companion "true" with a value', rolesEnv(roles({ rules: [{ roleArn: ADMIN_ROLE, issuer: AUTH0, claim: 'g', match: 'equals', value: 'a', requires: [{ claim: 'v', match: 'true', value: 'x' }] }] })),
      'DELEGATION_ROLES.rules[0].requires[0].value: must be absent when match is "true"'],
    ['companion without a value', rolesEnv(roles({ rules: [{ roleArn: ADMIN_ROLE, issuer: AUTH0, claim: 'g', match: 'equals', value: 'a', requires: [{ claim: 'v', match: 'equals' }] }] })),
      'DELEGATION_ROLES.rules[0].requires[0].value: must be a string'],
    ['tag without an issuer among several', env({
      [DelegationEnv.ISSUERS]: JSON.stringify([issuer(), issuer({ issuer: COGNITO, namespace: 'cognito' })]),
      [DelegationEnv.SESSION_TAGS]: JSON.stringify([{ key: 'k', claim: 'c', required: false }]),
    }), 'DELEGATION_SESSION_TAGS[0].issuer: is required when several issuers are configured'],
    ['tag of an issuer that is not configured', tagsEnv([{ issuer: 'https://tenant.auth0.com', key: 'k', claim: 'c', required: false }]),
      'DELEGATION_SESSION_TAGS[0].issuer: must be the issuer of one of DELEGATION_ISSUERS'],
    ['selectable role that no user can have', rolesEnv(roles({ clientSelectable: [ADMIN_ROLE] })),
      'DELEGATION_ROLES.clientSelectable[0]: is neither the default role nor the role of a rule'],
    ['selectable role listed twice', rolesEnv(roles({ clientSelectable: [ROLE, ROLE] })), 'DELEGATION_ROLES.clientSelectable[1]: duplicate role'],

    ['tags not an array', tagsEnv({}), 'DELEGATION_SESSION_TAGS: must be a JSON array'],
    ['51 tags', tagsEnv(Array.from({ length: 51 }, (_, index) => ({ issuer: AUTH0, key: `k${index}`, claim: 'c', required: false }))),
      'DELEGATION_SESSION_TAGS: must list at most 50 tags per issuer'],
    ['tag key with a pipe', tagsEnv([{ issuer: AUTH0, key: 'a|b', claim: 'c', required: false }]), 'DELEGATION_SESSION_TAGS[0].key: must be 1..128'],
    ['tag key of 129 characters', tagsEnv([{ issuer: AUTH0, key: 'k'.repeat(129), claim: 'c', required: false }]), 'DELEGATION_SESSION_TAGS[0].key: must be at most 128 characters'],
    ['reserved tag key', tagsEnv([{ issuer: AUTH0, key: 'AWS:x', claim: 'c', required: false }]), 'DELEGATION_SESSION_TAGS[0].key: must not start with "aws:"'],
    ['tag keys equal but for case', tagsEnv([{ issuer: AUTH0, key: 'Dept', claim: 'a', required: false }, { issuer: AUTH0, key: 'dept', claim: 'b', required: true }]),
      'DELEGATION_SESSION_TAGS[1]: duplicate tag key'],
    ['required not a boolean', tagsEnv([{ issuer: AUTH0, key: 'k', claim: 'c', required: 'yes' }]), 'DELEGATION_SESSION_TAGS[0].required: must be true or false'],

    ['a session limit that is not a flag', env({ [DelegationEnv.LIMIT_SESSION_TO_TOKEN]: 'yes' }), 'DELEGATION_LIMIT_SESSION_TO_TOKEN: must be "true" or "false"'],
    ['a SAML attribute that is not an OID', env({ [DelegationEnv.SAML_ATTRIBUTES]: JSON.stringify([{ issuer: AUTH0, name: 'https://aws.amazon.com/SAML/Attributes/Role', claim: 'c', required: false }]) }),
      'DELEGATION_SAML_ATTRIBUTES[0].name: must be an OID URN'],
    ['a SAML attribute mapped twice', env({
      [DelegationEnv.SAML_ATTRIBUTES]: JSON.stringify([
        { issuer: AUTH0, name: 'urn:oid:2.5.4.3', claim: 'a', required: false }, { issuer: AUTH0, name: 'urn:oid:2.5.4.3', claim: 'b', required: false },
      ]),
    }), 'DELEGATION_SAML_ATTRIBUTES[1]: duplicate attribute name per issuer'],
    ['a SAML attribute of an unknown issuer', env({ [DelegationEnv.SAML_ATTRIBUTES]: JSON.stringify([{ issuer: 'https://x.example.com/', name: 'urn:oid:2.5.4.3', claim: 'a', required: false }]) }),
      'DELEGATION_SAML_ATTRIBUTES[0].issuer: must be the issuer of one of DELEGATION_ISSUERS'],
    ['duration below 900', env({ [DelegationEnv.SESSION_DURATION_SECONDS]: '899' }), 'DELEGATION_SESSION_DURATION_SECONDS: must be between 900 and 43200, got 899'],
    ['duration above 43200', env({ [DelegationEnv.SESSION_DURATION_SECONDS]: '43201' }), 'DELEGATION_SESSION_DURATION_SECONDS: must be between 900 and 43200'],
    ['duration with unit', env({ [DelegationEnv.SESSION_DURATION_SECONDS]: '1h' }), 'DELEGATION_SESSION_DURATION_SECONDS: must be a whole number of seconds'],
    ['fractional duration', env({ [DelegationEnv.SESSION_DURATION_SECONDS]: '3600.5' }), 'DELEGATION_SESSION_DURATION_SECONDS: must be a whole number of seconds'],
    ['lifetime below 60', env({ [DelegationEnv.ASSERTION_LIFETIME_SECONDS]: '59' }), 'DELEGATION_ASSERTION_LIFETIME_SECONDS: must be between 60 and 300'],
    ['lifetime above 300', env({ [DelegationEnv.ASSERTION_LIFETIME_SECONDS]: '301' }), 'DELEGATION_ASSERTION_LIFETIME_SECONDS: must be between 60 and 300'],

    ['unknown signer', env({ [DelegationEnv.SIGNER]: 'hsm' }), 'DELEGATION_SIGNER: must be "kms" or "pem"'],
    ['kms without key', env({ [DelegationEnv.KMS_KEY_ARN]: undefined }), 'DELEGATION_KMS_KEY_ARN: is required when DELEGATION_SIGNER is kms'],
    ['kms with a bad ARN', env({ [DelegationEnv.KMS_KEY_ARN]: 'alias/foo' }), 'DELEGATION_KMS_KEY_ARN: must be a KMS key or alias ARN'],
    ['kms with a stray secret', env({ [DelegationEnv.SIGNING_KEY_SECRET_ARN]: SECRET }), 'DELEGATION_SIGNER: is kms, so'],
    ['pem with neither source', env({ [DelegationEnv.SIGNER]: 'pem', [DelegationEnv.KMS_KEY_ARN]: undefined }), 'DELEGATION_SIGNER: is pem, so exactly one of'],
    ['pem with both sources', env({
      [DelegationEnv.SIGNER]: 'pem',
      [DelegationEnv.KMS_KEY_ARN]: undefined,
      [DelegationEnv.SIGNING_KEY_PEM]: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----',
      [DelegationEnv.SIGNING_KEY_SECRET_ARN]: SECRET,
    }), 'DELEGATION_SIGNER: is pem, so exactly one of'],
    ['pem with a KMS key too', env({ [DelegationEnv.SIGNER]: 'pem', [DelegationEnv.SIGNING_KEY_SECRET_ARN]: SECRET }), 'DELEGATION_SIGNER: is pem, so DELEGATION_KMS_KEY_ARN must not be set'],
    ['an inline PEM key inside AWS Lambda', env({
      [DelegationEnv.SIGNER]: 'pem',
      [DelegationEnv.KMS_KEY_ARN]: undefined,
      [DelegationEnv.SIGNING_KEY_PEM]: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----',
      AWS_LAMBDA_FUNCTION_NAME: 'delegation',
    }), 'DELEGATION_SIGNING_KEY_PEM: must not be used in AWS Lambda'],
    ['pem with a bad secret ARN', env({ [DelegationEnv.SIGNER]: 'pem', [DelegationEnv.KMS_KEY_ARN]: undefined, [DelegationEnv.SIGNING_KEY_SECRET_ARN]: 'delegation-key' }),
      'DELEGATION_SIGNING_KEY_SECRET_ARN: must be a Secrets Manager secret ARN'],

    ['origins not JSON', env({ [DelegationEnv.ALLOWED_ORIGINS]: 'https://app.example.com' }), 'DELEGATION_ALLOWED_ORIGINS: is not valid JSON'],
    ['origin with a path', env({ [DelegationEnv.ALLOWED_ORIGINS]: '["https://app.example.com/"]' }), 'DELEGATION_ALLOWED_ORIGINS[0]: must be an exact origin'],
    ['origin in upper case', env({ [DelegationEnv.ALLOWED_ORIGINS]: '["https://App.example.com"]' }), 'DELEGATION_ALLOWED_ORIGINS[0]: must be an exact origin'],
    ['origin with default port', env({ [DelegationEnv.ALLOWED_ORIGINS]: '["https://app.example.com:443"]' }), 'DELEGATION_ALLOWED_ORIGINS[0]: must be an exact origin'],
    ['wildcard origin', env({ [DelegationEnv.ALLOWED_ORIGINS]: '["*"]' }), 'DELEGATION_ALLOWED_ORIGINS[0]: must be an exact origin'],
    ['null origin', env({ [DelegationEnv.ALLOWED_ORIGINS]: '["null"]' }), 'DELEGATION_ALLOWED_ORIGINS[0]: must be an exact origin'],
    ['http origin', env({ [DelegationEnv.ALLOWED_ORIGINS]: '["http://app.example.com"]' }), 'DELEGATION_ALLOWED_ORIGINS[0]: must use https'],
    ['duplicate origin', env({ [DelegationEnv.ALLOWED_ORIGINS]: '["https://a.example.com","https://a.example.com"]' }), 'DELEGATION_ALLOWED_ORIGINS[1]: duplicate origin'],
    ['AWS/ metrics namespace', env({ [DelegationEnv.METRICS_NAMESPACE]: 'AWS/Lambda' }), 'DELEGATION_METRICS_NAMESPACE: must be 1..255 characters'],
    ['metrics namespace with a brace', env({ [DelegationEnv.METRICS_NAMESPACE]: 'a{b}' }), 'DELEGATION_METRICS_NAMESPACE: must be 1..255 characters'],
  ])('%s', (_name, environment, expected) => {
    expect(messageOf(() => loadConfig(environment))).toContain(expected);
  });

  test.each([
    ['an encrypted PKCS#8 key', () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
      .export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'not-a-secret' }).toString(), 'not a readable PEM private key'],
    ['an EC key', () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), 'must be an RSA key'],
    ['a 1024-bit RSA key', () => generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs1' }).toString(), 'at least 2048 bits'],
  ])('refuses %s at configuration, as the PEM signer cannot use it', (_name, makePem, reason) => {
    const message = messageOf(() => loadConfig(env({
      [DelegationEnv.SIGNER]: 'pem', [DelegationEnv.KMS_KEY_ARN]: undefined, [DelegationEnv.SIGNING_KEY_PEM]: makePem(),
    })));
    expect(message).toContain('DELEGATION_SIGNING_KEY_PEM: is not a key the PEM signer can open');
    expect(message).toContain(reason);
  });

  test('never quotes a malformed PEM key or JSON it could not parse', () => {
    const secretLooking = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7';
    const pemMessage = messageOf(() => loadConfig(env({
      [DelegationEnv.SIGNER]: 'pem', [DelegationEnv.KMS_KEY_ARN]: undefined, [DelegationEnv.SIGNING_KEY_PEM]: secretLooking,
    })));
    expect(pemMessage).toBe('DELEGATION_SIGNING_KEY_PEM: is not a key the PEM signer can open: Signing key is not a readable PEM private key (expected PKCS#8 or PKCS#1 RSA, unencrypted)');
    const jsonMessage = messageOf(() => loadConfig(env({ [DelegationEnv.ISSUERS]: `[${secretLooking}` })));
    expect(jsonMessage).toBe('DELEGATION_ISSUERS: is not valid JSON');
  });
});
