import { generateKeyPairSync } from 'node:crypto';
import { App, Aspects, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { startOidcIssuer, type LocalOidcIssuer } from '../../local/oidc-issuer';
import { DelegationEndpoint, DelegationIdentityProvider, DelegationRole, RateLimitOptions } from '../../src';
import { startStsStub, type StsStub } from '../support/aws-stubs';
import {
  CLIENT_ID, apiGatewayEvent, awsTestEnvironment, captureOutput, delegationEnvironment, lambdaContext, loadBundledHandler, setEnvironment,
} from '../support/handler-harness';
import { auth0Issuer } from '../support/stacks';

describe('rate limits through a web ACL the endpoint creates', () => {
  function endpointStack(rateLimit: RateLimitOptions | undefined, extra: { webAclArn?: string; allowedOrigins?: string[] } = {}) {
    const app = new App();
    const stack = new Stack(app, 'Limited', { env: { account: '123456789012', region: 'eu-west-1' } });
    const identityProvider = new DelegationIdentityProvider(stack, 'Idp');
    const role = new DelegationRole(stack, 'UserRole', { identityProvider });
    new DelegationEndpoint(stack, 'Endpoint', {
      identityProvider,
      defaultRole: role,
      issuers: [auth0Issuer()],
      allowedOrigins: extra.allowedOrigins ?? ['https://app.example.com'],
      rateLimit,
      webAclArn: extra.webAclArn,
    });
    return { app, stack };
  }

  test('a regional web ACL with a per-IP and a per-token-and-IP rate rule, associated with the stage', () => {
    const { stack } = endpointStack({});
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::WAFv2::WebACL', {
      Scope: 'REGIONAL',
      DefaultAction: { Allow: {} },
      Rules: [
        Match.objectLike({
          Name: 'PerIp',
          Statement: { RateBasedStatement: { Limit: 300, AggregateKeyType: 'IP', EvaluationWindowSec: 60 } },
          Action: { Block: { CustomResponse: Match.objectLike({ ResponseCode: 429, CustomResponseBodyKey: 'TooManyRequests' }) } },
        }),
        Match.objectLike({
          Name: 'PerTokenAndIp',
          Statement: {
            RateBasedStatement: {
              Limit: 10,
              AggregateKeyType: 'CUSTOM_KEYS',
              EvaluationWindowSec: 60,
              CustomKeys: [{ IP: {} }, {
                Header: { Name: 'authorization', TextTransformations: [{ Priority: 0, Type: 'LOWERCASE' }, { Priority: 1, Type: 'COMPRESS_WHITE_SPACE' }] },
              }],
            },
          },
        }),
      ],
    });
    const acl = Object.keys(template.findResources('AWS::WAFv2::WebACL'))[0];
    template.hasResourceProperties('AWS::WAFv2::WebACLAssociation', {
      WebACLArn: { 'Fn::GetAtt': [acl, 'Arn'] },
      ResourceArn: Match.anyValue(),
    });
  });

  test('the 429 is in the endpoint\'s JSON error shape, uncached, with Retry-After and CORS for a single origin that lets the page read Retry-After', () => {
    const { stack } = endpointStack({ window: Duration.minutes(5), perIp: 1000, perTokenAndIp: 20 });
    const acl = Object.values(Template.fromStack(stack).findResources('AWS::WAFv2::WebACL'))[0].Properties;
    expect(JSON.parse(acl.CustomResponseBodies.TooManyRequests.Content)).toEqual({
      error: 'temporarily_unavailable', error_description: 'Too many requests; retry later',
    });
    expect(acl.CustomResponseBodies.TooManyRequests.ContentType).toBe('APPLICATION_JSON');
    expect(acl.Rules.map((rule: any) => rule.Statement.RateBasedStatement.Limit)).toEqual([1000, 20]);
    expect(acl.Rules[0].Action.Block.CustomResponse.ResponseHeaders).toEqual([
      { Name: 'Cache-Control', Value: 'no-store' },
      { Name: 'Retry-After', Value: '300' },
      { Name: 'Access-Control-Allow-Origin', Value: 'https://app.example.com' },
      { Name: 'Access-Control-Expose-Headers', Value: 'Retry-After' },
      { Name: 'Vary', Value: 'Origin' },
    ]);
  });

  test('with several origins the static 429 names none', () => {
    const { stack } = endpointStack({}, { allowedOrigins: ['https://a.example.com', 'https://b.example.com'] });
    const acl = Object.values(Template.fromStack(stack).findResources('AWS::WAFv2::WebACL'))[0].Properties;
    expect(acl.Rules[0].Action.Block.CustomResponse.ResponseHeaders.map((header: any) => header.Name)).toEqual(['Cache-Control', 'Retry-After']);
  });

  test('no web ACL without rateLimit', () => {
    const { stack } = endpointStack(undefined);
    Template.fromStack(stack).resourceCountIs('AWS::WAFv2::WebACL', 0);
  });

  test.each<[string, RateLimitOptions, RegExp]>([
    ['a limit below WAF\'s 10', { perIp: 5 }, /rateLimit.perIp must be a whole number from 10/],
    ['a fractional limit', { perTokenAndIp: 10.5 }, /rateLimit.perTokenAndIp must be a whole number/],
    ['a window WAF does not offer', { window: Duration.minutes(3) }, /rateLimit.window must be 1, 2, 5 or 10 minutes/],
  ])('refuses %s', (_name, options, message) => {
    expect(() => endpointStack(options)).toThrow(message);
  });

  test('refuses rateLimit together with webAclArn', () => {
    expect(() => endpointStack({}, { webAclArn: 'arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/mine/1' }))
      .toThrow(/Give either webAclArn or rateLimit/);
  });

  test('cdk-nag AwsSolutions finds nothing, and APIG3 (no web ACL) is satisfied rather than suppressed', () => {
    const { app, stack } = endpointStack({});
    Aspects.of(stack).add(new AwsSolutionsChecks({ verbose: true }));
    app.synth();
    const findings = [
      ...Annotations.fromStack(stack).findError('*', Match.stringLikeRegexp('AwsSolutions-.*')),
      ...Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*')),
    ];
    expect(findings.map((finding) => `${finding.id}: ${finding.entry.data}`)).toEqual([]);
  });
});

