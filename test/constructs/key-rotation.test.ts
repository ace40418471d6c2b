import { App, Aspects, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { CreatedSigningKeysOptions, DelegationEndpoint, DelegationIdentityProvider, DelegationRole, SigningKeys, TokenDelegation } from '../../src';
import { DelegationEnv } from '../../src/contract/delegation-environment';
import { auth0Issuer, testStack } from '../support/stacks';

/** The template of a TokenDelegation stack at one step of a rotation (no options for the default). */
function stepTemplate(keyRotation?: CreatedSigningKeysOptions): Template {
  const stack = testStack();
  new TokenDelegation(stack, 'Delegation', { issuers: [auth0Issuer()], identityProvider: { signingKeys: keyRotation && SigningKeys.create(keyRotation) } });
  return Template.fromStack(stack);
}

/** The runbook's three steps after a provider with the default key: publish, switch, retire. */
const ROTATION_STEPS: readonly CreatedSigningKeysOptions[] = [
  { keys: ['1', '2'], activeKey: '1' },
  { keys: ['1', '2'], activeKey: '2' },
  { keys: ['2'], activeKey: '2' },
];

function idsOfType(template: Template, type: string): string[] {
  return Object.keys(template.findResources(type)).sort();
}

function delegationFunction(template: Template): { id: string; env: Record<string, unknown>; roleId: string } {
  const functions = template.findResources('AWS::Lambda::Function', {
    Properties: { Environment: { Variables: Match.objectLike({ [DelegationEnv.ISSUERS]: Match.anyValue() }) } },
  });
  const [id] = Object.keys(functions);
  const properties = functions[id].Properties;
  return { id, env: properties.Environment.Variables, roleId: properties.Role['Fn::GetAtt'][0] };
}

function metadataDocument(template: Template): unknown {
  const providers = template.findResources('AWS::IAM::SAMLProvider');
  return Object.values(providers)[0].Properties.SamlMetadataDocument;
}

/** The certificate resources the metadata reads, in its order. */
function publishedCertificateIds(template: Template): string[] {
  return [...JSON.stringify(metadataDocument(template)).matchAll(/"Fn::GetAtt":\["([^"]+)","CertificateBase64"\]/g)].map((match) => match[1]);
}

function certificateKeyId(template: Template, certificateId: string): string {
  return template.toJSON().Resources[certificateId].Properties.KeyArn['Fn::GetAtt'][0];
}

/** The KMS key logical ids the handler role may `kms:Sign` with. */
function signableKeyIds(template: Template, roleId: string): string[] {
  const policies = Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((policy: any) => policy.Properties.Roles.some((role: any) => role.Ref === roleId));
  return policies.flatMap((policy: any) => policy.Properties.PolicyDocument.Statement)
    .filter((statement: any) => [statement.Action].flat().includes('kms:Sign'))
    .flatMap((statement: any) => [statement.Resource].flat().map((resource: any) => resource['Fn::GetAtt'][0]))
    .sort();
}

describe('key rotation: the template of each step', () => {
  const before = stepTemplate();
  const [published, switched, retired] = ROTATION_STEPS.map(stepTemplate);

  test('the default provider is key \'1\': the same logical ids as a provider with the default keys', () => {
    const explicit = stepTemplate({ keys: ['1'], activeKey: '1' });
    expect(explicit.toJSON()).toEqual(before.toJSON());
    const [keyId] = idsOfType(before, 'AWS::KMS::Key');
    expect(keyId).toMatch(/IdentityProviderSigningKey[0-9A-F]{8}$/);
    expect(idsOfType(before, 'Custom::DelegationSigningCertificate')).toEqual([expect.stringMatching(/IdentityProviderSigningCertificate[0-9A-F]{8}$/)]);
  });

  test('publishing a key adds it, its certificate and its place in the metadata, and leaves the signer as it was', () => {
    const [oldKey] = idsOfType(before, 'AWS::KMS::Key');
    const keys = idsOfType(published, 'AWS::KMS::Key');
    expect(keys).toHaveLength(2);
    expect(keys).toContain(oldKey);
    const newKey = keys.find((id) => id !== oldKey)!;
    expect(published.toJSON().Resources[newKey].DeletionPolicy).toBe('Retain');
    const certificates = publishedCertificateIds(published);
    expect(certificates.map((id) => certificateKeyId(published, id))).toEqual([oldKey, newKey]);
    expect(certificates[0]).toBe(idsOfType(before, 'Custom::DelegationSigningCertificate')[0]);

    const handler = delegationFunction(published);
    expect(handler.env).toEqual(delegationFunction(before).env);
    // The handler may already sign with the new key, so the switch needs no new permission.
    expect(signableKeyIds(published, handler.roleId)).toEqual([newKey, oldKey].sort());
  });

  test('switching the signer changes the handler\'s key and certificate, and neither the metadata nor any permission', () => {
    expect(metadataDocument(switched)).toEqual(metadataDocument(published));
    expect(idsOfType(switched, 'AWS::KMS::Key')).toEqual(idsOfType(published, 'AWS::KMS::Key'));
    const handler = delegationFunction(switched);
    const [, newCertificate] = publishedCertificateIds(published);
    expect(handler.env[DelegationEnv.KMS_KEY_ARN]).toEqual({ 'Fn::GetAtt': [certificateKeyId(published, newCertificate), 'Arn'] });
    expect(handler.env[DelegationEnv.SIGNING_CERTIFICATE]).toEqual({ 'Fn::GetAtt': [newCertificate, 'CertificateBase64'] });
    const changed = Object.keys(handler.env).filter((name) =>
      JSON.stringify(handler.env[name]) !== JSON.stringify(delegationFunction(published).env[name])).sort();
    expect(changed).toEqual([DelegationEnv.KMS_KEY_ARN, DelegationEnv.SIGNING_CERTIFICATE].sort());
    for (const type of ['AWS::IAM::Policy', 'AWS::KMS::Key', 'AWS::IAM::Role']) {
      expect(switched.findResources(type)).toEqual(published.findResources(type));
    }
  });

  test('retiring the old key removes it, its certificate and its place in the metadata, and keeps the new one as it was', () => {
    const [oldKey] = idsOfType(before, 'AWS::KMS::Key');
    const [oldCertificate, newCertificate] = publishedCertificateIds(published);
    expect(idsOfType(retired, 'AWS::KMS::Key')).toEqual(idsOfType(switched, 'AWS::KMS::Key').filter((id) => id !== oldKey));
    expect(publishedCertificateIds(retired)).toEqual([newCertificate]);
    expect(idsOfType(retired, 'Custom::DelegationSigningCertificate')).not.toContain(oldCertificate);
    const newKey = certificateKeyId(published, newCertificate);
    expect(retired.toJSON().Resources[newKey]).toEqual(switched.toJSON().Resources[newKey]);
    expect(retired.toJSON().Resources[newCertificate]).toEqual(switched.toJSON().Resources[newCertificate]);
    const handler = delegationFunction(retired);
    expect(handler.env).toEqual(delegationFunction(switched).env);
    expect(signableKeyIds(retired, handler.roleId)).toEqual([newKey]);
  });

  test('every created key\'s policy lets only the handler and the certificate provider sign', () => {
    const keys = published.findResources('AWS::KMS::Key');
    const policies = Object.values(keys).map((key: any) => key.Properties.KeyPolicy);
    expect(policies).toHaveLength(2);
    expect(policies[1]).toEqual(policies[0]);
    const signers = [policies[0].Statement.find((statement: any) => statement.Sid === 'TheDelegationHandlersSign').Principal.AWS].flat();
    expect(signers).toHaveLength(2);
    const handler = delegationFunction(published);
    expect(signers).toContainEqual({ 'Fn::GetAtt': [handler.roleId, 'Arn'] });
  });
});

describe('key rotation: what synthesis refuses', () => {
  test.each([
    [{ keys: [], activeKey: '1' }, /at least one key label/],
    [{ keys: ['1', 'key-2'], activeKey: '1' }, /'key-2' is not a key label/],
    [{ keys: ['1', 'a'.repeat(21)], activeKey: '1' }, /is not a key label/],
    [{ keys: ['1', '2', '1'], activeKey: '1' }, /lists '1' twice/],
    [{ keys: ['1', '2'], activeKey: '3' }, /activeKey '3' is not one of keys \(1, 2\)/],
    [{ keys: Array.from({ length: 11 }, (_, index) => `k${index}`), activeKey: 'k0' }, /at most 10 keys per SAML provider: got 11/],
    [{ keys: ['1', '2'] }, /name the activeKey, one of 1, 2/],
  ])('%j', (keyRotation, message) => {
    expect(() => SigningKeys.create(keyRotation)).toThrow(message);
  });

  test('ten created keys are accepted, and one key alone needs no activeKey', () => {
    const stack = testStack();
    const keys = Array.from({ length: 10 }, (_, index) => `k${index}`);
    const idp = new DelegationIdentityProvider(stack, 'Idp', { signingKeys: SigningKeys.create({ keys, activeKey: 'k9' }) });
    expect(idp.publishedKeys).toHaveLength(10);
    expect(idp.signingKey).toBe(idp.publishedKeys[9]);
    const single = new DelegationIdentityProvider(stack, 'Single', { signingKeys: SigningKeys.create({ keys: ['a'] }) });
    expect(single.publishedKeys).toEqual([single.signingKey]);
  });
});

describe('key rotation with the provider in one stack and the endpoint in another', () => {
  const env = { account: '123456789012', region: 'eu-west-1' };

  /** Both templates of one step: the provider's stack deploys first, as CDK orders dependent stacks. */
  function twoStackStep(keyRotation?: CreatedSigningKeysOptions): { provider: Record<string, any>; endpoint: Record<string, any> } {
    const app = new App();
    const providerStack = new Stack(app, 'ProviderStack', { env });
    const endpointStack = new Stack(app, 'EndpointStack', { env });
    const identityProvider = new DelegationIdentityProvider(providerStack, 'Idp', { signingKeys: keyRotation && SigningKeys.create(keyRotation) });
    const role = new DelegationRole(endpointStack, 'UserRole', { identityProvider });
    new DelegationEndpoint(endpointStack, 'Endpoint', { identityProvider, issuers: [auth0Issuer()], defaultRole: role });
    return { provider: Template.fromStack(providerStack).toJSON(), endpoint: Template.fromStack(endpointStack).toJSON() };
  }

  const exportsOf = (template: Record<string, any>): Set<string> => new Set(Object.values(template.Outputs ?? {})
    .map((output: any) => output.Export?.Name).filter((name: unknown): name is string => typeof name === 'string'));
  const importsOf = (template: Record<string, any>): string[] =>
    [...new Set([...JSON.stringify(template.Resources).matchAll(/"Fn::ImportValue":"([^"]+)"/g)].map((match) => match[1]))];

  const steps = [undefined, ...ROTATION_STEPS].map(twoStackStep);

  test('every step deploys: what the endpoint\'s stack imports stays exported while the provider\'s stack updates first', () => {
    for (let step = 1; step < steps.length; step++) {
      const stillImported = importsOf(steps[step - 1].endpoint);
      const exported = exportsOf(steps[step].provider);
      // CloudFormation refuses to remove an export that a deployed stack still imports.
      expect({ step, missing: stillImported.filter((name) => !exported.has(name)) }).toEqual({ step, missing: [] });
      expect({ step, missing: importsOf(steps[step].endpoint).filter((name) => !exported.has(name)) }).toEqual({ step, missing: [] });
    }
  });

  /** The kms:Sign statements of the handler's role, which the provider makes in its own stack. */
  function handlerSignKeys(provider: Record<string, any>): string[] {
    const [roleId] = Object.keys(provider.Resources).filter((id) => provider.Resources[id].Type === 'AWS::IAM::Role' && id.startsWith('IdpSignerRoleEndpointStackEndpoint'));
    return Object.values(provider.Resources)
      .filter((resource: any) => resource.Type === 'AWS::IAM::Policy' && resource.Properties.Roles.some((role: any) => role.Ref === roleId))
      .flatMap((policy: any) => policy.Properties.PolicyDocument.Statement)
      .filter((statement: any) => statement.Action === 'kms:Sign')
      .map((statement: any) => statement.Resource['Fn::GetAtt'][0])
      .sort();
  }

  test('the handler of the other stack has its role in the provider\'s stack, signs with every published key by reference, and is pinned in their policies', () => {
    for (const [step, published] of [[0, 1], [1, 2], [2, 2], [3, 1]] as const) {
      const { provider, endpoint } = steps[step];
      const keys = Object.keys(provider.Resources).filter((id) => provider.Resources[id].Type === 'AWS::KMS::Key').sort();
      expect({ step, signs: handlerSignKeys(provider) }).toEqual({ step, signs: keys });
      expect(keys).toHaveLength(published);
      for (const key of keys) {
        const signers = provider.Resources[key].Properties.KeyPolicy.Statement.find((statement: any) => statement.Sid === 'TheDelegationHandlersSign');
        expect(JSON.stringify(signers.Principal)).toMatch(/IdpSignerRoleEndpointStackEndpoint/);
      }
      // No grant by tag, no tags: nothing in the endpoint's stack may sign.
      expect(JSON.stringify(endpoint.Resources)).not.toContain('kms:Sign');
      expect(JSON.stringify(provider.Resources)).not.toContain('cdk-token-delegation:identity-provider');
    }
  });
});

test('cdk-nag is clean over a provider stack and an endpoint stack whose handler signs with its keys', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { AwsSolutionsChecks } = require('cdk-nag') as typeof import('cdk-nag');
  const env = { account: '123456789012', region: 'eu-west-1' };
  const app = new App();
  const providerStack = new Stack(app, 'ProviderStack', { env });
  const endpointStack = new Stack(app, 'EndpointStack', { env });
  const identityProvider = new DelegationIdentityProvider(providerStack, 'Idp', { signingKeys: SigningKeys.create({ keys: ['1', '2'], activeKey: '2' }) });
  const role = new DelegationRole(endpointStack, 'UserRole', { identityProvider });
  new DelegationEndpoint(endpointStack, 'Endpoint', { identityProvider, issuers: [auth0Issuer()], defaultRole: role, webAclArn: 'arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/acl/0000' });
  Aspects.of(endpointStack).add(new AwsSolutionsChecks());
  const findings = Annotations.fromStack(endpointStack).findError('*', Match.stringLikeRegexp('AwsSolutions-IAM5'));
  expect(findings).toEqual([]);
});
