import { ExpectedResult, IntegTest } from '@aws-cdk/integ-tests-alpha';
import { App, Stack } from 'aws-cdk-lib';
import { JwtIssuer, TokenDelegation } from '../src';

// Deploys the whole unit and checks what can be checked without a user's id token: IAM holds the
// SAML provider with our metadata, and the endpoint refuses an invalid token with 401.
// Snapshots must not depend on where the repository is checked out: no stack traces in their metadata.
const app = new App({ context: { 'aws:cdk:disable-creation-stack-traces': true, 'aws:cdk:disable-stack-trace': true } });
const stack = new Stack(app, 'TokenDelegationInteg');
const delegation = new TokenDelegation(stack, 'Delegation', {
  issuers: [JwtIssuer.oidc({ issuerUrl: 'https://integ.example.com/', audiences: ['integ-client'] })],
  allowedOrigins: ['https://app.example.com'],
});

const integ = new IntegTest(app, 'TokenDelegationIntegTest', { testCases: [stack] });

integ.assertions
  .awsApiCall('IAM', 'getSAMLProvider', {
    SAMLProviderArn: delegation.identityProvider.samlProvider.samlProviderArn,
  })
  .assertAtPath('SAMLMetadataDocument', ExpectedResult.stringLikeRegexp('IDPSSODescriptor'));

integ.assertions
  .httpApiCall(delegation.endpointUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Authorization': 'Bearer not.a.jwt' },
    body: '{}',
  })
  .expect(ExpectedResult.objectLike({ status: 401 }));