/**
 * WAF's text transformations as the WAF developer guide describes them, for the ones the web ACL uses: the
 * aggregation key of a header value, so a test can tell which spellings share a per-token limit.
 * @see https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-transformation.html
 */
function wafTransform(value: string, type: string): string {
  switch (type) {
    case 'NONE':
      return value;
    case 'LOWERCASE':
      return value.replace(/[A-Z]/g, (letter) => letter.toLowerCase());
    case 'COMPRESS_WHITE_SPACE':
      return value.replace(/[\f\t\n\r\v\u00a0]/g, ' ').replace(/ {2,}/g, ' ');
    default:
      throw new Error(`No model of WAF's ${type} transformation here`);
  }
}

describe('one Bearer token, however it is spelled, counts against one per-token limit', () => {
  const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  let issuer: LocalOidcIssuer;
  let sts: StsStub;
  let restoreAws: () => void;

  beforeAll(async () => {
    issuer = await startOidcIssuer({ audience: CLIENT_ID });
    sts = await startStsStub();
    restoreAws = setEnvironment(awsTestEnvironment({ sts: sts.endpoint }));
  });

  afterAll(async () => {
    restoreAws();
    await Promise.all([issuer.close(), sts.close()]);
  });

  /** The per-token rule's key of an Authorization value, from the transformations of the synthesized rule. */
  function tokenKeyOf(): (authorization: string) => string {
    const app = new App();
    const stack = new Stack(app, 'Keyed', { env: { account: '123456789012', region: 'eu-west-1' } });
    const identityProvider = new DelegationIdentityProvider(stack, 'Idp');
    const role = new DelegationRole(stack, 'UserRole', { identityProvider });
    new DelegationEndpoint(stack, 'Endpoint', { identityProvider, defaultRole: role, issuers: [auth0Issuer()], rateLimit: {} });
    const acl = Object.values(Template.fromStack(stack).findResources('AWS::WAFv2::WebACL'))[0].Properties;
    const rule = acl.Rules.find((candidate: any) => candidate.Name === 'PerTokenAndIp');
    const header = rule.Statement.RateBasedStatement.CustomKeys.find((key: any) => key.Header).Header;
    expect(header.Name).toBe('authorization');
    const transformations = [...header.TextTransformations].sort((a: any, b: any) => a.Priority - b.Priority).map((t: any) => t.Type as string);
    return (authorization) => transformations.reduce(wafTransform, authorization);
  }

  const SPELLINGS: Array<[string, (token: string) => string, number]> = [
    ['Bearer and one space', (token) => `Bearer ${token}`, 200],
    ['bearer', (token) => `bearer ${token}`, 200],
    ['BEARER', (token) => `BEARER ${token}`, 200],
    ['bEaReR', (token) => `bEaReR ${token}`, 200],
    ['BeArEr', (token) => `BeArEr ${token}`, 200],
    ['two spaces', (token) => `Bearer  ${token}`, 200],
    ['seven spaces and bearer', (token) => `bearer       ${token}`, 200],
    ['a trailing space', (token) => `Bearer ${token} `, 400],
    ['trailing spaces', (token) => `BEARER  ${token}    `, 400],
    ['a leading space', (token) => ` Bearer ${token}`, 400],
    ['a tab after the scheme', (token) => `Bearer\t${token}`, 400],
    ['a trailing tab', (token) => `Bearer ${token}\t`, 400],
    ['a no-break space after the scheme', (token) => `Bearer\u00a0${token}`, 400],
    ['no space', (token) => `Bearer${token}`, 400],
  ];

  test('the handler answers each spelling as RFC 6750 and RFC 9110 allow it, and every spelling it answers 200 has one WAF key', async () => {
    const handler = loadBundledHandler(delegationEnvironment(issuer, { pem: signingKey }));
    const tokenKey = tokenKeyOf();
    const token = await issuer.sign();
    const answers: Array<{ spelling: string; status: number; reason: unknown; key: string }> = [];
    for (const [spelling, authorization] of SPELLINGS) {
      const callsBefore = sts.callCount;
      const event = apiGatewayEvent({ headers: { Authorization: authorization(token) } });
      const { result, lines } = await captureOutput(() => handler(event, lambdaContext()));
      answers.push({ spelling, status: result.statusCode, reason: lines[0]?.reason, key: tokenKey(authorization(token)) });
      expect([spelling, sts.callCount - callsBefore]).toEqual([spelling, result.statusCode === 200 ? 1 : 0]);
    }

    expect(answers.map(({ spelling, status, reason }) => [spelling, status, reason])).toEqual(
      SPELLINGS.map(([spelling, , status]) => [spelling, status, status === 200 ? 'issued' : 'authorization_scheme']));
    const issuedKeys = new Set(answers.filter((answer) => answer.status === 200).map((answer) => answer.key));
    expect([...issuedKeys]).toEqual([`bearer ${token.toLowerCase()}`]);
  });
});
