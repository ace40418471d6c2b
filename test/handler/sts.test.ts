import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { STSClient } from '@aws-sdk/client-sts';
import { DelegationError } from '../../lambda/delegation/errors';
import { errorHeaders } from '../../lambda/delegation/http';
import { assumeRoleWithSaml, createStsClient, stsFailureToDelegationError } from '../../lambda/delegation/sts';
import { startStsStub, type StsStub } from '../support/aws-stubs';

const ROLE_ARN = 'arn:aws:iam::123456789012:role/delegation/UserRole';
const PROVIDER_ARN = 'arn:aws:iam::123456789012:saml-provider/TokenDelegation';

/** A SAML Response with just the parts the stub reads back, as STS reads them from a real one. */
function samlResponseBase64(subject = 'auth0|123'): string {
  const xml = '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">'
    + '<saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">https://idp.example.com/saml</saml:Issuer>'
    + `<saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">${subject}</saml:NameID>`
    + '<saml:SubjectConfirmationData NotOnOrAfter="2030-01-01T00:00:00Z" Recipient="https://signin.aws.amazon.com/saml"></saml:SubjectConfirmationData>'
    + '<saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/RoleSessionName" NameFormat="x"><saml:AttributeValue>auth0-123</saml:AttributeValue></saml:Attribute>'
    + '<saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/SourceIdentity" NameFormat="x"><saml:AttributeValue>auth0-123</saml:AttributeValue></saml:Attribute>'
    + '</samlp:Response>';
  return Buffer.from(xml, 'utf8').toString('base64');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const input = { roleArn: ROLE_ARN, providerArn: PROVIDER_ARN, samlResponseBase64: samlResponseBase64(), durationSeconds: 900 };

const savedEnv = { ...process.env };
let stub: StsStub;
let client: STSClient;

beforeAll(async () => {
  stub = await startStsStub();
  // No credentials anywhere: AssumeRoleWithSAML must work unsigned.
  for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', 'AWS_WEB_IDENTITY_TOKEN_FILE']) {
    delete process.env[name];
  }
  process.env.AWS_CONFIG_FILE = '/nonexistent/aws-config';
  process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/aws-credentials';
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  process.env.AWS_ENDPOINT_URL_STS = stub.endpoint;
  // Limits far beyond a loopback answer on a busy machine, so that only the tests that ask for it see a timeout.
  client = createStsClient({ region: 'eu-west-1', requestTimeoutMs: 10_000, connectionTimeoutMs: 10_000 });
});

afterAll(async () => {
  client.destroy();
  await stub.close();
  process.env = savedEnv;
});

beforeEach(() => stub.reset());

