import { Template as AssertionsTemplate } from 'aws-cdk-lib/assertions';
import type { Template } from '../../local/cloudformation';
import { startOidcIssuer, type LocalOidcIssuer } from '../../local/oidc-issuer';
import { startLoopbackSts, type LoopbackSts } from '../../local/sts-server';
import { CreatedSigningKeysOptions, SigningKeys, TokenDelegation } from '../../src';
import { apiGatewayEvent, captureOutput, lambdaContext, type DelegationHandler } from '../support/handler-harness';
import { startStackReplay, type StackReplay } from '../support/stack-replay';
import { auth0Issuer, testStack } from '../support/stacks';

/**
 * The rotation runbook, replayed on loopback: the synthesized template of each step is applied as a
 * stack update (keys in a loopback KMS, certificates made by the certificate function's code, metadata
 * replaced in the loopback STS, the handler restarted when its configuration changes, the handler
 * role's permissions applied last), while requests run without pause through every step.
 */

/** The runbook's steps: before (key 1 signs), publish key 2, switch the signer to it, retire key 1. */
const ROTATIONS: ReadonlyArray<CreatedSigningKeysOptions | undefined> = [
  undefined,
  { keys: ['1', '2'], activeKey: '1' },
  { keys: ['1', '2'], activeKey: '2' },
  { keys: ['2'], activeKey: '2' },
];
/** Requests each phase must complete before the next step starts: the load is bounded by count, not time. */
const REQUESTS_PER_PHASE = 12;
const WORKERS = 3;

function stepTemplate(rotation: CreatedSigningKeysOptions | undefined): Template {
  const stack = testStack();
  new TokenDelegation(stack, 'Delegation', { issuers: [auth0Issuer()], identityProvider: { signingKeys: rotation && SigningKeys.create(rotation) } });
  return AssertionsTemplate.fromStack(stack).toJSON() as Template;
}

interface Outcome {
  /** The phase the request started in: 2n while step n is deployed, 2n+1 while step n+1 is being deployed. */
  readonly phase: number;
  readonly status: number;
  readonly error?: string;
  readonly keyArn: string;
}

async function delegateOnce(handler: DelegationHandler, issuer: LocalOidcIssuer, subject: string): Promise<{ status: number; error?: string }> {
  const token = await issuer.sign({ sub: subject });
  const response = await handler(apiGatewayEvent({
    headers: { 'Authorization': `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: '{}',
  }), lambdaContext());
  const body = JSON.parse(response.body) as { error?: string };
  return { status: response.statusCode, error: body.error };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  // Generous outer bound: the loop ends on the condition, by count of completed requests.
  const deadline = Date.now() + 120_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('key rotation replayed on loopback, under load', () => {
  let sts: LoopbackSts;
  let issuer: LocalOidcIssuer;
  let replay: StackReplay;
  const templates = ROTATIONS.map(stepTemplate);

  beforeAll(async () => {
    sts = await startLoopbackSts();
    issuer = await startOidcIssuer({ audience: 'CLIENT_ID' });
    replay = await startStackReplay({ sts, issuer });
  });

  afterAll(async () => {
    await replay?.close();
    await issuer?.close();
    await sts?.close();
  });

  test('every request succeeds through publish, switch and retire; the old key works until it is retired, the new one from its publication', async () => {
    const outcomes: Outcome[] = [];
    const checks: Record<string, { status: number; error?: string }> = {};
    let phase = 0;
    let stopped = false;

    const { output, lines } = await captureOutput(async () => {
      await replay.deploy(templates[0]);
      const workers = Array.from({ length: WORKERS }, async (_, index) => {
        for (let round = 0; !stopped; round++) {
          const container = replay.current;
          const started = phase;
          const result = await delegateOnce(container.handler, issuer, `user${index}-${round}`);
          outcomes.push({ phase: started, keyArn: container.keyArn, ...result });
        }
      });
      const completedIn = (which: number) => outcomes.filter((outcome) => outcome.phase === which).length;
      try {
        await until(() => completedIn(0) >= REQUESTS_PER_PHASE, 'load before the rotation');
        const oldContainer = replay.current;
        const keyOne = oldContainer.keyArn;
        for (let step = 1; step < templates.length; step++) {
          phase = 2 * step - 1;
          await replay.deploy(templates[step]);
          await until(() => completedIn(phase) >= 1, `load during step ${step}`);
          phase = 2 * step;
          await until(() => completedIn(phase) >= REQUESTS_PER_PHASE, `load after step ${step}`);
          // A container still running the first configuration (key 1 through KMS), as Lambda keeps for a while.
          checks[`old container after step ${step}`] = await delegateOnce(oldContainer.handler, issuer, `old-container-${step}`);
          // An assertion signed by key 1 itself, whatever IAM lets the handler do: does STS still accept it?
          checks[`key 1 signature after step ${step}`] = await delegateOnce(replay.containerSigningWith(keyOne).handler, issuer, `key-1-${step}`);
          if (step === 1) {
            // A container of the next configuration that starts before its deployment: key 2 is published already.
            checks['new key after publication'] = await delegateOnce(replay.containerFor(templates[2]).handler, issuer, 'early-container');
          }
        }
      } finally {
        stopped = true;
        await Promise.all(workers);
      }
    });

    const failures = outcomes.filter((outcome) => outcome.status !== 200);
    expect(failures).toEqual([]);
    for (let which = 0; which <= 2 * (templates.length - 1); which += 2) {
      expect(outcomes.filter((outcome) => outcome.phase === which).length).toBeGreaterThanOrEqual(REQUESTS_PER_PHASE);
    }
    const [firstKey, secondKey] = [replay.containers[0].keyArn, replay.current.keyArn];
    expect(secondKey).not.toBe(firstKey);
    // The switch deployment restarted the handler once; publish and retire left it as it was.
    expect(replay.containers.map((container) => container.step)).toEqual([0, 2]);
    // Until the switch, key 1 signs; during it, old and new containers both serve; after it, key 2 signs.
    expect(new Set(outcomes.filter((outcome) => outcome.phase <= 2).map((outcome) => outcome.keyArn))).toEqual(new Set([firstKey]));
    expect(new Set(outcomes.filter((outcome) => outcome.phase >= 4).map((outcome) => outcome.keyArn))).toEqual(new Set([secondKey]));
    expect(replay.publishedKeyArns()).toEqual([secondKey]);

    expect(checks).toEqual({
      'new key after publication': { status: 200 },
      'old container after step 1': { status: 200 },
      'key 1 signature after step 1': { status: 200 },
      'old container after step 2': { status: 200 },
      'key 1 signature after step 2': { status: 200 },
      // Retired: STS no longer trusts key 1's signatures. KMS keeps the retired key with its last policy,
      // which names the handler role in its Principal element, so a container still configured with key 1
      // signs and STS refuses the assertion (the runbook's wait before step 3 lets such containers go).
      'old container after step 3': { status: 403, error: 'access_denied' },
      'key 1 signature after step 3': { status: 403, error: 'access_denied' },
    });
    const refusals = sts.calls.filter((call) => call.outcome !== 'issued').map((call) => call.outcome);
    expect(refusals).toEqual(['InvalidIdentityToken', 'InvalidIdentityToken']);
    // What the handler logged: STS refused key 1's signatures, from the old container and from the probe.
    const reasonFor = (subject: string) => lines.find((line) => line.subject === subject)?.reason;
    expect(reasonFor('old-container-3')).toBe('sts_InvalidIdentityToken');
    expect(reasonFor('key-1-3')).toBe('sts_InvalidIdentityToken');
    expect(output).not.toContain('delegation-handler-test-secret');
  });
});
