import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExampleStackProps } from '../../examples/example-stack';
import { exampleStackTemplate } from '../../local/example-template';

/**
 * The example app's template written where `cdk synth` would put it, for tests of the local command,
 * which reads a template file.
 */
export function exampleTemplateFile(props: ExampleStackProps = {}): string {
  const file = join(mkdtempSync(join(tmpdir(), 'example-template-')), 'Example.template.json');
  writeFileSync(file, JSON.stringify(exampleStackTemplate(props)));
  return file;
}
