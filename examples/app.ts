import { App, Aspects } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ExampleStack } from './example-stack';

const app = new App();
new ExampleStack(app, 'TokenDelegationExample', {
  issuerUrl: app.node.tryGetContext('issuerUrl'),
  clientId: app.node.tryGetContext('clientId'),
  appOrigin: app.node.tryGetContext('appOrigin'),
});
Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
app.synth();
