import { App, Fn, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { logicalIdsOfType, resolvedProperties, resolveIntrinsics } from '../../local/cloudformation';
import { rolePolicies, type PolicyDocument } from '../../local/iam-decisions';
import {
  SigningKeys,
  ClaimCondition, DelegationEndpoint, DelegationIdentityProvider, DelegationRole, JwtIssuer, RoleRule, SessionTag, TokenDelegation,
} from '../../src';
import { DelegationEnv } from '../../src/contract/delegation-environment';
import { keyDecision, userKeyDecision } from '../support/key-decisions';
import { auth0Issuer, testStack } from '../support/stacks';

const corporate = () => JwtIssuer.oidc({ issuerUrl: 'https://corp.eu.auth0.com/', audiences: ['CORP'] });
const partner = (subjectNamespace?: string) => JwtIssuer.oidc({ issuerUrl: 'https://partner.example.com/', audiences: ['PARTNER'], subjectNamespace });

/** An identity provider and a role in one stack, ready for endpoints. */
function provider() {
  const stack = testStack();
  const identityProvider = new DelegationIdentityProvider(stack, 'Idp');
  const role = new DelegationRole(stack, 'UserRole', { identityProvider });
  return { stack, identityProvider, role };
}

/** The resolved environment of every delegation handler in the stack. */
function handlerEnvironments(stack: Stack): Array<Record<string, string>> {
  const template = Template.fromStack(stack).toJSON() as any;
  return Object.values(template.Resources)
    .filter((resource: any) => resource.Type === 'AWS::Lambda::Function' && resource.Properties.Handler === 'index.handler')
    .map((resource: any) => resolveIntrinsics(template, resource.Properties.Environment.Variables) as Record<string, string>);
}

describe('path 1: subjects never collide across issuers, endpoints or stacks that share a provider', () => {
  test('an explicit subjectNamespace is honoured for a lone issuer', () => {
    const { stack, identityProvider, role } = provider();
    new DelegationEndpoint(stack, 'Partner', { identityProvider, defaultRole: role, issuers: [partner('partner')] });
    const [env] = handlerEnvironments(stack);
    expect(JSON.parse(env[DelegationEnv.ISSUERS])[0].namespace).toBe('partner');
  });

  test('a lone issuer without a namespace keeps the bare sub', () => {
    const { stack, identityProvider, role } = provider();
    new DelegationEndpoint(stack, 'Corp', { identityProvider, defaultRole: role, issuers: [corporate()] });
    const [env] = handlerEnvironments(stack);
    expect(JSON.parse(env[DelegationEnv.ISSUERS])[0].namespace).toBe('');
  });

  test('two endpoints on one provider whose issuers both lack a namespace are refused', () => {
    const { stack, identityProvider, role } = provider();
    new DelegationEndpoint(stack, 'Corp', { identityProvider, defaultRole: role, issuers: [corporate()] });
    expect(() => new DelegationEndpoint(stack, 'Partner', { identityProvider, defaultRole: role, issuers: [partner()] }))
      .toThrow(/https:\/\/corp\.eu\.auth0\.com\/ in TestStack\/Corp and https:\/\/partner\.example\.com\/ in TestStack\/Partner both have no subjectNamespace/);
  });

  test('two Cognito user pools without a namespace are refused by the pools\' construct paths, not by their deploy-time URLs', () => {
    const { stack, identityProvider, role } = provider();
    const pool = (id: string) => {
      const userPool = new cognito.UserPool(stack, id);
      return JwtIssuer.cognito({ userPool, clients: [userPool.addClient('Web')] });
    };
    new DelegationEndpoint(stack, 'Staff', { identityProvider, defaultRole: role, issuers: [pool('StaffPool')] });
    expect(() => new DelegationEndpoint(stack, 'Customers', { identityProvider, defaultRole: role, issuers: [pool('CustomerPool')] }))
      .toThrow(/^Issuers the user pool TestStack\/StaffPool in TestStack\/Staff and the user pool TestStack\/CustomerPool in TestStack\/Customers both have no subjectNamespace/);
  });

  test('an OIDC issuer whose URL is a token is named by its JWKS URL', () => {
    const { stack, identityProvider, role } = provider();
    const tokenUrl = (name: string) => JwtIssuer.oidc({
      issuerUrl: Fn.importValue(`${name}IssuerUrl`), jwksUri: `https://${name}.example.com/jwks.json`, audiences: ['APP'],
    });
    new DelegationEndpoint(stack, 'Corp', { identityProvider, defaultRole: role, issuers: [tokenUrl('corp')] });
    expect(() => new DelegationEndpoint(stack, 'Partner', { identityProvider, defaultRole: role, issuers: [tokenUrl('partner')] }))
      .toThrow(/JwtIssuer\.oidc with a token issuerUrl \(jwksUri https:\/\/corp\.example\.com\/jwks\.json\) in TestStack\/Corp and JwtIssuer\.oidc with a token issuerUrl \(jwksUri https:\/\/partner\.example\.com\/jwks\.json\) in TestStack\/Partner/);
  });

  test('two endpoints on one provider whose issuers share a namespace are refused', () => {
    const { stack, identityProvider, role } = provider();
    new DelegationEndpoint(stack, 'Corp', {
      identityProvider,
      defaultRole: role,
      issuers: [JwtIssuer.oidc({ issuerUrl: 'https://corp.eu.auth0.com/', audiences: ['CORP'], subjectNamespace: 'ext' })],
    });
    expect(() => new DelegationEndpoint(stack, 'Partner', { identityProvider, defaultRole: role, issuers: [partner('ext')] }))
      .toThrow(/both have subjectNamespace 'ext'/);
  });

  test('endpoints in two stacks that share a provider are checked together', () => {
    const { stack, identityProvider, role } = provider();
    const other = new Stack(stack.node.scope as any, 'OtherStack', { env: { account: '123456789012', region: 'eu-west-1' } });
    new DelegationEndpoint(stack, 'Corp', { identityProvider, defaultRole: role, issuers: [corporate()] });
    expect(() => new DelegationEndpoint(other, 'Partner', { identityProvider, defaultRole: role, issuers: [partner()] }))
      .toThrow(/both have no subjectNamespace/);
  });

  test('a namespaced second endpoint beside a bare one is accepted, and each keeps its own subjects', () => {
    const { stack, identityProvider, role } = provider();
    new DelegationEndpoint(stack, 'Corp', { identityProvider, defaultRole: role, issuers: [corporate()] });
    new DelegationEndpoint(stack, 'Partner', { identityProvider, defaultRole: role, issuers: [partner('partner')] });
    const namespaces = handlerEnvironments(stack).map((env) => JSON.parse(env[DelegationEnv.ISSUERS])[0].namespace).sort();
    expect(namespaces).toEqual(['', 'partner']);
  });

  test('the same issuer behind two endpoints is the same users, not a collision', () => {
    const { stack, identityProvider, role } = provider();
    new DelegationEndpoint(stack, 'Web', { identityProvider, defaultRole: role, issuers: [corporate()] });
    expect(() => new DelegationEndpoint(stack, 'Mobile', { identityProvider, defaultRole: role, issuers: [corporate()] })).not.toThrow();
  });

  test('the same issuer with another subject claim is another subject space', () => {
    const { stack, identityProvider, role } = provider();
    new DelegationEndpoint(stack, 'Web', { identityProvider, defaultRole: role, issuers: [corporate()] });
    const byOid = JwtIssuer.oidc({ issuerUrl: 'https://corp.eu.auth0.com/', audiences: ['CORP'], subjectClaim: 'https://corp/oid' });
    expect(() => new DelegationEndpoint(stack, 'Other', { identityProvider, defaultRole: role, issuers: [byOid] }))
      .toThrow(/subject claim 'https:\/\/corp\/oid'.*both have no subjectNamespace/);
  });

  test('within one endpoint, one issuer may stay bare beside namespaced ones, so adding an issuer keeps existing prefixes', () => {
    const { stack, identityProvider, role } = provider();
    new DelegationEndpoint(stack, 'Both', { identityProvider, defaultRole: role, issuers: [corporate(), partner('partner')] });
    const [env] = handlerEnvironments(stack);
    expect(JSON.parse(env[DelegationEnv.ISSUERS]).map((issuer: any) => issuer.namespace)).toEqual(['', 'partner']);
  });
});

describe('path 2: role rules and session tags belong to one issuer', () => {
  function twoIssuers(extra: { roleRules?: RoleRule[]; sessionTags?: SessionTag[] }) {
    const { stack, identityProvider, role } = provider();
    const admins = new DelegationRole(stack, 'Admins', { identityProvider });
    const issuers = [corporate(), partner('partner')];
    return {
      stack,
      identityProvider,
      role,
      admins,
      issuers,
      build: (props: { roleRules?: RoleRule[]; sessionTags?: SessionTag[] }) =>
        new DelegationEndpoint(stack, 'Endpoint', { identityProvider, defaultRole: role, issuers, ...extra, ...props }),
    };
  }

  test('with several issuers, a rule without an issuer is refused at synth', () => {
    const { admins, build } = twoIssuers({});
    expect(() => build({ roleRules: [RoleRule.claimContains('cognito:groups', 'editors', admins)] }))
      .toThrow(/RoleRule on claim 'cognito:groups' needs an issuer \(options.issuer\)/);
  });

  test('with several issuers, a session tag without an issuer is refused at synth', () => {
    const { build } = twoIssuers({});
    expect(() => build({ sessionTags: [SessionTag.fromClaim('department', 'custom:department')] }))
      .toThrow(/SessionTag 'department' needs an issuer/);
  });

  test('a rule or tag of an issuer the endpoint does not accept is refused', () => {
    const { admins, build } = twoIssuers({});
    const foreign = JwtIssuer.oidc({ issuerUrl: 'https://elsewhere.example.com/', audiences: ['X'] });
    expect(() => build({ roleRules: [RoleRule.claimEquals('g', 'a', admins, { issuer: foreign })] }))
      .toThrow(/belongs to issuer https:\/\/elsewhere\.example\.com\/, which is not one of this endpoint's issuers/);
  });

  test('rules and tags carry their issuer to the handler', () => {
    const { stack, admins, issuers, build } = twoIssuers({});
    build({
      roleRules: [RoleRule.claimContains('cognito:groups', 'editors', admins, { issuer: issuers[0] })],
      sessionTags: [
        SessionTag.fromClaim('department', 'https://corp/department', { issuer: issuers[0] }),
        SessionTag.fromClaim('department', 'org', { issuer: issuers[1] }),
      ],
    });
    const [env] = handlerEnvironments(stack);
    expect(JSON.parse(env[DelegationEnv.ROLES]).rules.map((rule: any) => rule.issuer)).toEqual(['https://corp.eu.auth0.com/']);
    expect(JSON.parse(env[DelegationEnv.SESSION_TAGS])).toEqual([
      { issuer: 'https://corp.eu.auth0.com/', key: 'department', claim: 'https://corp/department', required: false },
      { issuer: 'https://partner.example.com/', key: 'department', claim: 'org', required: false },
    ]);
  });

  test('with one issuer, rules and tags belong to it without naming it (and the environment does not repeat it)', () => {
    const { stack, identityProvider, role } = provider();
    new DelegationEndpoint(stack, 'Endpoint', {
      identityProvider,
      defaultRole: role,
      issuers: [auth0Issuer()],
      roleRules: [RoleRule.claimContains('groups', 'admin', role)],
      sessionTags: [SessionTag.fromClaim('team', 'team')],
    });
    const [env] = handlerEnvironments(stack);
    expect(JSON.parse(env[DelegationEnv.ROLES]).rules[0]).not.toHaveProperty('issuer');
    expect(JSON.parse(env[DelegationEnv.SESSION_TAGS])[0]).not.toHaveProperty('issuer');
  });
});

describe('path 5: rules on claims a user may control', () => {
  function warningsFor(props: { roleRules?: (role: iam.IRole) => RoleRule[]; sessionTags?: SessionTag[]; issuers?: JwtIssuer[] }) {
    const { stack, identityProvider, role } = provider();
    new DelegationEndpoint(stack, 'Endpoint', {
      identityProvider,
      defaultRole: role,
      issuers: props.issuers ?? [auth0Issuer()],
      roleRules: props.roleRules?.(role),
      sessionTags: props.sessionTags,
    });
    return Annotations.fromStack(stack).findWarning('*', Match.anyValue()).map((warning) => String(warning.entry.data));
  }

  test('a companion claim is carried to the handler', () => {
    const { stack, identityProvider, role } = provider();
    new DelegationEndpoint(stack, 'Endpoint', {
      identityProvider,
      defaultRole: role,
      issuers: [auth0Issuer()],
      roleRules: [RoleRule.claimEquals('email', 'ops-admin@corp.example', role, { requireClaims: [ClaimCondition.isTrue('email_verified')] })],
    });
    const [env] = handlerEnvironments(stack);
    expect(JSON.parse(env[DelegationEnv.ROLES]).rules[0].requires).toEqual([{ claim: 'email_verified', match: 'true' }]);
  });

  test('a rule on email without a companion warns at synth and names email_verified', () => {
    const warnings = warningsFor({ roleRules: (role) => [RoleRule.claimEquals('email', 'ops-admin@corp.example', role)] });
    expect(warnings.join('\n')).toMatch(/RoleRule on claim 'email'.*ClaimCondition\.isTrue\('email_verified'\)/);
  });

  test('a rule on email with email_verified required does not warn', () => {
    const warnings = warningsFor({
      roleRules: (role) => [RoleRule.claimEquals('email', 'ops@corp.example', role, { requireClaims: [ClaimCondition.isTrue('email_verified')] })],
    });
    expect(warnings.filter((warning) => warning.includes('RoleRule'))).toEqual([]);
  });

  test.each(['preferred_username', 'custom:role', 'cognito:username', 'name'])('a rule on %s warns', (claim) => {
    expect(warningsFor({ roleRules: (role) => [RoleRule.claimEquals(claim, 'x', role)] }).join('\n')).toContain(`RoleRule on claim '${claim}'`);
  });

  test('a rule on a groups claim does not warn', () => {
    expect(warningsFor({ roleRules: (role) => [RoleRule.claimContains('cognito:groups', 'admins', role)] })).toEqual([]);
  });

  test('a session tag from an editable claim and an editable subject claim warn', () => {
    const warnings = warningsFor({
      issuers: [JwtIssuer.oidc({ issuerUrl: 'https://tenant.eu.auth0.com/', audiences: ['C'], subjectClaim: 'email' })],
      sessionTags: [SessionTag.fromClaim('department', 'custom:department')],
    }).join('\n');
    expect(warnings).toContain('SessionTag \'department\' takes its value from \'custom:department\'');
    expect(warnings).toContain('takes the user id from \'email\'');
  });

  test('an Auth0 issuer without its trailing slash and a Google issuer on the default JWKS path warn', () => {
    const warnings = warningsFor({
      issuers: [
        JwtIssuer.oidc({ issuerUrl: 'https://tenant.eu.auth0.com', audiences: ['C'] }),
        JwtIssuer.oidc({ issuerUrl: 'https://accounts.google.com', audiences: ['G'], subjectNamespace: 'google' }),
      ],
    }).join('\n');
    expect(warnings).toContain('Auth0 issues tokens with iss \'https://tenant.eu.auth0.com/\'');
    expect(warnings).toContain('https://www.googleapis.com/oauth2/v3/certs');
  });

  test('a Google issuer with its real jwksUri does not warn', () => {
    expect(warningsFor({
      issuers: [JwtIssuer.oidc({ issuerUrl: 'https://accounts.google.com', audiences: ['G'], jwksUri: 'https://www.googleapis.com/oauth2/v3/certs' })],
    })).toEqual([]);
  });
});

describe('path 3: only the delegation handlers and the certificate provider may sign with the key', () => {
  const stack = testStack();
  const delegation = new TokenDelegation(stack, 'Delegation', { issuers: [auth0Issuer()] });
  const json = Template.fromStack(stack).toJSON() as any;
  const [keyId] = logicalIdsOfType(json, 'AWS::KMS::Key');
  const keyPolicy = resolvedProperties(json, keyId).KeyPolicy;
  const keyArn = resolveIntrinsics(json, { 'Fn::GetAtt': [keyId, 'Arn'] }) as string;
  const handlerRoleId = stack.getLogicalId(delegation.endpoint.handler.role!.node.defaultChild as any);
  const certificateRoleIds = logicalIdsOfType(json, 'AWS::IAM::Role').filter((id) => id.includes('SigningCertificateProviderOnEventRole'));
  const signEverything: PolicyDocument = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }] };
  const sign = { action: 'kms:Sign', keyArn, context: { 'kms:SigningAlgorithm': 'RSASSA_PKCS1_V1_5_SHA_256' } };

  test('the handler role may sign, by its own policy and the key policy', async () => {
    expect(await keyDecision({ ...sign, keyPolicy, identityPolicies: rolePolicies(json, handlerRoleId), roleName: handlerRoleId })).toBe('Allowed');
  });

  test('the certificate provider may sign', async () => {
    expect(certificateRoleIds).toHaveLength(1);
    expect(await keyDecision({ ...sign, keyPolicy, identityPolicies: rolePolicies(json, certificateRoleIds[0]), roleName: certificateRoleIds[0] })).toBe('Allowed');
  });

  test('another principal of the account whose own policy allows kms:* on * is denied kms:Sign', async () => {
    expect(await keyDecision({ ...sign, keyPolicy, identityPolicies: [signEverything], roleName: 'CiCodeSigning' })).toBe('ExplicitlyDenied');
  });

  test('another principal cannot hand itself the power to sign through a grant', async () => {
    expect(await keyDecision({ action: 'kms:CreateGrant', keyArn, keyPolicy, identityPolicies: [signEverything], roleName: 'Operator' })).toBe('ExplicitlyDenied');
    expect(await keyDecision({ action: 'kms:CreateGrant', keyArn, keyPolicy, identityPolicies: rolePolicies(json, handlerRoleId), roleName: handlerRoleId }))
      .not.toBe('Allowed');
  });

  test('the handler cannot sign with another algorithm', async () => {
    const decision = await keyDecision({
      action: 'kms:Sign',
      keyArn,
      keyPolicy,
      identityPolicies: rolePolicies(json, handlerRoleId),
      roleName: handlerRoleId,
      context: { 'kms:SigningAlgorithm': 'RSASSA_PSS_SHA_256' },
    });
    expect(decision).not.toBe('Allowed');
  });

  // The role CloudFormation deploys with (cdk bootstrap's execution role), as the key policy names it.
  const deploymentRoleName = (keyPolicy.Statement.find((statement: any) => statement.Sid === 'TheAdministratorsManageTheKey')
    .Condition.ArnEquals['aws:PrincipalArn'] as string[])[0].split(':role/')[1];

  test('the deploying role administers the key: it may rewrite the key policy, tag and schedule deletion', async () => {
    expect(deploymentRoleName).toMatch(/^cdk-hnb659fds-cfn-exec-role-123456789012-/);
    for (const action of ['kms:PutKeyPolicy', 'kms:TagResource', 'kms:UntagResource', 'kms:ScheduleKeyDeletion', 'kms:DescribeKey']) {
      expect([action, await keyDecision({ action, keyArn, keyPolicy, identityPolicies: [signEverything], roleName: deploymentRoleName })])
        .toEqual([action, 'Allowed']);
    }
  });

  test('another principal whose own policy allows kms:* on * may read the key but not rewrite its policy or tags', async () => {
    for (const action of ['kms:DescribeKey', 'kms:GetPublicKey', 'kms:ListResourceTags']) {
      expect([action, await keyDecision({ action, keyArn, keyPolicy, identityPolicies: [signEverything], roleName: 'PowerUser' })]).toEqual([action, 'Allowed']);
    }
    for (const action of ['kms:PutKeyPolicy', 'kms:TagResource', 'kms:UntagResource']) {
      expect([action, await keyDecision({ action, keyArn, keyPolicy, identityPolicies: [signEverything], roleName: 'PowerUser' })])
        .toEqual([action, 'ExplicitlyDenied']);
    }
    for (const action of ['kms:ScheduleKeyDeletion', 'kms:DisableKey']) {
      expect([action, await keyDecision({ action, keyArn, keyPolicy, identityPolicies: [signEverything], roleName: 'PowerUser' })]).not.toEqual([action, 'Allowed']);
    }
  });

  test('the signers are named in the Principal element, which KMS pins to each role\'s unique id, not by an ARN string', () => {
    const signerStatements = (keyPolicy.Statement as any[]).filter((statement) => statement.Effect === 'Allow' && [statement.Action].flat().includes('kms:Sign'));
    expect(signerStatements).toHaveLength(1);
    const [signers] = signerStatements;
    expect(signers.Principal.AWS).toEqual(expect.arrayContaining([
      expect.stringContaining(`:role/${handlerRoleId}`), expect.stringContaining(`:role/${certificateRoleIds[0]}`),
    ]));
    expect(signers.Condition).toEqual({ StringEquals: { 'kms:SigningAlgorithm': 'RSASSA_PKCS1_V1_5_SHA_256' } });
  });

  test('a role re-created under the handler role\'s name, with kms:* on *, may not sign', async () => {
    // Its ARN string equals the signer's, but the Principal element names the original role's unique id,
    // which a role made later never has: simulated as a role the Principal element does not name.
    const pinned = JSON.parse(JSON.stringify(keyPolicy));
    for (const statement of pinned.Statement) {
      if (statement.Effect === 'Allow' && statement.Principal.AWS !== undefined) {
        statement.Principal.AWS = [statement.Principal.AWS].flat()
          .map((arn: string) => arn.replace(`:role/${handlerRoleId}`, ':role/OriginalHandlerRole'));
      }
    }
    expect(await keyDecision({ ...sign, keyPolicy: pinned, identityPolicies: [signEverything], roleName: handlerRoleId })).not.toBe('Allowed');
  });

  test('an endpoint in another stack gets its handler role in the provider\'s stack, pinned in the key policy\'s Principal element, without a reference cycle', () => {
    const app = new App();
    const idpStack = new Stack(app, 'IdpStack', { env: { account: '123456789012', region: 'eu-west-1' } });
    const apiStack = new Stack(app, 'ApiStack', { env: { account: '123456789012', region: 'eu-west-1' } });
    const identityProvider = new DelegationIdentityProvider(idpStack, 'Idp');
    const role = new DelegationRole(idpStack, 'UserRole', { identityProvider });
    const endpoint = new DelegationEndpoint(apiStack, 'Endpoint', { identityProvider, defaultRole: role, issuers: [auth0Issuer()] });
    const handlerRole = endpoint.handler.role as iam.Role;
    expect(Stack.of(handlerRole)).toBe(idpStack);
    const idpJson = Template.fromStack(idpStack).toJSON() as any;
    const policy = idpStack.resolve(resolvedProperties(idpJson, logicalIdsOfType(idpJson, 'AWS::KMS::Key')[0]).KeyPolicy);
    const signers = policy.Statement.find((statement: any) => statement.Sid === 'TheDelegationHandlersSign');
    expect(JSON.stringify(signers.Principal)).toContain(`:role/${idpStack.getLogicalId(handlerRole.node.defaultChild as iam.CfnRole)}`);
    expect(policy.Statement.map((statement: any) => statement.Sid)).not.toContain('NamedRolesOfOtherStacksSign');
    // The handler's log permission comes from the endpoint's stack, which owns the log group.
    const apiJson = Template.fromStack(apiStack).toJSON() as any;
    expect(JSON.stringify(apiJson.Resources)).toContain('logs:CreateLogStream');
  });

  test('a handler role given a fixed name in another stack is named in the key policy by its ARN', () => {
    const app = new App();
    const idpStack = new Stack(app, 'IdpStack', { env: { account: '123456789012', region: 'eu-west-1' } });
    const apiStack = new Stack(app, 'ApiStack', { env: { account: '123456789012', region: 'eu-west-1' } });
    const identityProvider = new DelegationIdentityProvider(idpStack, 'Idp');
    const role = new DelegationRole(idpStack, 'UserRole', { identityProvider });
    const endpoint = new DelegationEndpoint(apiStack, 'Endpoint', { identityProvider, defaultRole: role, issuers: [auth0Issuer()], handlerRoleName: 'delegation-handler' });
    expect(Stack.of(endpoint.handler.role!)).toBe(apiStack);
    const idpJson = Template.fromStack(idpStack).toJSON() as any;
    const policy = idpStack.resolve(resolvedProperties(idpJson, logicalIdsOfType(idpJson, 'AWS::KMS::Key')[0]).KeyPolicy);
    const named = policy.Statement.find((statement: any) => statement.Sid === 'NamedRolesOfOtherStacksSign');
    expect(named.Condition.ArnEquals['aws:PrincipalArn']).toEqual(['arn:aws:iam::123456789012:role/delegation-handler']);
    expect(() => Template.fromStack(apiStack)).not.toThrow();
  });

  test('a key the user brings keeps its policy, and synthesis warns', () => {
    const own = testStack();
    const key = new kms.Key(own, 'MyKey', { keySpec: kms.KeySpec.RSA_2048, keyUsage: kms.KeyUsage.SIGN_VERIFY });
    new DelegationIdentityProvider(own, 'Idp', { signingKeys: SigningKeys.fromKey(key) });
    const warnings = Annotations.fromStack(own).findWarning('*', Match.stringLikeRegexp('kms:Sign'));
    expect(warnings.map((warning) => warning.id)).toEqual(['/TestStack/Idp']);
    Template.fromStack(own).hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: { Statement: Match.arrayWith([Match.objectLike({ Action: 'kms:*' })]) },
    });
  });
});

