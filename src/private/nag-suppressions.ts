import { CfnResource } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/** A cdk-nag finding this library accepts by design, with the reason a reviewer reads. */
export interface AcceptedFinding {
  readonly id: string;
  readonly reason: string;
  /** Restricts the acceptance to matching findings, e.g. `{ regex: '/^Resource::.*$/' }`. */
  readonly appliesTo?: Array<string | { regex: string }>;
}

/**
 * Records findings that are inherent to this library's design as cdk-nag suppressions in the
 * resource's metadata (the format cdk-nag reads), so users running cdk-nag see them with reasons
 * without this library depending on cdk-nag. Nothing changes for users who do not run it.
 */
export function acceptNagFindings(construct: IConstruct, findings: AcceptedFinding[]): void {
  const resource = construct instanceof CfnResource ? construct : construct.node.defaultChild;
  if (!(resource instanceof CfnResource)) {
    throw new Error(`No CloudFormation resource under ${construct.node.path} to attach cdk-nag acceptances to`);
  }
  const existing = (resource.getMetadata('cdk_nag')?.rules_to_suppress ?? []) as unknown[];
  resource.addMetadata('cdk_nag', {
    rules_to_suppress: [
      ...existing,
      ...findings.map((finding) => ({
        id: finding.id,
        reason: finding.reason,
        ...(finding.appliesTo ? { applies_to: finding.appliesTo } : {}),
      })),
    ],
  });
}
