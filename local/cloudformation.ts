/**
 * Resolves the intrinsic functions of a synthesized CloudFormation template the way a deployment
 * would, with made-up physical ids, so that tests and the local test bed can use the exact policies
 * and settings CDK synthesized.
 */

/** A synthesized template (the parts read here). */
export interface Template {
  readonly Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
  readonly Mappings?: Record<string, Record<string, Record<string, unknown>>>;
}

/** Values that only a deployment would know. */
export interface DeploymentValues {
  readonly accountId?: string;
  readonly region?: string;
  /** Values of `Ref` and `Fn::GetAtt` for logical ids, e.g. `{ Bucket: { Ref: 'my-bucket', Arn: 'arn:…' } }`. */
  readonly resources?: Record<string, Record<string, string>>;
  /**
   * Values of `Fn::ImportValue` by export name (what other stacks of the app export).
   * @default - an import resolves to a stand-in made from the export's name
   */
  readonly imports?: Record<string, string>;
  /**
   * Values of `Fn::GetStackOutput` (a weak cross-stack reference) by `<stack name>/<output logical id>`.
   * @default - an output resolves to a stand-in made from its name
   */
  readonly stackOutputs?: Record<string, string>;
}

const PSEUDO: Record<string, (v: Required<Pick<DeploymentValues, 'accountId' | 'region'>>) => string> = {
  'AWS::AccountId': (v) => v.accountId,
  'AWS::Region': (v) => v.region,
  'AWS::Partition': () => 'aws',
  'AWS::URLSuffix': () => 'amazonaws.com',
  'AWS::StackName': () => 'LocalStack',
  'AWS::NoValue': () => '',
};

/**
 * Resolves `Ref`, `Fn::GetAtt`, `Fn::Join`, `Fn::Select`, `Fn::Split`, `Fn::Sub` (simple forms),
 * `Fn::FindInMap`, `Fn::ImportValue` and `Fn::GetStackOutput` in `value`. Resources the template names keep
 * their names.
 */
export function resolveIntrinsics(template: Template, value: unknown, values: DeploymentValues = {}): unknown {
  const deployment = { accountId: values.accountId ?? '123456789012', region: values.region ?? 'us-east-1' };
  const physical = (logicalId: string, attribute: string): string => {
    const given = values.resources?.[logicalId]?.[attribute];
    if (given !== undefined) return given;
    const resource = template.Resources[logicalId];
    if (!resource) throw new Error(`Unknown logical id ${logicalId}`);
    return namedPhysicalValue(resource, attribute, deployment, resolve) ?? defaultPhysicalValue(logicalId, resource.Type, attribute, deployment);
  };
  const resolve = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(resolve);
    if (node === null || typeof node !== 'object') return node;
    const entries = Object.entries(node as Record<string, unknown>);
    if (entries.length === 1) {
      const [fn, arg] = entries[0];
      switch (fn) {
        case 'Ref': {
          const name = arg as string;
          return PSEUDO[name] ? PSEUDO[name](deployment) : physical(name, 'Ref');
        }
        case 'Fn::GetAtt': {
          const [logicalId, attribute] = Array.isArray(arg) ? arg as string[] : (arg as string).split('.');
          return physical(logicalId, attribute);
        }
        case 'Fn::Join': {
          const [separator, parts] = arg as [string, unknown[]];
          return (resolve(parts) as unknown[]).join(separator);
        }
        case 'Fn::Select': {
          const [index, list] = arg as [number, unknown];
          return (resolve(list) as unknown[])[Number(index)];
        }
        case 'Fn::Split': {
          const [separator, text] = arg as [string, unknown];
          return (resolve(text) as string).split(separator);
        }
        case 'Fn::ImportValue': {
          const name = String(resolve(arg));
          return values.imports?.[name] ?? importStandIn(name);
        }
        case 'Fn::GetStackOutput': {
          const { StackName: stackName, OutputName: outputName } = resolve(arg) as { StackName?: unknown; OutputName?: unknown };
          return values.stackOutputs?.[`${String(stackName)}/${String(outputName)}`] ?? importStandIn(`${String(stackName)}-${String(outputName)}`);
        }
        case 'Fn::FindInMap': {
          const [mapName, topKey, secondKey] = resolve(arg) as [string, string, string];
          const found = template.Mappings?.[mapName]?.[topKey]?.[secondKey];
          if (found === undefined) throw new Error(`Fn::FindInMap: no ${mapName}.${topKey}.${secondKey} in the template's Mappings`);
          return found;
        }
        case 'Fn::Sub': {
          const [text, variables] = typeof arg === 'string' ? [arg, {}] : arg as [string, Record<string, unknown>];
          return text.replace(/\$\{([^}!]+)\}/g, (_, name: string) => {
            if (name in variables) return String(resolve(variables[name]));
            if (PSEUDO[name]) return PSEUDO[name](deployment);
            const [logicalId, attribute] = name.split('.');
            return physical(logicalId, attribute ?? 'Ref');
          });
        }
        default:
          break;
      }
    }
    return Object.fromEntries(entries.map(([key, child]) => [key, resolve(child)]));
  };
  return resolve(value);
}

