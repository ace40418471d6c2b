import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { JwtIssuer } from '../../src';

/** A stack in a fixed environment, so ARNs and the region are concrete where CDK allows. */
export function testStack(): Stack {
  return new Stack(new App(), 'TestStack', { env: { account: '123456789012', region: 'eu-west-1' } });
}

/** The Auth0-like issuer used by the construct tests. */
export function auth0Issuer(): JwtIssuer {
  return JwtIssuer.oidc({ issuerUrl: 'https://tenant.eu.auth0.com/', audiences: ['CLIENT_ID'] });
}

/** The one resource of `type` in the template, with its logical id. */
export function onlyResource(template: Template, type: string): { id: string; properties: any; resource: any } {
  const resources = template.findResources(type);
  const ids = Object.keys(resources);
  if (ids.length !== 1) {
    throw new Error(`Expected exactly one ${type}, found ${ids.length}`);
  }
  return { id: ids[0], properties: resources[ids[0]].Properties, resource: resources[ids[0]] };
}
