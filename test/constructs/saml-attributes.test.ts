import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { loadConfig } from '../../lambda/delegation/config';
import { resolveIntrinsics } from '../../local/cloudformation';
import { trustDecision } from '../../local/iam-decisions';
import { samlAttributeContext } from '../../local/sts-server';
import {
  AwsSamlAttribute, ClaimCondition, DelegationEndpoint, DelegationIdentityProvider, DelegationRole, JwtIssuer, SamlAttribute,
} from '../../src';
import { DelegationEnv } from '../../src/contract/delegation-environment';
import { SAML_ATTRIBUTE_CONDITION_KEYS } from '../../src/contract/saml-attribute-keys';
import { auth0Issuer, testStack } from '../support/stacks';

function endpointStack(samlAttributes: SamlAttribute[], issuers: JwtIssuer[] = [auth0Issuer()]) {
  const stack = testStack();
  const identityProvider = new DelegationIdentityProvider(stack, 'Idp');
  const role = new DelegationRole(stack, 'UserRole', { identityProvider });
  new DelegationEndpoint(stack, 'Endpoint', { identityProvider, defaultRole: role, issuers, samlAttributes });
  return stack;
}

function warningsFor(samlAttributes: SamlAttribute[]): string[] {
  return Annotations.fromStack(endpointStack(samlAttributes)).findWarning('*', Match.anyValue()).map((warning) => String(warning.entry.data));
}

function endpointWith(samlAttributes: SamlAttribute[], issuers: JwtIssuer[] = [auth0Issuer()]) {
  const stack = endpointStack(samlAttributes, issuers);
  const template = Template.fromStack(stack).toJSON() as any;
  const handler = Object.values(template.Resources).find((r: any) => r.Type === 'AWS::Lambda::Function' && r.Properties.Handler === 'index.handler') as any;
  return resolveIntrinsics(template, handler.Properties.Environment.Variables) as Record<string, string>;
}

