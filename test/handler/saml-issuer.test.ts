import { generateKeyPairSync } from 'node:crypto';
import type { DelegationConfig } from '../../lambda/delegation/config';
import { DelegationError } from '../../lambda/delegation/errors';
import { SamlIssuer } from '../../lambda/delegation/saml-issuer';
import { PemSigner } from '../../lambda/shared/pem-signer';
import type { Signer } from '../../lambda/shared/signer';
import { assertionInput, TEST_IDP_ENTITY_ID, TEST_PROVIDER_ARN } from '../support/saml-fixtures';

const pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const grant = assertionInput().grant;

function config(overrides: Partial<DelegationConfig> = {}): DelegationConfig {
  return {
    issuers: [],
    samlEntityId: TEST_IDP_ENTITY_ID,
    samlRecipient: 'https://signin.aws.amazon.com/saml',
    providerArn: TEST_PROVIDER_ARN,
    roles: { defaultRoleArn: grant.roleArn, rules: [], clientSelectable: [] },
    sessionTags: [],
    samlAttributes: [],
    sessionDurationSeconds: 3600,
    limitSessionToToken: false,
    signer: { kind: 'pem', signingKeyPem: pem },
    allowedOrigins: [],
    assertionLifetimeSeconds: 120,
    metricsNamespace: 'TokenDelegation',
    ...overrides,
  };
}

function decoded(base64: string): string {
  return Buffer.from(base64, 'base64').toString('utf8');
}

describe('SamlIssuer', () => {
  test('issues the base64 Response of a grant with the configuration\'s entityID, Recipient, provider and lifetime', async () => {
    const issuer = new SamlIssuer(config(), { signer: new PemSigner(pem) });
    const now = new Date('2030-01-02T03:04:05Z');
    const xml = decoded(await issuer.issue(grant, Date.now() + 5000, now));

    expect(xml).toContain(`<saml:Issuer>${TEST_IDP_ENTITY_ID}</saml:Issuer>`);
    expect(xml).toContain('Recipient="https://signin.aws.amazon.com/saml"');
    expect(xml).toContain(`${grant.roleArn},${TEST_PROVIDER_ARN}`);
    expect(xml).toContain('NotOnOrAfter="2030-01-02T03:06:05Z"');
    expect(xml).toContain('<saml:Audience>urn:amazon:webservices</saml:Audience><saml:Audience>https://signin.aws.amazon.com/saml</saml:Audience>');
  });

  test('the Audiences follow the Recipient\'s partition', () => {
    const china = new SamlIssuer(config({ samlRecipient: 'https://signin.amazonaws.cn/saml' }), { signer: new PemSigner(pem) });
    expect(china.audiences).toEqual(['urn:amazon:webservices:cn-north-1', 'https://signin.amazonaws.cn/saml']);
  });

  test('a certificate in the configuration goes into ds:KeyInfo', async () => {
    const certificate = Buffer.alloc(96, 7).toString('base64');
    const issuer = new SamlIssuer(config({ signingCertificate: certificate }), { signer: new PemSigner(pem) });
    expect(decoded(await issuer.issue(grant, Date.now() + 5000))).toContain(`<ds:X509Certificate>${certificate}</ds:X509Certificate>`);
  });

  test('a remote signer gives up at the deadline with a 503 of its dependency', async () => {
    const never: Signer = { sign: () => new Promise<Uint8Array>(() => undefined) };
    const issuer = new SamlIssuer(config(), { signer: never, dependency: 'kms' });
    const failure = await issuer.issue(grant, Date.now() + 50).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(DelegationError);
    expect([(failure as DelegationError).status, (failure as DelegationError).reason]).toEqual([503, 'kms_timeout']);
  });

  test('an in-memory signer is not bounded by the deadline', async () => {
    const issuer = new SamlIssuer(config(), { signer: new PemSigner(pem) });
    await expect(issuer.issue(grant, Date.now() - 1000)).resolves.toMatch(/^[A-Za-z0-9+/]+=*$/);
  });
});