describe('path 4: SSE-KMS grants reach the key only through S3 and only for the user\'s own objects', () => {
  const kmsKeyArn = 'arn:aws:kms:eu-west-1:123456789012:key/aaaaaaaa-0000-4000-8000-000000000000';
  // The name the test bed's resolver gives the bucket (logical id, lower case).
  const bucketName = 'bucket83908e77';
  function policiesFor(bucketKeyEnabled: boolean) {
    const stack = testStack();
    const identityProvider = new DelegationIdentityProvider(stack, 'Idp');
    const role = new DelegationRole(stack, 'UserRole', { identityProvider });
    const bucket = new s3.Bucket(stack, 'Bucket', {
      encryptionKey: kms.Key.fromKeyArn(stack, 'DataKey', kmsKeyArn),
      encryption: s3.BucketEncryption.KMS,
      bucketKeyEnabled,
    });
    role.grantUserPrefix(bucket);
    const json = Template.fromStack(stack).toJSON() as any;
    expect(resolveIntrinsics(json, { Ref: stack.getLogicalId(bucket.node.defaultChild as any) })).toBe(bucketName);
    return rolePolicies(json, stack.getLogicalId(role.node.defaultChild as any));
  }
  const viaS3 = { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' };
  const objectContext = (key: string) => ({ 'kms:EncryptionContext:aws:s3:arn': `arn:aws:s3:::${bucketName}/${key}` });

  describe('without S3 Bucket Keys (the object ARN is the encryption context)', () => {
    const policies = policiesFor(false);
    test.each(['kms:Decrypt', 'kms:GenerateDataKey'])('%s through S3 for the user\'s own object is allowed', async (action) => {
      expect(userKeyDecision(policies, { subject: 'alice', action, keyArn: kmsKeyArn, context: { ...viaS3, ...objectContext('users/alice/notes.txt') } })).toBe('Allowed');
    });
    test('kms:Decrypt through S3 for another user\'s object, or a prefix-sharing user\'s, is denied', async () => {
      for (const key of ['users/bob/notes.txt', 'users/alicex/notes.txt', 'users/alice']) {
        expect([key, userKeyDecision(policies, { subject: 'alice', action: 'kms:Decrypt', keyArn: kmsKeyArn, context: { ...viaS3, ...objectContext(key) } })])
          .toEqual([key, 'ImplicitlyDenied']);
      }
    });
    test('kms:Decrypt called directly, outside S3, is denied', async () => {
      expect(userKeyDecision(policies, { subject: 'alice', action: 'kms:Decrypt', keyArn: kmsKeyArn, context: objectContext('users/alice/notes.txt') })).toBe('ImplicitlyDenied');
      expect(userKeyDecision(policies, {
        subject: 'alice', action: 'kms:Decrypt', keyArn: kmsKeyArn, context: { 'kms:ViaService': 'ec2.eu-west-1.amazonaws.com', ...objectContext('users/alice/notes.txt') },
      })).toBe('ImplicitlyDenied');
    });
  });

  describe('with S3 Bucket Keys (the bucket ARN is the encryption context), read from the bucket', () => {
    const policies = policiesFor(true);
    test('kms:Decrypt through S3 with the bucket context is allowed', async () => {
      expect(userKeyDecision(policies, {
        subject: 'alice', action: 'kms:Decrypt', keyArn: kmsKeyArn, context: { ...viaS3, 'kms:EncryptionContext:aws:s3:arn': `arn:aws:s3:::${bucketName}` },
      })).toBe('Allowed');
    });
    test('kms:Decrypt called directly, or with another bucket\'s context, is denied', async () => {
      expect(userKeyDecision(policies, {
        subject: 'alice', action: 'kms:Decrypt', keyArn: kmsKeyArn, context: { 'kms:EncryptionContext:aws:s3:arn': `arn:aws:s3:::${bucketName}` },
      })).toBe('ImplicitlyDenied');
      expect(userKeyDecision(policies, {
        subject: 'alice', action: 'kms:Decrypt', keyArn: kmsKeyArn, context: { ...viaS3, 'kms:EncryptionContext:aws:s3:arn': 'arn:aws:s3:::other-bucket' },
      })).toBe('ImplicitlyDenied');
    });
  });
});
