import { App, Aspects, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { DelegationEndpoint, DelegationIdentityProvider, DelegationRole, RateLimitOptions } from '../../src';
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
              CustomKeys: [{ IP: {} }, { Header: { Name: 'authorization', TextTransformations: [{ Priority: 0, Type: 'NONE' }] } }],
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

  test('the 429 is in the endpoint\'s JSON error shape, uncached, with Retry-After and CORS for a single origin', () => {
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
