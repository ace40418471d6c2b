import { App, Aspects } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ExampleStack } from '../../examples/example-stack';

describe('cdk-nag AwsSolutionsChecks over the example stack', () => {
  const app = new App();
  const stack = new ExampleStack(app, 'Example', { env: { account: '123456789012', region: 'eu-west-1' } });
  Aspects.of(stack).add(new AwsSolutionsChecks({ verbose: true }));
  app.synth();

  test('no unsuppressed errors', () => {
    const errors = Annotations.fromStack(stack).findError('*', Match.stringLikeRegexp('AwsSolutions-.*'));
    expect(errors.map((e) => `${e.id}: ${e.entry.data}`)).toEqual([]);
  });

  test('no unsuppressed warnings', () => {
    const warnings = Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*'));
    expect(warnings.map((w) => `${w.id}: ${w.entry.data}`)).toEqual([]);
  });
});
