import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { resolveIntrinsics, type DeploymentValues, type Template } from './cloudformation';

/**
 * What `cdk synth` wrote (a cloud assembly, `cdk.out/`), read for the local command: which stacks it
 * holds, the account and region each was synthesized for, and the values stacks export to each other,
 * so that a template read alone resolves as the deployed stack would.
 */

/** The account that stands in when neither the stack's environment nor its template names one. */
export const STAND_IN_ACCOUNT = '123456789012';
/** The region that stands in when neither the stack's environment nor its template names one. */
export const STAND_IN_REGION = 'us-east-1';

/** One stack of a cloud assembly. */
export interface AssemblyStack {
  /** The stack's name, as `cdk deploy` takes it (its display name for a stack in a stage). */
  readonly name: string;
  /** Its CloudFormation stack name, which other stacks' `Fn::GetStackOutput` names. */
  readonly stackName: string;
  /** Absolute path of its template. */
  readonly templateFile: string;
  /** From the stack's environment, when it names one (`aws://111122223333/eu-west-1`). */
  readonly account?: string;
  readonly region?: string;
}

/** A template chosen by `--template`, with what resolving it needs. */
export interface LocatedTemplate {
  /** The template file that was read (as given, or found in the folder given). */
  readonly file: string;
  readonly template: Template;
  /** The stack's name, when a cloud assembly names it. */
  readonly stackName?: string;
  /** Account, region and what the stack reads from other stacks of the assembly (`Fn::ImportValue`, `Fn::GetStackOutput`). */
  readonly deployment: DeploymentValues;
  /** Whether the account came from the stack itself (its environment or its template) rather than standing in. */
  readonly accountKnown: boolean;
}

interface ManifestArtifact {
  readonly type?: string;
  readonly environment?: string;
  readonly displayName?: string;
  readonly properties?: { readonly templateFile?: string; readonly stackName?: string; readonly directoryName?: string };
}

const ENVIRONMENT = /^aws:\/\/(\d{12}|unknown-account)\/([a-z0-9-]+|unknown-region)$/;
const ACCOUNT_IN_ARN = /arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12}):/g;

function readJson(file: string): unknown {
  return JSON.parse(readFileSync(file, 'utf8'));
}

/** The stacks of the cloud assembly in `directory`, stages (nested assemblies) included. */
export function assemblyStacks(directory: string): AssemblyStack[] {
  const manifestFile = join(directory, 'manifest.json');
  let manifest: { artifacts?: Record<string, ManifestArtifact> };
  try {
    manifest = readJson(manifestFile) as typeof manifest;
  } catch {
    // No manifest: every *.template.json of the folder is a stack named after its file.
    return readdirSync(directory).filter((name) => name.endsWith('.template.json')).sort()
      .map((name) => {
        const stackName = name.slice(0, -'.template.json'.length);
        return { name: stackName, stackName, templateFile: resolve(directory, name) };
      });
  }
  const stacks: AssemblyStack[] = [];
  for (const [id, artifact] of Object.entries(manifest.artifacts ?? {})) {
    if (artifact.type === 'cdk:cloud-assembly' && artifact.properties?.directoryName) {
      stacks.push(...assemblyStacks(join(directory, artifact.properties.directoryName)));
    }
    if (artifact.type !== 'aws:cloudformation:stack' || !artifact.properties?.templateFile) continue;
    const environment = ENVIRONMENT.exec(artifact.environment ?? '');
    stacks.push({
      name: artifact.displayName ?? artifact.properties.stackName ?? id,
      stackName: artifact.properties.stackName ?? id,
      templateFile: resolve(directory, artifact.properties.templateFile),
      account: environment && environment[1] !== 'unknown-account' ? environment[1] : undefined,
      region: environment && environment[2] !== 'unknown-region' ? environment[2] : undefined,
    });
  }
  return stacks;
}

/** The one account literal ARNs of the template name, if they name exactly one. */
export function accountOfTemplate(template: Template): string | undefined {
  // A stack with nothing in it has no Resources at all.
  const accounts = new Set([...JSON.stringify(template.Resources ?? {}).matchAll(ACCOUNT_IN_ARN)].map((match) => match[1]));
  return accounts.size === 1 ? [...accounts][0] : undefined;
}

/**
 * What the assembly's stacks give each other: every export (`Fn::ImportValue`) and every output
 * (`Fn::GetStackOutput`, by `<stack name>/<output>`), resolved in its own stack.
 */