describe('assumeRoleWithSaml', () => {
  test('sends an unsigned form-encoded AssumeRoleWithSAML to AWS_ENDPOINT_URL_STS and returns STS fields', async () => {
    const result = await assumeRoleWithSaml(client, input);

    expect(stub.callCount).toBe(1);
    const call = stub.calls[0];
    expect(call.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(call.headers.authorization).toBeUndefined();
    expect(call.headers['x-amz-security-token']).toBeUndefined();
    expect(call.params).toMatchObject({
      Action: 'AssumeRoleWithSAML',
      Version: '2011-06-15',
      RoleArn: ROLE_ARN,
      PrincipalArn: PROVIDER_ARN,
      SAMLAssertion: input.samlResponseBase64,
      DurationSeconds: '900',
    });

    expect(result.Credentials).toEqual({
      AccessKeyId: call.issued!.accessKeyId,
      SecretAccessKey: call.issued!.secretAccessKey,
      SessionToken: call.issued!.sessionToken,
      Expiration: expect.any(Date),
    });
    expect(result.Credentials.Expiration.getTime()).toBeGreaterThan(Date.now() + 800_000);
    expect(result.AssumedRoleUser.Arn).toBe('arn:aws:sts::123456789012:assumed-role/UserRole/auth0-123');
    expect(result.AssumedRoleUser.AssumedRoleId).toMatch(/^AROA[A-Z0-9]+:auth0-123$/);
    expect(result).toMatchObject({
      Subject: 'auth0|123',
      SubjectType: 'persistent',
      Issuer: 'https://idp.example.com/saml',
      Audience: 'https://signin.aws.amazon.com/saml',
      SourceIdentity: 'auth0-123',
      NameQualifier: expect.stringMatching(/^[A-Za-z0-9+/]{27}=$/),
    });
  });

  test.each([
    ['IDPRejectedClaim', 403],
    ['InvalidIdentityToken', 400],
    ['AccessDenied', 403],
    ['MalformedPolicyDocument', 400],
    ['PackedPolicyTooLarge', 400],
    ['ExpiredTokenException', 400],
  ])('STS %s (HTTP %i) becomes 403 access_denied after one call, without the STS message', async (code, status) => {
    stub.replyWith({ status, code, message: 'Not authorized: secret detail from STS' });
    const error = await assumeRoleWithSaml(client, input).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(DelegationError);
    const delegationError = error as DelegationError;
    expect(delegationError.status).toBe(403);
    expect(delegationError.code).toBe('access_denied');
    expect(delegationError.reason).toBe(`sts_${code.replace(/Exception$/, '')}`);
    expect(errorHeaders(delegationError)).toEqual({});
    expect(delegationError.description).not.toContain('secret detail');
    expect(stub.callCount).toBe(1);
  });

  test('STS ValidationError (a parameter from the configuration, e.g. DurationSeconds over the role\'s maximum) is a 500 server_error for the operator, with the STS error as cause', async () => {
    stub.replyWith({ status: 400, code: 'ValidationError', message: 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.' });
    const error = await assumeRoleWithSaml(client, input).catch((caught: unknown) => caught) as DelegationError;

    expect(error).toBeInstanceOf(DelegationError);
    expect(error.status).toBe(500);
    expect(error.code).toBe('server_error');
    expect(error.reason).toBe('sts_ValidationError_configuration');
    expect(errorHeaders(error)).toEqual({});
    expect(error.description).not.toContain('MaxSessionDuration');
    expect((error.cause as Error).message).toContain('exceeds the MaxSessionDuration');
    expect(stub.callCount).toBe(1);
  });

  test.each([
    ['InternalFailure', 500, 'sts_InternalFailure', '2'],
    ['ServiceUnavailable', 503, 'sts_ServiceUnavailable', '2'],
  ])('STS %s (HTTP %i) is retried three times, then 503 with Retry-After', async (code, status, reason, retryAfter) => {
    stub.replyWith({ status, code }, { status, code }, { status, code }, { status, code });
    const error = await assumeRoleWithSaml(client, input).catch((caught: unknown) => caught) as DelegationError;

    expect(error).toBeInstanceOf(DelegationError);
    expect(error.status).toBe(503);
    expect(error.code).toBe('temporarily_unavailable');
    expect(error.reason).toBe(reason);
    expect(errorHeaders(error)).toEqual({ 'Retry-After': retryAfter });
    expect(stub.callCount).toBe(3);
  });

  test('throttling is retried with backoff, at most three calls, then 503 with Retry-After', async () => {
    stub.replyWith(...Array(5).fill({ status: 400, code: 'Throttling' }));
    const error = await assumeRoleWithSaml(client, input).catch((caught: unknown) => caught) as DelegationError;

    expect(error.status).toBe(503);
    expect(error.reason).toBe('sts_Throttling');
    expect(errorHeaders(error)['Retry-After']).toBe('2');
    expect(stub.callCount).toBe(3);
  });

  test('a failed first attempt that succeeds on retry returns the credentials of the second call', async () => {
    stub.replyWith({ status: 500, code: 'InternalFailure' });
    const result = await assumeRoleWithSaml(client, input);

    expect(stub.callCount).toBe(2);
    expect(result.Credentials.AccessKeyId).toBe(stub.calls[1].issued!.accessKeyId);
  });

  test('RegionDisabledException (STS deactivated in the Region) is not retried and is a 500 configuration error without Retry-After, with the STS error as cause', async () => {
    stub.replyWith({ status: 403, code: 'RegionDisabledException', message: 'STS is not activated in this region for account 123456789012.' });
    const error = await assumeRoleWithSaml(client, input).catch((caught: unknown) => caught) as DelegationError;

    expect(error).toBeInstanceOf(DelegationError);
    expect(error.status).toBe(500);
    expect(error.code).toBe('server_error');
    expect(error.reason).toBe('sts_RegionDisabled_configuration');
    expect(errorHeaders(error)).toEqual({});
    expect(error.description).not.toContain('activated');
    expect((error.cause as Error).message).toContain('not activated in this region');
    expect(stub.callCount).toBe(1);
  });

  test('an unknown client error code still answers 503, never 500', async () => {
    stub.replyWith({ status: 400, code: 'SomethingNew' });
    const error = await assumeRoleWithSaml(client, input).catch((caught: unknown) => caught) as DelegationError;

    expect(error.status).toBe(503);
    expect(error.reason).toBe('sts_SomethingNew');
  });

  test('dropped connections are retried and end in 503 sts_network', async () => {
    stub.replyWith(...Array(3).fill({ dropConnection: true }));
    const error = await assumeRoleWithSaml(client, input).catch((caught: unknown) => caught) as DelegationError;

    expect(error.status).toBe(503);
    expect(error.reason).toBe('sts_network');
    expect(errorHeaders(error)['Retry-After']).toBe('2');
    expect(stub.callCount).toBe(3);
  });

  test('an attempt slower than the request timeout is given up and retried; all slow ends in 503 sts_timeout', async () => {
    // Answers that would take 30 s in all: ending well before shows each attempt was given up at 400 ms.
    stub.replyWith(...Array(3).fill({ delayMs: 10_000 }));
    const hasty = createStsClient({ region: 'eu-west-1', requestTimeoutMs: 400, connectionTimeoutMs: 400 });
    try {
      const startedAt = Date.now();
      const error = await assumeRoleWithSaml(hasty, input).catch((caught: unknown) => caught) as DelegationError;

      expect(error.status).toBe(503);
      expect(error.reason).toBe('sts_timeout');
      expect(stub.callCount).toBe(3);
      expect(Date.now() - startedAt).toBeLessThan(10_000);
    } finally {
      hasty.destroy();
    }
  });

  test('the deadline aborts the call, retries included', async () => {
    // The deadline comes long before the request timeout (10 s) and the answer (10 s).
    stub.replyWith(...Array(3).fill({ delayMs: 10_000 }));
    const startedAt = Date.now();
    const error = await assumeRoleWithSaml(client, input, { deadline: Date.now() + 1000 }).catch((caught: unknown) => caught) as DelegationError;

    expect(Date.now() - startedAt).toBeLessThan(8000);
    expect(error.status).toBe(503);
    expect(error.reason).toBe('sts_timeout');
    expect(stub.callCount).toBe(1);
  });

  test('the deadline destroys the attempt in flight, not only the wait for it', async () => {
    const closedAt: number[] = [];
    const silent = createServer((request) => request.socket.once('close', () => closedAt.push(Date.now())));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const override = process.env.AWS_ENDPOINT_URL_STS;
    process.env.AWS_ENDPOINT_URL_STS = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    // A request timeout far beyond the deadline: only the deadline can end this attempt.
    const patient = createStsClient({ region: 'eu-west-1', requestTimeoutMs: 60_000 });
    try {
      const deadline = Date.now() + 1000;
      const error = await assumeRoleWithSaml(patient, input, { deadline }).catch((caught: unknown) => caught) as DelegationError;

      expect(error.reason).toBe('sts_timeout');
      for (let wait = 0; closedAt.length === 0 && wait < 300; wait++) {
        await sleep(100);
      }
      expect(closedAt).toHaveLength(1);
      // Closed because of the deadline, long before the request timeout would have closed it.
      expect(closedAt[0] - deadline).toBeLessThan(30_000);
    } finally {
      process.env.AWS_ENDPOINT_URL_STS = override;
      patient.destroy();
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  test('a deadline that passes during a retry backoff ends the call before the backoff does, and nothing is sent after it', async () => {
    // STS asks for its retry in 3 s (x-amz-retry-after): the SDK's backoff is then those 3 s rather than a
    // random jitter, and the deadline, 1 s after the start, falls inside it.
    const backoffMs = 3000;
    stub.replyWith(...Array(3).fill({ status: 400, code: 'Throttling', retryAfterMs: backoffMs }));
    const call = assumeRoleWithSaml(client, input, { deadline: Date.now() + 1000 }).catch((caught: unknown) => caught);
    // Started before STS has answered, this wait ends before the backoff can: which one settles first says
    // whether the call waited for the backoff. No bound on how fast the call is: the deadline's timer
    // fires before this one, however busy the machine.
    const backoffPending = sleep(backoffMs - 500).then(() => 'the call was still waiting for the backoff');
    const first = await Promise.race([call, backoffPending]);

    expect(first).toBeInstanceOf(DelegationError);
    expect((first as DelegationError).reason).toBe('sts_timeout');
    expect(stub.callCount).toBe(1);
    // Past the moment the retry was due: the retry loop, left behind, must not send it.
    await backoffPending;
    await sleep(1500);
    expect(stub.callCount).toBe(1);
  });

  test('concurrent calls keep their own deadlines', async () => {
    stub.replyWith({ delayMs: 400 }, { delayMs: 400 });
    const short = assumeRoleWithSaml(client, input, { deadline: Date.now() + 150 }).catch((caught: unknown) => caught);
    const long = assumeRoleWithSaml(client, input, { deadline: Date.now() + 60_000 });

    expect(((await short) as DelegationError).reason).toBe('sts_timeout');
    const { AccessKeyId } = (await long).Credentials;
    expect(stub.calls.map((call) => call.issued?.accessKeyId)).toContain(AccessKeyId);
  });

  test('with no time left STS is not called at all', async () => {
    const error = await assumeRoleWithSaml(client, input, { deadline: Date.now() + 20 }).catch((caught: unknown) => caught) as DelegationError;

    expect(error.status).toBe(503);
    expect(error.reason).toBe('sts_timeout');
    expect(stub.callCount).toBe(0);
  });
});

describe('createStsClient', () => {
  test('uses the regional STS endpoint when no endpoint override is set', async () => {
    const override = process.env.AWS_ENDPOINT_URL_STS;
    delete process.env.AWS_ENDPOINT_URL_STS;
    try {
      for (const region of ['us-east-1', 'eu-central-1']) {
        const regional = createStsClient({ region });
        let host: string | undefined;
        // Stops the request right before it would leave the process.
        regional.middlewareStack.add((_next) => async (args) => {
          host = (args.request as { hostname?: string }).hostname;
          throw new Error('stopped before sending');
        }, { step: 'finalizeRequest', name: 'captureHost' });
        await expect(assumeRoleWithSaml(regional, input)).rejects.toThrow(DelegationError);
        expect(host).toBe(`sts.${region}.amazonaws.com`);
        regional.destroy();
      }
    } finally {
      process.env.AWS_ENDPOINT_URL_STS = override;
    }
  });
});

describe('stsFailureToDelegationError', () => {
  test.each([
    [Object.assign(new Error('x'), { name: 'AbortError' }), 'sts_timeout'],
    [Object.assign(new Error('x'), { name: 'TimeoutError', code: 'ETIMEDOUT' }), 'sts_timeout'],
    [Object.assign(new Error('x'), { code: 'ECONNREFUSED' }), 'sts_network'],
    [new TypeError('not an AWS error'), 'sts_unknown'],
    ['a string', 'sts_unknown'],
    [Object.assign(new Error('x'), { name: 'Weird<Name>"', $fault: 'client', $metadata: { httpStatusCode: 400 } }), 'sts_WeirdName'],
    [Object.assign(new Error('x'), { name: 'TooManyRequestsException', $fault: 'client', $metadata: { httpStatusCode: 429 } }), 'sts_TooManyRequests'],
  ])('maps %p to 503 %s', (error, reason) => {
    const mapped = stsFailureToDelegationError(error);
    expect(mapped.status).toBe(503);
    expect(mapped.code).toBe('temporarily_unavailable');
    expect(mapped.reason).toBe(reason);
    expect(errorHeaders(mapped)['Retry-After']).toMatch(/^\d+$/);
  });
});
