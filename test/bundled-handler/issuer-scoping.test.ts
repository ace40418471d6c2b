import { generateKeyPairSync } from 'node:crypto';
import { startOidcIssuer, type LocalOidcIssuer } from '../../local/oidc-issuer';
import { startStsStub, type StsStub } from '../support/aws-stubs';
import {
  ADMIN_ROLE_ARN, CLIENT_ID, ROLE_ARN, apiGatewayEvent, awsTestEnvironment, captureOutput, delegationEnvironment, lambdaContext,
  loadBundledHandler, setEnvironment, type DelegationHandler,
} from '../support/handler-harness';

/**
 * Two issuers behind one endpoint, through the bundled handler: rules and tags of the corporate
 * issuer never apply to the partner's tokens, whatever those tokens claim, and companion claims
 * must hold before an editable claim counts.
 */
const PEM = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();

let corporate: LocalOidcIssuer;
let partner: LocalOidcIssuer;
let sts: StsStub;
let restoreAws: () => void;
let handler: DelegationHandler;

beforeAll(async () => {
  corporate = await startOidcIssuer({ audience: CLIENT_ID, subject: 'alice' });
  partner = await startOidcIssuer({ audience: CLIENT_ID, subject: 'alice' });
  sts = await startStsStub();
  restoreAws = setEnvironment(awsTestEnvironment({ sts: sts.endpoint }));
  const issuerConfig = (issuer: LocalOidcIssuer, namespace: string) => ({
    issuer: issuer.issuer,
    jwksUri: issuer.jwksUri,
    audiences: [CLIENT_ID],
    algorithms: ['RS256'],
    subjectClaim: 'sub',
    namespace,
    maxTokenAgeSeconds: 3600,
    clockToleranceSeconds: 30,
  });
  handler = loadBundledHandler(delegationEnvironment(corporate, { pem: PEM }, {
    DELEGATION_ISSUERS: JSON.stringify([issuerConfig(corporate, ''), issuerConfig(partner, 'partner')]),
    DELEGATION_ROLES: JSON.stringify({
      defaultRoleArn: ROLE_ARN,
      rules: [
        { roleArn: ADMIN_ROLE_ARN, issuer: corporate.issuer, claim: 'cognito:groups', match: 'contains', value: 'editors' },
        {
          roleArn: ADMIN_ROLE_ARN,
          issuer: corporate.issuer,
          claim: 'email',
          match: 'equals',
          value: 'ops-admin@corp.example',
          requires: [{ claim: 'email_verified', match: 'true' }],
        },
      ],
      clientSelectable: [ROLE_ARN, ADMIN_ROLE_ARN],
    }),
    DELEGATION_SESSION_TAGS: JSON.stringify([{ issuer: corporate.issuer, key: 'department', claim: 'custom:department', required: false }]),
  }));
});

afterAll(async () => {
  restoreAws();
  await Promise.all([corporate.close(), partner.close(), sts.close()]);
});

beforeEach(() => sts.reset());

async function exchange(token: string, body?: Record<string, unknown>) {
  const event = apiGatewayEvent({
    headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const { result, lines } = await captureOutput(() => handler(event, lambdaContext()));
  return { status: result.statusCode, body: JSON.parse(result.body) as Record<string, any>, log: lines[0] };
}

describe('rules and session tags of one issuer never apply to another issuer\'s tokens', () => {
  test('the corporate issuer\'s editor gets the rule\'s role and the tag, as bare alice', async () => {
    const { status, body } = await exchange(await corporate.sign({ 'cognito:groups': ['editors'], 'custom:department': 'sales' }));
    expect(status).toBe(200);
    expect(body.Subject).toBe('alice');
    expect(sts.calls[0].roleArn).toBe(ADMIN_ROLE_ARN);
    expect(sts.calls[0].samlResponseXml).toContain('PrincipalTag:department');
  });

  test('a partner token with the same groups claim gets the default role, no tag, and its own namespace', async () => {
    const { status, body } = await exchange(await partner.sign({ 'cognito:groups': ['editors'], 'custom:department': 'sales' }));
    expect(status).toBe(200);
    expect(body.Subject).toBe('partner:alice');
    expect(sts.calls[0].roleArn).toBe(ROLE_ARN);
    expect(sts.calls[0].samlResponseXml).not.toContain('PrincipalTag:department');
  });

  test('a partner token cannot ask for the corporate rule\'s role: 403 role_not_allowed, nothing signed', async () => {
    const { status, body, log } = await exchange(await partner.sign({ 'cognito:groups': ['editors'] }), { role: ADMIN_ROLE_ARN });
    expect([status, body.error, log.reason]).toEqual([403, 'access_denied', 'role_not_allowed']);
    expect(sts.callCount).toBe(0);
  });
});

describe('companion claims', () => {
  test('email with email_verified true matches the rule', async () => {
    await exchange(await corporate.sign({ email: 'ops-admin@corp.example', email_verified: true }));
    expect(sts.calls[0].roleArn).toBe(ADMIN_ROLE_ARN);
  });

  test.each<[string, unknown]>([['false', false], ['missing', undefined], ['the string "yes"', 'yes']])(
    'email with email_verified %s does not match: the default role', async (_name, verified) => {
      await exchange(await corporate.sign({ email: 'ops-admin@corp.example', email_verified: verified }));
      expect(sts.calls[0].roleArn).toBe(ROLE_ARN);
    },
  );

  test('an unverified email cannot ask for the admin role: 403 role_not_allowed', async () => {
    const { status, log } = await exchange(await corporate.sign({ email: 'ops-admin@corp.example', email_verified: false }), { role: ADMIN_ROLE_ARN });
    expect([status, log.reason]).toEqual([403, 'role_not_allowed']);
    expect(sts.callCount).toBe(0);
  });
});
