import { App, Stack, Validations } from 'aws-cdk-lib';
// eslint-disable-next-line import/no-unresolved -- installed apart from this tree and mapped by jest.config.js
import { AwsSolutionsChecks } from 'cdk-nag-v3';
import { ExampleStack } from '../../examples/example-stack';
import { TokenDelegation } from '../../src';
import { auth0Issuer } from '../support/stacks';

/**
 * cdk-nag 3 (aws-cdk-lib's Validations plugins) reads acknowledgements made with Validations.of().acknowledge()
 * and matches exact finding ids; the library's acknowledgements must hold there as under cdk-nag 2 (cdk-nag.test.ts).
 */

function violations(stack: Stack, app: App): string[] {
  const checks = new AwsSolutionsChecks(app, { verbose: true });
  app.synth();
  return checks.validateScope(stack).violations.flatMap((violation) =>
    violation.violatingResources.map((resource) => `${violation.ruleName} at ${resource.constructPath}`));
}

describe('cdk-nag 3 AwsSolutionsChecks', () => {
  test('the example stack has no unacknowledged finding', () => {
    const app = new App();
    const stack = new ExampleStack(app, 'Example', { env: { account: '123456789012', region: 'eu-west-1' } });
    expect(violations(stack, app)).toEqual([]);
  });

  test('every finding left on a bare TokenDelegation is one only its user can decide (bucket logs, web ACL)', () => {
    const app = new App();
    const stack = new Stack(app, 'Bare');
    new TokenDelegation(stack, 'D', { issuers: [auth0Issuer()] });
    expect(violations(stack, app).map((finding) => finding.replace(/ at .*/, '')).sort()).toEqual(['AwsSolutions-APIG3', 'AwsSolutions-S1']);
  });

  test('the library\'s own acknowledgements are recorded as exact finding ids with reasons', () => {
    const app = new App();
    const stack = new Stack(app, 'Ids', { env: { account: '123456789012', region: 'eu-west-1' } });
    new TokenDelegation(stack, 'D', { issuers: [auth0Issuer()] });
    app.synth();
    const acknowledged = stack.node.findAll().flatMap((construct) => construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) => Object.entries(entry.data as Record<string, string>)));
    const ids = acknowledged.map(([id]) => id.replace(/^annotation::/i, ''));
    expect(ids).toEqual(expect.arrayContaining([
      'AwsSolutions-APIG4',
      'AwsSolutions-COG4',
      expect.stringMatching(/^AwsSolutions-IAM5\[Resource::<DBucket[0-9A-F]+\.Arn>\/users\/<saml:sub>\/\*\]$/),
      expect.stringMatching(/^AwsSolutions-IAM5\[Resource::<TokenDelegationSigningCertificateProviderOnEvent[0-9A-F]+\.Arn>:\*\]$/),
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    ]));
    for (const [, reason] of acknowledged) {
      expect(reason.length).toBeGreaterThan(20);
    }
  });
});
