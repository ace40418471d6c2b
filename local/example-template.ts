import { App } from 'aws-cdk-lib';
import { Template as AssertionsTemplate } from 'aws-cdk-lib/assertions';
import type { Template } from './cloudformation';
import { ExampleStack, type ExampleStackProps } from '../examples/example-stack';

/** The CloudFormation template of the example app, synthesized in-process (no AWS account, no cdk.out). */
export function exampleStackTemplate(props: ExampleStackProps = {}): Template {
  const stack = new ExampleStack(new App(), 'Example', props);
  return AssertionsTemplate.fromStack(stack).toJSON() as Template;
}
