import { Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { readOrigins } from '../../lambda/delegation/config/endpoint';
import {
  DelegationEndpoint, DelegationEndpointProps, DelegationIdentityProvider, DelegationOutcome, DelegationRole, JwtAlgorithm, JwtIssuer,
  RoleRule, SessionTag,
} from '../../src';
import { DelegationEnv } from '../../src/contract/delegation-environment';
import { auth0Issuer, testStack } from '../support/stacks';

function endpoint(props: Partial<DelegationEndpointProps> = {}) {
  const stack = testStack();
  const identityProvider = new DelegationIdentityProvider(stack, 'Idp');
  const role = new DelegationRole(stack, 'UserRole', { identityProvider });
  const construct = new DelegationEndpoint(stack, 'Endpoint', {
    identityProvider,
    issuers: [auth0Issuer()],
    defaultRole: role,
    ...props,
  });
  const template = Template.fromStack(stack);
  return { stack, construct, template, role, identityProvider };
}

/** The delegation handler (the stack also has the certificate function). */
function handlerOf(template: Template): any {
  const functions = template.findResources('AWS::Lambda::Function', { Properties: { Handler: 'index.handler' } });
  expect(Object.keys(functions)).toHaveLength(1);
  return Object.values(functions)[0].Properties;
}

function envOf(template: Template, stack: any): Record<string, string> {
  return stack.resolve(handlerOf(template).Environment.Variables);
}

describe('DelegationEndpoint', () => {
  test('a regional REST API with POST /delegation integrated with the handler', () => {
    const { template } = endpoint();
    template.hasResourceProperties('AWS::ApiGateway::RestApi', { EndpointConfiguration: { Types: ['REGIONAL'] } });
    template.hasResourceProperties('AWS::ApiGateway::Resource', { PathPart: 'delegation' });
    template.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'POST',
      Integration: { Type: 'AWS_PROXY' },
      RequestValidatorId: Match.anyValue(),
      RequestModels: { 'application/json': Match.anyValue() },
    });
    template.resourcePropertiesCountIs('AWS::ApiGateway::Method', { HttpMethod: 'OPTIONS' }, 0);
  });

  test('the handler runs Node.js 22 or newer without reserved concurrency (a new account can reserve none) and a retained-for-3-months log group', () => {
    const { template } = endpoint();
    const handler = handlerOf(template);
    expect(handler.Runtime).toMatch(/^nodejs(2[2-9]|[3-9]\d)\.x$/);
    expect(handler.ReservedConcurrentExecutions).toBeUndefined();
    expect(handler.LoggingConfig.LogGroup).toBeDefined();
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
  });

  test('the handler may kms:Sign with the signing key only and has no sts permission', () => {
    const { template, stack } = endpoint();
    const handler = handlerOf(template);
    const roleId = handler.Role['Fn::GetAtt'][0];
    const statements = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((p: any) => p.Properties.Roles.some((r: any) => r.Ref === roleId))
      .flatMap((p: any) => p.Properties.PolicyDocument.Statement);
    const actions = statements.flatMap((s: any) => [s.Action].flat());
    expect(actions.sort()).toEqual(['kms:Sign', 'logs:CreateLogStream', 'logs:PutLogEvents']);
    expect(actions.some((a: string) => a.startsWith('sts:'))).toBe(false);
    const sign = statements.find((s: any) => s.Action === 'kms:Sign');
    const key = Object.keys(template.findResources('AWS::KMS::Key'))[0];
    expect(stack.resolve(sign.Resource)).toEqual({ 'Fn::GetAtt': [key, 'Arn'] });
    expect(sign.Condition).toEqual({ StringEquals: { 'kms:SigningAlgorithm': 'RSASSA_PKCS1_V1_5_SHA_256' } });
  });

  test('passes the whole configuration as the documented environment variables', () => {
    const { template, stack, role } = endpoint({
      sessionDuration: Duration.minutes(30),
      allowedOrigins: ['https://app.example.com'],
      sessionTags: [SessionTag.fromClaim('department', 'custom:department', { required: true })],
      clientSelectableRoles: [],
    });
    const env = envOf(template, stack);
    expect(Object.keys(env).sort()).toEqual([
      DelegationEnv.ALLOWED_ORIGINS, DelegationEnv.ISSUERS, DelegationEnv.KMS_KEY_ARN, DelegationEnv.ROLES,
      DelegationEnv.SAML_ENTITY_ID, DelegationEnv.SAML_PROVIDER_ARN, DelegationEnv.SAML_RECIPIENT,
      DelegationEnv.SESSION_DURATION_SECONDS, DelegationEnv.SESSION_TAGS, DelegationEnv.SIGNER, DelegationEnv.SIGNING_CERTIFICATE,
    ].sort());
    expect(env[DelegationEnv.SIGNER]).toBe('kms');
    expect(env[DelegationEnv.SESSION_DURATION_SECONDS]).toBe('1800');
    expect(env[DelegationEnv.SAML_RECIPIENT]).toBe('https://signin.aws.amazon.com/saml');
    expect(JSON.parse(env[DelegationEnv.ALLOWED_ORIGINS])).toEqual(['https://app.example.com']);
    expect(JSON.parse(env[DelegationEnv.SESSION_TAGS])).toEqual([{ key: 'department', claim: 'custom:department', required: true }]);
    expect(JSON.stringify(env[DelegationEnv.ISSUERS])).toContain('https://tenant.eu.auth0.com/');
    const issuers = JSON.parse(stack.resolve(env[DelegationEnv.ISSUERS]));
    expect(issuers).toEqual([{
      issuer: 'https://tenant.eu.auth0.com/',
      jwksUri: 'https://tenant.eu.auth0.com/.well-known/jwks.json',
      audiences: ['CLIENT_ID'],
      algorithms: ['RS256'],
      subjectClaim: 'sub',
      namespace: '',
      maxTokenAgeSeconds: 3600,
      clockToleranceSeconds: 30,
    }]);
    expect(JSON.stringify(env[DelegationEnv.ROLES])).toContain(stack.getLogicalId(role.node.defaultChild as any));
  });

  test('limitSessionToTokenLifetime tells the handler to end sessions with the token; off by default', () => {
    const off = endpoint();
    expect(envOf(off.template, off.stack)[DelegationEnv.LIMIT_SESSION_TO_TOKEN]).toBeUndefined();
    const on = endpoint({ limitSessionToTokenLifetime: true });
    expect(envOf(on.template, on.stack)[DelegationEnv.LIMIT_SESSION_TO_TOKEN]).toBe('true');
  });

  test('Cognito issuers pin the pool\'s issuer, JWKS, client ids and id tokens only', () => {
    const stack = testStack();
    const pool = new cognito.UserPool(stack, 'Pool');
    const client = pool.addClient('Web');
    const identityProvider = new DelegationIdentityProvider(stack, 'Idp');
    const role = new DelegationRole(stack, 'R', { identityProvider });
    new DelegationEndpoint(stack, 'Endpoint', {
      identityProvider,
      defaultRole: role,
      issuers: [
        JwtIssuer.cognito({ userPool: pool, clients: [client], subjectNamespace: 'cognito' }),
        JwtIssuer.oidc({ issuerUrl: 'https://tenant.eu.auth0.com/', audiences: ['A'], subjectNamespace: 'auth0', algorithms: [JwtAlgorithm.RS256, JwtAlgorithm.ES256] }),
      ],
    });
    const template = Template.fromStack(stack);
    const issuers = JSON.stringify(stack.resolve(handlerOf(template).Environment.Variables[DelegationEnv.ISSUERS]));
    expect(issuers).toContain('https://cognito-idp.eu-west-1.');
    expect(issuers).toContain('/.well-known/jwks.json');
    expect(issuers).toContain('\\"tokenUse\\":\\"id\\"');
    expect(issuers).toContain('\\"namespace\\":\\"cognito\\"');
    expect(issuers).toContain('\\"namespace\\":\\"auth0\\"');
    expect(issuers).toContain('\\"algorithms\\":[\\"RS256\\",\\"ES256\\"]');
    expect(issuers).toContain(stack.getLogicalId(client.node.defaultChild as any));
  });

  test('stage: default throttling 50 rps / burst 100, JSON access logs, execution logs without data trace', () => {
    const { template } = endpoint();
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'v1',
      AccessLogSetting: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('requestId') },
      MethodSettings: [{
        DataTraceEnabled: false,
        LoggingLevel: 'ERROR',
        MetricsEnabled: true,
        ThrottlingRateLimit: 50,
        ThrottlingBurstLimit: 100,
        HttpMethod: '*',
        ResourcePath: '/*',
      }],
    });
    const stage = Object.values(template.findResources('AWS::ApiGateway::Stage'))[0] as any;
    expect(stage.Properties.AccessLogSetting.Format).not.toMatch(/requestBody|authorization/i);
  });

  test('given throttling, concurrency, retention and stage name are used', () => {
    const { template } = endpoint({
      throttlingRateLimit: 5,
      throttlingBurstLimit: 7,
      reservedConcurrency: 3,
      logRetention: logs.RetentionDays.ONE_YEAR,
      stageName: 'prod',
    });
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'prod',
      MethodSettings: [Match.objectLike({ ThrottlingRateLimit: 5, ThrottlingBurstLimit: 7 })],
    });
    expect(handlerOf(template).ReservedConcurrentExecutions).toBe(3);
  });

  test('without reservedConcurrency the handler is unreserved, still behind the stage throttling', () => {
    const { template } = endpoint({});
    expect(handlerOf(template)).not.toHaveProperty('ReservedConcurrentExecutions');
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      MethodSettings: [Match.objectLike({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 })],
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 365 });
  });

  test('CORS preflight only for the configured origins, POST only, never credentials', () => {
    const { template } = endpoint({ allowedOrigins: ['https://app.example.com', 'http://localhost:3000'] });
    const options = Object.values(template.findResources('AWS::ApiGateway::Method', { Properties: { HttpMethod: 'OPTIONS' } })) as any[];
    expect(options.length).toBeGreaterThan(0);
    const text = JSON.stringify(options);
    expect(text).toContain('https://app.example.com');
    expect(text).toContain('http://localhost:3000');
    expect(text).toContain("'POST'");
    expect(text).not.toContain("'*'");
    expect(text).not.toMatch(/Allow-Credentials/);
  });

  test('the JSON body model bounds sizes and refuses unknown fields', () => {
    const { template } = endpoint();
    template.hasResourceProperties('AWS::ApiGateway::Model', {
      ContentType: 'application/json',
      Schema: Match.objectLike({
        additionalProperties: false,
        properties: Match.objectLike({ id_token: { type: 'string', maxLength: 8192 } }),
      }),
    });
    template.hasResourceProperties('AWS::ApiGateway::RequestValidator', { ValidateRequestBody: true });
  });

  test('no WAF association by default; the given web ACL is associated with the stage', () => {
    endpoint().template.resourceCountIs('AWS::WAFv2::WebACLAssociation', 0);
    const arn = 'arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/acl/11111111-2222-3333-4444-555555555555';
    const { template } = endpoint({ webAclArn: arn });
    template.hasResourceProperties('AWS::WAFv2::WebACLAssociation', { WebACLArn: arn });
  });

  test('a custom domain is created when asked for', () => {
    const stack = testStack();
    const identityProvider = new DelegationIdentityProvider(stack, 'Idp');
    const role = new DelegationRole(stack, 'R', { identityProvider });
    new DelegationEndpoint(stack, 'Endpoint', {
      identityProvider,
      defaultRole: role,
      issuers: [auth0Issuer()],
      domainName: {
        domainName: 'auth.example.com',
        certificate: acm.Certificate.fromCertificateArn(stack, 'Cert', 'arn:aws:acm:eu-west-1:123456789012:certificate/abc'),
      },
    });
    Template.fromStack(stack).hasResourceProperties('AWS::ApiGateway::DomainName', { DomainName: 'auth.example.com' });
  });

  test('the API Gateway CloudWatch role can be left to another stack', () => {
    endpoint().template.resourceCountIs('AWS::ApiGateway::Account', 1);
    endpoint({ createApiGatewayCloudWatchRole: false }).template.resourceCountIs('AWS::ApiGateway::Account', 0);
  });

  test('role rules and client-selectable roles reach the handler in order', () => {
    const stack = testStack();
    const identityProvider = new DelegationIdentityProvider(stack, 'Idp');
    const admin = new DelegationRole(stack, 'Admin', { identityProvider });
    const editor = new DelegationRole(stack, 'Editor', { identityProvider });
    new DelegationEndpoint(stack, 'Endpoint', {
      identityProvider,
      issuers: [auth0Issuer()],
      roleRules: [RoleRule.claimContains('groups', 'admin', admin), RoleRule.claimEquals('tier', 'editor', editor)],
      clientSelectableRoles: [admin],
    });
    const roles = stack.resolve(handlerOf(Template.fromStack(stack)).Environment.Variables[DelegationEnv.ROLES]);
    const text = JSON.stringify(roles);
    expect(text.indexOf('admin')).toBeLessThan(text.indexOf('editor'));
    expect(text).toContain('\\"defaultRoleArn\\":\\"\\"');
    expect(text).toContain('\\"match\\":\\"contains\\"');
    expect(text).toContain('\\"match\\":\\"equals\\"');
  });

  describe('refuses invalid configuration with a clear error', () => {
    test.each<[string, Partial<DelegationEndpointProps>, RegExp]>([
      ['no issuers', { issuers: [] }, /At least one issuer/],
      ['a session shorter than 15 minutes', { sessionDuration: Duration.minutes(10) }, /sessionDuration must be between/],
      ['a session longer than 12 hours', { sessionDuration: Duration.hours(13) }, /sessionDuration must be between/],
      ['a wildcard origin', { allowedOrigins: ['*'] }, /'\*' must be an exact origin/],
      ['an origin with a path', { allowedOrigins: ['https://app.example.com/'] }, /must be an exact origin/],
      ['an origin with its default port', { allowedOrigins: ['https://app.example.com:443'] }, /no default port/],
      ['a plain http origin that is not local', { allowedOrigins: ['http://app.example.com'] }, /must use https \(http only for localhost/],
      ['zero reserved concurrency', { reservedConcurrency: 0 }, /reservedConcurrency must be a positive integer/],
      ['a fractional reserved concurrency', { reservedConcurrency: 2.5 }, /reservedConcurrency must be a positive integer/],
      ['a negative rate limit', { throttlingRateLimit: -1 }, /throttlingRateLimit/],
      ['two issuers without namespaces', {
        issuers: [auth0Issuer(), JwtIssuer.oidc({ issuerUrl: 'https://other.example.com/', audiences: ['x'] })],
      }, /both have no subjectNamespace/],
      ['two issuers with one namespace', {
        issuers: [
          JwtIssuer.oidc({ issuerUrl: 'https://a.example.com/', audiences: ['x'], subjectNamespace: 'same' }),
          JwtIssuer.oidc({ issuerUrl: 'https://b.example.com/', audiences: ['x'], subjectNamespace: 'same' }),
        ],
      }, /both have subjectNamespace 'same'/],
      ['the same issuer twice', {
        issuers: [
          JwtIssuer.oidc({ issuerUrl: 'https://a.example.com/', audiences: ['x'], subjectNamespace: 'a' }),
          JwtIssuer.oidc({ issuerUrl: 'https://a.example.com/', audiences: ['y'], subjectNamespace: 'b' }),
        ],
      }, /configured twice/],
      ['more than 50 session tags', {
        sessionTags: Array.from({ length: 51 }, (_, i) => SessionTag.fromClaim(`k${i}`, `c${i}`)),
      }, /At most 50 session tags/],
      ['duplicate tag keys', {
        sessionTags: [SessionTag.fromClaim('Dept', 'a'), SessionTag.fromClaim('dept', 'b')],
      }, /must be unique/],
    ])('%s', (_, props, message) => {
      expect(() => endpoint(props)).toThrow(message);
    });

    test('a client-selectable role that no rule or default makes available', () => {
      const stack = testStack();
      const identityProvider = new DelegationIdentityProvider(stack, 'Idp');
      const user = new DelegationRole(stack, 'User', { identityProvider });
      const other = new DelegationRole(stack, 'Other', { identityProvider });
      expect(() => new DelegationEndpoint(stack, 'E', {
        identityProvider, issuers: [auth0Issuer()], defaultRole: user, clientSelectableRoles: [other],
      })).toThrow(/neither the defaultRole nor the role of a roleRule/);
    });

    test('neither a default role nor a rule', () => {
      const stack = testStack();
      const identityProvider = new DelegationIdentityProvider(stack, 'Idp');
      expect(() => new DelegationEndpoint(stack, 'E', { identityProvider, issuers: [auth0Issuer()] }))
        .toThrow(/defaultRole or at least one roleRule/);
    });
  });

  describe('a role whose trust policy this app cannot see is named in a synth warning', () => {
    const trustWarnings = (stack: Stack) => Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('trust policy cannot be checked'));

    test('a defaultRole imported with iam.Role.fromRoleArn warns once, by its ARN, with what it must trust', () => {
      const stack = testStack();
      const identityProvider = new DelegationIdentityProvider(stack, 'Idp');
      const imported = iam.Role.fromRoleArn(stack, 'Imported', 'arn:aws:iam::123456789012:role/app-users');
      new DelegationEndpoint(stack, 'Endpoint', { identityProvider, issuers: [auth0Issuer()], defaultRole: imported, clientSelectableRoles: [imported] });
      const warnings = trustWarnings(stack);
      expect(warnings).toHaveLength(1);
      expect(warnings[0].id).toBe('/TestStack/Endpoint');
      expect(warnings[0].entry.data).toMatch(/^The role arn:aws:iam::123456789012:role\/app-users was not created in this app \(e\.g\. iam\.Role\.fromRoleArn\)/);
      expect(warnings[0].entry.data).toMatch(/identityProvider\.assumeRolePrincipal\(\).*or STS refuses every exchange for it and the endpoint answers 403/);
    });

    test('an imported role of a role rule warns too', () => {
      const stack = testStack();
      const identityProvider = new DelegationIdentityProvider(stack, 'Idp');
      const users = new DelegationRole(stack, 'Users', { identityProvider });
      const admins = iam.Role.fromRoleArn(stack, 'Admins', 'arn:aws:iam::123456789012:role/admins');
      new DelegationEndpoint(stack, 'Endpoint', {
        identityProvider, issuers: [auth0Issuer()], defaultRole: users, roleRules: [RoleRule.claimContains('groups', 'admin', admins)],
      });
      expect(trustWarnings(stack).map((warning) => warning.entry.data)).toEqual([expect.stringContaining('role/admins was not created in this app')]);
    });

    test('roles created in this app, whose trust is written here, do not warn', () => {
      const { stack } = endpoint();
      expect(trustWarnings(stack)).toEqual([]);
    });
  });

  test('metricOutcome reads the handler\'s per-outcome metric', () => {
    const { construct } = endpoint();
    const metric = construct.metricOutcome(DelegationOutcome.ISSUED, { period: Duration.minutes(1) });
    expect(metric.namespace).toBe('TokenDelegation');
    expect(metric.dimensions).toEqual({ Outcome: 'issued' });
    expect(metric.period.toSeconds()).toBe(60);
  });

  test('the url ends with /delegation', () => {
    const { construct, stack } = endpoint();
    expect(JSON.stringify(stack.resolve(construct.url))).toContain('/delegation');
  });
});