/** The properties of the single resource of `type` (or of `logicalId`), resolved. */
export function resolvedProperties(
  template: Template,
  logicalId: string,
  values: DeploymentValues = {},
): Record<string, any> {
  const resource = template.Resources[logicalId];
  if (!resource) throw new Error(`Unknown logical id ${logicalId}`);
  return resolveIntrinsics(template, resource.Properties ?? {}, values) as Record<string, any>;
}

/** Logical ids of every resource of a type. */
export function logicalIdsOfType(template: Template, type: string): string[] {
  return Object.entries(template.Resources).filter(([, r]) => r.Type === type).map(([id]) => id);
}

function kmsKeyId(logicalId: string): string {
  return `${logicalId.toLowerCase().replace(/[^a-z0-9]/g, '').padStart(8, '0').slice(-8)}-0000-4000-8000-000000000000`;
}

/** A stand-in for a value another stack exports, shaped so that it also serves as a bucket or table name. */
function importStandIn(exportName: string): string {
  return `imported-${exportName.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '')}`.slice(0, 63).replace(/-$/, '');
}

/**
 * The physical name or ARN of a resource whose template names it (`BucketName`, `RoleName` with `Path`,
 * `TableName`, `FunctionName`), as the deployed resource would have it; undefined when it has no name.
 */
function namedPhysicalValue(
  resource: { Type: string; Properties?: Record<string, unknown> },
  attribute: string,
  { accountId, region }: { accountId: string; region: string },
  resolve: (node: unknown) => unknown,
): string | undefined {
  const property = ({
    'AWS::S3::Bucket': 'BucketName',
    'AWS::IAM::Role': 'RoleName',
    'AWS::DynamoDB::Table': 'TableName',
    'AWS::Lambda::Function': 'FunctionName',
  } as Record<string, string>)[resource.Type];
  const name = property === undefined ? undefined : resolve(resource.Properties?.[property]);
  if (typeof name !== 'string' || name === '') return undefined;
  switch (`${resource.Type}|${attribute}`) {
    case 'AWS::S3::Bucket|Ref': return name;
    case 'AWS::S3::Bucket|Arn': return `arn:aws:s3:::${name}`;
    case 'AWS::IAM::Role|Ref': return name;
    case 'AWS::IAM::Role|Arn': {
      const path = resolve(resource.Properties?.Path);
      return `arn:aws:iam::${accountId}:role${typeof path === 'string' ? path : '/'}${name}`;
    }
    case 'AWS::DynamoDB::Table|Ref': return name;
    case 'AWS::DynamoDB::Table|Arn': return `arn:aws:dynamodb:${region}:${accountId}:table/${name}`;
    case 'AWS::Lambda::Function|Ref': return name;
    case 'AWS::Lambda::Function|Arn': return `arn:aws:lambda:${region}:${accountId}:function:${name}`;
    default: return undefined;
  }
}

function defaultPhysicalValue(
  logicalId: string,
  type: string,
  attribute: string,
  { accountId, region }: { accountId: string; region: string },
): string {
  const name = logicalId.toLowerCase().slice(0, 40);
  switch (`${type}|${attribute}`) {
    case 'AWS::S3::Bucket|Ref': return name;
    case 'AWS::S3::Bucket|Arn': return `arn:aws:s3:::${name}`;
    case 'AWS::IAM::Role|Ref': return logicalId;
    case 'AWS::IAM::Role|Arn': return `arn:aws:iam::${accountId}:role/${logicalId}`;
    case 'AWS::IAM::SAMLProvider|Ref': return `arn:aws:iam::${accountId}:saml-provider/${logicalId}`;
    // The end of a CDK logical id is its hash, which tells keys with a common path prefix apart.
    case 'AWS::KMS::Key|Ref': return kmsKeyId(logicalId);
    case 'AWS::KMS::Key|Arn': return `arn:aws:kms:${region}:${accountId}:key/${kmsKeyId(logicalId)}`;
    case 'AWS::DynamoDB::Table|Ref': return logicalId;
    case 'AWS::DynamoDB::Table|Arn': return `arn:aws:dynamodb:${region}:${accountId}:table/${logicalId}`;
    case 'AWS::ApiGateway::RestApi|Ref': return name.replace(/[^a-z0-9]/g, '').slice(0, 10);
    case 'AWS::Lambda::Function|Ref': return logicalId;
    case 'AWS::Lambda::Function|Arn': return `arn:aws:lambda:${region}:${accountId}:function:${logicalId}`;
    // Shaped like Cognito's own ids, so a user pool client's id reads as a client id in the local command.
    case 'AWS::Cognito::UserPool|Ref': return `${region}_${logicalId.replace(/[^A-Za-z0-9]/g, '').padEnd(9, '0').slice(0, 9)}`;
    case 'AWS::Cognito::UserPoolClient|Ref': return logicalId.toLowerCase().replace(/[^a-z0-9]/g, '').padEnd(26, '0').slice(0, 26);
    case 'AWS::Logs::LogGroup|Ref': return `/aws/${logicalId}`;
    case 'AWS::Logs::LogGroup|Arn': return `arn:aws:logs:${region}:${accountId}:log-group:/aws/${logicalId}:*`;
    default: return `${logicalId}.${attribute}`;
  }
}
