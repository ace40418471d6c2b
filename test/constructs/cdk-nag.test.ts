import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

describe('acknowledgements leave no error behind', () => {
  test('a successful synthesis writes nothing to the CLI\'s error file (cdk.out/error.txt), whatever this aws-cdk-lib accepts', () => {
    const directory = mkdtempSync(join(tmpdir(), 'nag-error-file-'));
    const errorFile = join(directory, 'error.txt');
    const previous = process.env.CDK_ERROR_FILE;
    // The CLI sets this for the app; aws-cdk-lib writes the code of every error it makes there, caught or not.
    process.env.CDK_ERROR_FILE = errorFile;
    try {
      const app = new App();
      new ExampleStack(app, 'Example', { env: { account: '123456789012', region: 'eu-west-1' } });
      app.synth();
      expect(existsSync(errorFile) ? readFileSync(errorFile, 'utf8') : 'no error file').toBe('no error file');
    } finally {
      if (previous === undefined) delete process.env.CDK_ERROR_FILE;
      else process.env.CDK_ERROR_FILE = previous;
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