function assemblyOutputs(stacks: readonly AssemblyStack[]): Pick<DeploymentValues, 'imports' | 'stackOutputs'> {
  const exports: Record<string, string> = {};
  const stackOutputs: Record<string, string> = {};
  for (const stack of stacks) {
    let template: Template & { Outputs?: Record<string, { Value?: unknown; Export?: { Name?: unknown } }> };
    try {
      template = readJson(stack.templateFile) as typeof template;
    } catch {
      continue;
    }
    const deployment = { accountId: stack.account ?? accountOfTemplate(template) ?? STAND_IN_ACCOUNT, region: stack.region ?? STAND_IN_REGION };
    for (const [outputId, output] of Object.entries(template.Outputs ?? {})) {
      try {
        const value = resolveIntrinsics(template, output.Value, deployment);
        if (typeof value !== 'string') continue;
        stackOutputs[`${stack.stackName}/${outputId}`] = value;
        const name = output.Export === undefined ? undefined : resolveIntrinsics(template, output.Export.Name, deployment);
        if (typeof name === 'string') exports[name] = value;
      } catch {
        // An output this reader cannot resolve is left out: a stack that reads it gets a stand-in name.
      }
    }
  }
  return { imports: exports, stackOutputs };
}

/** Whether a template holds a delegation function (an `AWS::Lambda::Function` whose environment has DELEGATION_ISSUERS). */
export function hasDelegationFunction(template: Template): boolean {
  return Object.values(template.Resources ?? {}).some((resource) => resource.Type === 'AWS::Lambda::Function'
    && typeof (resource.Properties as { Environment?: { Variables?: unknown } } | undefined)?.Environment?.Variables === 'object'
    && 'DELEGATION_ISSUERS' in ((resource.Properties as { Environment: { Variables: object } }).Environment.Variables));
}

function parseTemplate(file: string, text: string): Template {
  let template: Template;
  try {
    template = JSON.parse(text) as Template;
  } catch {
    throw new Error(`${file} is not JSON: give the synthesized template (cdk.out/<Stack>.template.json) or the cdk.out folder`);
  }
  if (template === null || typeof template !== 'object' || typeof template.Resources !== 'object' || template.Resources === null) {
    throw new Error(`${file} has no Resources: give the synthesized template (cdk.out/<Stack>.template.json) or the cdk.out folder`);
  }
  return template;
}

/**
 * The template `--template` names: a template file, or a cloud assembly folder (`cdk.out`) holding exactly
 * one stack with a delegation endpoint (with several, the message lists them). Throws a message that
 * says what to give instead.
 */
export function locateTemplate(path: string): LocatedTemplate {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch {
    throw new Error(`Cannot read ${path}: run "cdk synth" first (it writes cdk.out/<Stack>.template.json; --template takes that file or the cdk.out folder)`);
  }
  const shown = (file: string) => {
    const relativePath = relative(process.cwd(), file);
    return relativePath.startsWith('..') ? file : relativePath;
  };
  let file = path;
  let stacks: AssemblyStack[];
  if (isDirectory) {
    stacks = assemblyStacks(path);
    const withEndpoint = stacks.filter((stack) => {
      try {
        return hasDelegationFunction(readJson(stack.templateFile) as Template);
      } catch {
        return false;
      }
    });
    if (stacks.length === 0) {
      throw new Error(`${path} holds no synthesized stack: run "cdk synth" first`);
    }
    if (withEndpoint.length === 0) {
      throw new Error(`No stack in ${path} has a delegation endpoint (a TokenDelegation or DelegationEndpoint); its stacks are: ${stacks.map((stack) => stack.name).join(', ')}`);
    }
    if (withEndpoint.length > 1) {
      throw new Error(`${withEndpoint.length} stacks in ${path} have a delegation endpoint; choose one with --template:\n`
        + withEndpoint.map((stack) => `  --template ${shown(stack.templateFile)}    (${stack.name})`).join('\n'));
    }
    file = withEndpoint[0].templateFile;
  } else {
    // A template inside a cloud assembly: the assembly's manifest says which stack it is, and where it goes.
    try {
      stacks = assemblyStacks(dirname(path));
    } catch {
      stacks = [];
    }
  }
  const template = parseTemplate(shown(file), readFileSync(file, 'utf8'));
  const stack = stacks.find((candidate) => candidate.templateFile === resolve(file))
    ?? stacks.find((candidate) => basename(candidate.templateFile) === basename(file));
  const account = stack?.account ?? accountOfTemplate(template);
  return {
    file: shown(file),
    template,
    stackName: stack?.name,
    deployment: {
      accountId: account ?? STAND_IN_ACCOUNT,
      region: stack?.region ?? STAND_IN_REGION,
      ...assemblyOutputs(stacks.filter((other) => other !== stack)),
    },
    accountKnown: account !== undefined,
  };
}