describe('SAML attributes mapped from claims', () => {
  test('reach the handler by their OID Name (the only issuer is implied)', () => {
    const env = endpointWith([
      SamlAttribute.fromClaim(AwsSamlAttribute.EDU_PERSON_AFFILIATION, 'https://example.edu/affiliation'),
      SamlAttribute.fromClaim(AwsSamlAttribute.MAIL, 'email', { required: true }),
    ]);
    expect(JSON.parse(env[DelegationEnv.SAML_ATTRIBUTES])).toEqual([
      { name: 'urn:oid:1.3.6.1.4.1.5923.1.1.1.1', claim: 'https://example.edu/affiliation', required: false },
      { name: 'urn:oid:0.9.2342.19200300.100.1.3', claim: 'email', required: true },
    ]);
  });

  test('are left out of the environment when there are none', () => {
    expect(endpointWith([])[DelegationEnv.SAML_ATTRIBUTES]).toBeUndefined();
  });

  test('the same attribute mapped twice for one issuer is refused', () => {
    expect(() => endpointWith([
      SamlAttribute.fromClaim(AwsSamlAttribute.COMMON_NAME, 'name'),
      SamlAttribute.fromClaim(AwsSamlAttribute.COMMON_NAME, 'nickname'),
    ])).toThrow(/SAML attribute urn:oid:2.5.4.3 is mapped twice/);
  });

  test('with several issuers each attribute names its issuer', () => {
    const partner = JwtIssuer.oidc({ issuerUrl: 'https://partner.example.com/', audiences: ['P'], subjectNamespace: 'partner' });
    expect(() => endpointWith([SamlAttribute.fromClaim(AwsSamlAttribute.MAIL, 'email')], [auth0Issuer(), partner]))
      .toThrow(/SamlAttribute urn:oid:0.9.2342.19200300.100.1.3 needs an issuer/);
  });

  test.each([
    ['an OID AWS does not map to a condition key', 'urn:oid:1.2.3.4'],
    ['a name that is not an OID URN', 'mail'],
    ['one of AWS\'s own attributes', 'https://aws.amazon.com/SAML/Attributes/Role'],
    ['the condition key instead of the attribute', 'saml:mail'],
  ])('an attribute outside AwsSamlAttribute (%s, reachable from plain JavaScript) is refused at synth', (_what, name) => {
    expect(() => SamlAttribute.fromClaim(name as AwsSamlAttribute, 'email'))
      .toThrow(/is not an attribute AWS turns into a saml:\* condition key; use a member of AwsSamlAttribute/);
  });

  test('requireClaims reaches the handler as requires, and the handler reads it back', () => {
    const env = endpointWith([
      SamlAttribute.fromClaim(AwsSamlAttribute.MAIL, 'email', { requireClaims: [ClaimCondition.isTrue('email_verified')] }),
    ]);
    const expected = { name: AwsSamlAttribute.MAIL, claim: 'email', required: false, requires: [{ claim: 'email_verified', match: 'true' }] };
    expect(JSON.parse(env[DelegationEnv.SAML_ATTRIBUTES])).toEqual([expected]);
    const issuer = JSON.parse(env[DelegationEnv.ISSUERS])[0].issuer;
    expect(loadConfig({ ...env, DELEGATION_SIGNING_CERTIFICATE: undefined }).samlAttributes).toEqual([{ ...expected, issuer }]);
  });

  test.each([
    ['email', /SamlAttribute saml:mail takes its values from 'email'.*ClaimCondition\.isTrue\('email_verified'\)/],
    ['preferred_username', /SamlAttribute saml:mail takes its values from 'preferred_username'.*a claim the provider controls/],
    ['custom:mail', /SamlAttribute saml:mail takes its values from 'custom:mail'.*trust the user's own word/],
  ])('an attribute from the editable claim %s warns at synth', (claim, message) => {
    expect(warningsFor([SamlAttribute.fromClaim(AwsSamlAttribute.MAIL, claim)]).join('\n')).toMatch(message);
  });

  test('an attribute from an editable claim with a companion claim, or from a claim the provider controls, does not warn', () => {
    expect(warningsFor([
      SamlAttribute.fromClaim(AwsSamlAttribute.MAIL, 'email', { requireClaims: [ClaimCondition.isTrue('email_verified')] }),
      SamlAttribute.fromClaim(AwsSamlAttribute.EDU_PERSON_AFFILIATION, 'https://example.edu/affiliation'),
    ]).filter((warning) => warning.includes('SamlAttribute'))).toEqual([]);
  });

  test('every attribute offered has the condition key AWS documents', () => {
    for (const name of Object.values(AwsSamlAttribute)) {
      expect([name, SAML_ATTRIBUTE_CONDITION_KEYS[name]]).toEqual([name, expect.stringMatching(/^saml:[a-zA-Z0-9]+$/)]);
    }
    expect(Object.keys(SAML_ATTRIBUTE_CONDITION_KEYS).sort()).toEqual(Object.values(AwsSamlAttribute).sort());
  });

  test('iam-simulate, from the Service Authorization Reference, knows each condition key for AssumeRoleWithSAML', async () => {
    for (const key of Object.values(SAML_ATTRIBUTE_CONDITION_KEYS)) {
      const result = await trustDecision({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Federated: 'arn:aws:iam::123456789012:saml-provider/Idp' }, Action: 'sts:AssumeRoleWithSAML', Condition: { 'ForAnyValue:StringEquals': { [key]: 'v' } } }],
      }, { roleArn: 'arn:aws:iam::123456789012:role/R', providerArn: 'arn:aws:iam::123456789012:saml-provider/Idp', action: 'sts:AssumeRoleWithSAML', context: { [key]: ['v'] } });
      expect([key, result]).toEqual([key, { decision: 'Allowed', ignoredContextKeys: [] }]);
    }
  });
});

describe('the loopback STS exposes mapped attributes to the trust policy as saml:* keys', () => {
  const providerArn = 'arn:aws:iam::123456789012:saml-provider/Idp';
  const roleArn = 'arn:aws:iam::123456789012:role/Staff';
  const trust = {
    Version: '2012-10-17',
    Statement: [{
      Effect: 'Allow',
      Principal: { Federated: providerArn },
      Action: 'sts:AssumeRoleWithSAML',
      Condition: { 'StringEquals': { 'SAML:aud': 'https://signin.aws.amazon.com/saml' }, 'ForAnyValue:StringEquals': { 'saml:edupersonaffiliation': 'staff' } },
    }],
  };
  const decide = (values: string[]) => trustDecision(trust, {
    roleArn,
    providerArn,
    action: 'sts:AssumeRoleWithSAML',
    context: {
      'saml:aud': 'https://signin.aws.amazon.com/saml',
      ...samlAttributeContext(new Map([[AwsSamlAttribute.EDU_PERSON_AFFILIATION, values], ['urn:oid:9.9.9', ['ignored']]])),
    },
  });

  test('maps the OID Names AWS knows and nothing else', () => {
    expect(samlAttributeContext(new Map([[AwsSamlAttribute.MAIL, ['a@b']], ['urn:oid:9.9.9', ['x']]]))).toEqual({ 'saml:mail': ['a@b'] });
  });

  test('a trust policy written for saml:edupersonaffiliation admits staff and refuses students', async () => {
    expect(await decide(['member', 'staff'])).toEqual({ decision: 'Allowed', ignoredContextKeys: [] });
    expect((await decide(['student'])).decision).toBe('ImplicitlyDenied');
  });
});
