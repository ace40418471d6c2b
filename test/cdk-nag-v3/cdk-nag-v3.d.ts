// cdk-nag 3 is installed apart from the repository's tree (scripts/cdk-nag-v3-tree.sh) and mapped to
// this name by test/cdk-nag-v3/jest.config.js; the part of its API the test uses:
declare module 'cdk-nag-v3' {
  import type { IConstruct } from 'constructs';

  export class AwsSolutionsChecks {
    constructor(scope?: IConstruct, props?: { readonly verbose?: boolean });
    validateScope(scope: IConstruct): {
      readonly success: boolean;
      readonly violations: Array<{ readonly ruleName: string; readonly violatingResources: Array<{ readonly constructPath: string }> }>;
    };
  }
}