describe('allowedOrigins: synthesis and the handler apply one rule', () => {
  const origins = [
    'https://app.example.com', 'https://app.example.com:8443', 'http://localhost:3000', 'http://127.0.0.1', 'http://[::1]:8080',
    'https://app.example.com:443', 'http://localhost:80', 'https://App.example.com', 'https://app.example.com/', 'http://app.example.com',
    'https://app.example.com:08443', 'https://app.example.com:70000', '*', 'null', 'https://', 'ftp://app.example.com',
  ];

  test.each(origins)('%s is accepted by both or refused by both', (origin) => {
    let synthRefused = false;
    try {
      const stack = testStack();
      const identityProvider = new DelegationIdentityProvider(stack, 'Idp');
      new DelegationEndpoint(stack, 'E', {
        identityProvider, issuers: [auth0Issuer()], defaultRole: new DelegationRole(stack, 'R', { identityProvider }), allowedOrigins: [origin],
      });
    } catch {
      synthRefused = true;
    }
    let handlerRefused = false;
    try {
      readOrigins({ [DelegationEnv.ALLOWED_ORIGINS]: JSON.stringify([origin]) });
    } catch {
      handlerRefused = true;
    }
    expect({ origin, synthRefused }).toEqual({ origin, synthRefused: handlerRefused });
  });

  test('the default port, which the handler always refused, is refused at synthesis too', () => {
    expect(() => readOrigins({ [DelegationEnv.ALLOWED_ORIGINS]: '["https://app.example.com:443"]' })).toThrow(/no default port/);
  });
});
