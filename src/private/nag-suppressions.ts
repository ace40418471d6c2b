import * as cdk from 'aws-cdk-lib';
import { CfnResource, Stack } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/** A cdk-nag finding this library accepts by design, with the reason a reviewer reads. */
export interface AcceptedFinding {
  readonly id: string;
  readonly reason: string;
  /** Restricts the acceptance to matching findings, e.g. `{ regex: '/^Resource::.*$/' }`. */
  readonly appliesTo?: Array<string | { regex: string }>;
}

/** aws-cdk-lib's `Validations` (2.257 and newer), through which cdk-nag 3 reads acknowledgements. */
interface ValidationsApi {
  of(scope: IConstruct): { acknowledge(...rules: Array<{ id: string; reason: string }>): void };
}

/**
 * Records findings that are inherent to this library's design, so that users running cdk-nag see them
 * with reasons rather than as errors, without this library depending on cdk-nag. Nothing changes for
 * users who do not run it.
 *
 * - cdk-nag 2 reads the `cdk_nag` metadata of the CloudFormation resource (`rules_to_suppress`).
 * - cdk-nag 3 reads acknowledgements made with aws-cdk-lib's `Validations.of(...).acknowledge()`
 *   (aws-cdk-lib 2.257 and newer; on older versions cdk-nag 3 cannot run, and nothing is recorded). It
 *   matches exact finding ids, `RuleId[Finding]`, and knows no patterns: a finding restricted by a regular
 *   expression is acknowledged, during synthesis, for each finding of this resource the pattern matches.
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
  acknowledgeForValidations(resource, findings);
}

function validationsApi(): ValidationsApi | undefined {
  const validations = (cdk as unknown as { Validations?: Partial<ValidationsApi> }).Validations;
  return typeof validations?.of === 'function' ? validations as ValidationsApi : undefined;
}

function acknowledgeForValidations(resource: CfnResource, findings: AcceptedFinding[]): void {
  const validations = validationsApi();
  if (!validations) {
    return;
  }
  const exact: Array<{ id: string; reason: string }> = [];
  const patterns: Array<{ id: string; reason: string; pattern: RegExp }> = [];
  for (const finding of findings) {
    if (!finding.appliesTo) {
      exact.push({ id: finding.id, reason: finding.reason });
      continue;
    }
    for (const entry of finding.appliesTo) {
      if (typeof entry === 'string') {
        exact.push({ id: `${finding.id}[${entry}]`, reason: finding.reason });
      } else {
        patterns.push({ id: finding.id, reason: finding.reason, pattern: regexOf(entry.regex) });
      }
    }
  }
  if (exact.length > 0) {
    acknowledgeEach(validations, resource, exact);
  }
  if (patterns.length > 0) {
    // The finding ids name logical ids and resolved ARNs: known only once the tree is complete, which
    // validation (after aspects, before the validation plugins run) guarantees.
    resource.node.addValidation({
      validate: () => {
        const acknowledged = patterns.flatMap(({ id, reason, pattern }) => findingCandidates(resource)
          .filter((candidate) => pattern.test(candidate))
          .map((candidate) => ({ id: `${id}[${candidate}]`, reason })));
        if (acknowledged.length > 0) {
          acknowledgeEach(validations, resource, acknowledged);
        }
        return [];
      },
    });
  }
}

/**
 * Acknowledges each id on its own. aws-cdk-lib before 2.262.1 refuses ids holding '::' (its prefix
 * separator), which granular findings such as `AwsSolutions-IAM4[Policy::arn:…]` do; there cdk-nag 3
 * cannot match such a finding at all, so those are skipped without asking. Asking would not do: the
 * refusal is an aws-cdk-lib error, and making one writes its code to the CLI's `cdk.out/error.txt`
 * even when it is caught, which leaves a successful synthesis looking failed.
 */
function acknowledgeEach(validations: ValidationsApi, resource: CfnResource, rules: Array<{ id: string; reason: string }>): void {
  const separatorAllowed = acceptsSeparatorInIds(validations);
  for (const rule of rules) {
    if (rule.id.includes('::') && !separatorAllowed) continue;
    try {
      validations.of(resource).acknowledge(rule);
    } catch (error) {
      if (!rule.id.includes('::')) throw error;
    }
  }
}

/** Whether this aws-cdk-lib's `Validations` takes ids holding '::' inside brackets (2.262.1 and newer). */
function acceptsSeparatorInIds(validations: ValidationsApi): boolean {
  const version = (validations as unknown as Record<symbol, { version?: unknown } | undefined>)[Symbol.for('jsii.rtti')]?.version;
  const [major, minor, patch] = typeof version === 'string' ? version.split('.').map((part) => parseInt(part, 10)) : [];
  if (major === undefined || Number.isNaN(major)) return false;
  return major > 2 || (major === 2 && (minor > 262 || (minor === 262 && patch >= 1)));
}

/** cdk-nag 2's pattern form, `/source/flags`. */
function regexOf(text: string): RegExp {
  const match = /^\/(.*)\/([a-z]*)$/s.exec(text);
  return match ? new RegExp(match[1], match[2]) : new RegExp(text);
}

/**
 * What cdk-nag names the findings of an IAM resource by: `Action::…` and `Resource::…` of its policy
 * statements and `Policy::…` of its managed policies, with references flattened the way cdk-nag does
 * (`<LogicalId.Arn>`, `<AWS::Partition>`, joins concatenated).
 */
function findingCandidates(resource: CfnResource): string[] {
  const rendered = Stack.of(resource).resolve((resource as unknown as { _toCloudFormation(): unknown })._toCloudFormation()) as
    { Resources?: Record<string, { Properties?: Record<string, unknown> }> };
  const properties = Object.values(rendered.Resources ?? {})[0]?.Properties ?? {};
  const candidates = new Set<string>();
  for (const policy of [properties.ManagedPolicyArns].flat()) {
    if (policy !== undefined) candidates.add(`Policy::${flatten(policy)}`);
  }
  const inlinePolicies = [properties.Policies].flat() as Array<{ PolicyDocument?: unknown } | undefined>;
  const documents = [properties.PolicyDocument, ...inlinePolicies.map((policy) => policy?.PolicyDocument)];
  for (const document of documents) {
    const statements = [(document as { Statement?: unknown } | undefined)?.Statement].flat() as Array<Record<string, unknown> | undefined>;
    for (const statement of statements) {
      for (const action of [statement?.Action].flat()) {
        if (action !== undefined) candidates.add(`Action::${flatten(action)}`);
      }
      for (const target of [statement?.Resource].flat()) {
        if (target !== undefined) candidates.add(`Resource::${flatten(target)}`);
      }
    }
  }
  return [...candidates];
}

function flatten(node: unknown): string {
  if (node === undefined) return '';
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/\}/g, '>');
  const value = node as Record<string, unknown>;
  if (value['Fn::Join']) {
    const [delimiter, items] = value['Fn::Join'] as [string, unknown[]];
    return items.map(flatten).join(delimiter);
  }
  if (value['Fn::Sub']) return flatten(value['Fn::Sub']);
  if (value['Fn::GetAtt']) {
    const [logicalId, attribute] = value['Fn::GetAtt'] as [unknown, unknown];
    return `<${flatten(logicalId)}.${flatten(attribute)}>`;
  }
  if (value['Fn::ImportValue']) return flatten(value['Fn::ImportValue']);
  if (value.Ref) return `<${flatten(value.Ref)}>`;
  return JSON.stringify(node);
}
