import { ExpectedResult, IntegTest, Match } from '@aws-cdk/integ-tests-alpha';
import { App, Stack } from 'aws-cdk-lib';
import { ALICE, BOB, EXPECTED_FACTS, type ProverEvent, type Scenario } from './live-proof/facts';
import { LIVE_PROOF_STACK_NAME, liveProofStack } from './live-proof/stack';

// The whole flow, live: a test OpenID issuer deployed with the stack (KMS key made at deploy, JWKS on
// a function URL), the delegation endpoint trusting it, and a prover Lambda that mints alice's and
// bob's id tokens, exchanges them at the endpoint (Bearer form) and uses the credentials with S3.
// The prover answers facts only: the assertion provider logs every answer, so no token or credential
// may pass through it. See docs/live-proof.md.
// Snapshots must not depend on where the repository is checked out: no stack traces in their metadata.
const app = new App({ context: { 'aws:cdk:disable-creation-stack-traces': true, 'aws:cdk:disable-stack-trace': true } });
const proof = liveProofStack(app);

const integ = new IntegTest(app, 'TokenDelegationLiveProofTest', {
  testCases: [proof.stack],
  assertionStack: new Stack(app, `${LIVE_PROOF_STACK_NAME}Assertions`),
  // The snapshot's assets are not committed, so there is no previous version to deploy first.
  stackUpdateWorkflow: false,
  cdkCommandOptions: { destroy: { args: { force: true } } },
});

// The issuer is reachable over https and publishes one RS256 key.
const jwks = integ.assertions.httpApiCall(proof.jwksUri);
jwks.expect(ExpectedResult.objectLike({
  status: 200,
  body: { keys: Match.arrayWith([Match.objectLike({ kty: 'RSA', alg: 'RS256', use: 'sig' })]) },
}));
const discovery = integ.assertions.httpApiCall(`${proof.issuerUrl}.well-known/openid-configuration`);
discovery.expect(ExpectedResult.objectLike({
  status: 200,
  body: { issuer: proof.issuerUrl, jwks_uri: proof.jwksUri },
}));

function prove(scenario: Scenario, event: ProverEvent) {
  const call = integ.assertions.invokeFunction({
    functionName: proof.prover.functionName,
    payload: JSON.stringify(event),
  });
  call.expect(ExpectedResult.objectLike({
    StatusCode: 200,
    Payload: Match.serializedJson(EXPECTED_FACTS[scenario]),
  }));
  return call;
}

// alice gets credentials and writes and reads users/alice/.
const ownPrefix = prove('own-prefix', { scenario: 'own-prefix', subject: ALICE });
// bob writes users/bob/live-proof.txt; alice may neither overwrite nor read it; bob still reads it.
const crossUser = prove('cross-user', { scenario: 'cross-user', subject: ALICE, otherSubject: BOB });
// A token signed by another key, and one for another client id, are refused with 401.
const refusals = prove('refusals', { scenario: 'refusals', subject: ALICE });

jwks.next(discovery).next(ownPrefix).next(crossUser).next(refusals);
