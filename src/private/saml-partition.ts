import { Aws, CfnMapping, Stack, Token } from 'aws-cdk-lib';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import { IConstruct } from 'constructs';
import { SAML_SERVICE_PROVIDERS } from '../contract/delegation-environment';
import { SamlPartition } from '../contract/saml-constants';

/** The Recipient and the AWS Audience of assertions for the stack of `scope`; tokens when the partition is known only at deploy time. */
export interface PartitionSamlEndpoints {
  readonly recipient: string;
  readonly audience: string;
}

const MAPPING_ID = 'TokenDelegationSamlEndpoints';

/**
 * The SAML endpoints of the partition `scope` deploys to: literal values when the stack's region is
 * concrete and its partition known, otherwise a `Fn::FindInMap` on `AWS::Partition` in a mapping shared
 * by the stack (a deployment to a partition without a SAML endpoint here then fails at deploy).
 */
export function partitionSamlEndpoints(scope: IConstruct): PartitionSamlEndpoints {
  const stack = Stack.of(scope);
  if (!Token.isUnresolved(stack.region)) {
    const partition = RegionInfo.get(stack.region).partition;
    if (partition !== undefined) {
      const known = SAML_SERVICE_PROVIDERS[partition as SamlPartition];
      if (!known) {
        throw new Error(`No AWS SAML sign-in endpoint is known for partition ${partition} (region ${stack.region}): give the recipient explicitly`);
      }
      return known;
    }
  }
  const mapping = (stack.node.tryFindChild(MAPPING_ID) as CfnMapping | undefined) ?? new CfnMapping(stack, MAPPING_ID, {
    mapping: Object.fromEntries(Object.entries(SAML_SERVICE_PROVIDERS).map(([partition, endpoints]) =>
      [partition, { Recipient: endpoints.recipient, Audience: endpoints.audience }])),
  });
  return {
    recipient: mapping.findInMap(Aws.PARTITION, 'Recipient'),
    audience: mapping.findInMap(Aws.PARTITION, 'Audience'),
  };
}
