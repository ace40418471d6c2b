import { CfnElement, CfnMapping, CfnResource, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { IConstruct } from 'constructs';
import { SIGNING_CERTIFICATE_RESOURCE_TYPE } from './signing-certificate-provider';
import { LAMBDA_ENVIRONMENT_LIMIT_BYTES } from '../contract/delegation-environment';

/**
 * An upper bound of what Lambda measures against its 4 KB limit: the JSON serialization of the
 * function's `Variables` (`{"KEY":"value",…}`, escapes included, in UTF-8 bytes), with every value
 * CloudFormation resolves at deploy time counted at the longest it can become.
 */
export interface EnvironmentSizeEstimate {
  /** Upper bound of the whole serialization, in bytes. */
  readonly bytes: number;
  /** Upper bound of each variable (`"KEY":"value",`), in bytes. */
  readonly variables: Record<string, number>;
  /** Deploy-time values whose length nothing bounds, counted at {@link UNKNOWN_TOKEN_BYTES} each. */
  readonly unboundedTokens: number;
}

/** What a deploy-time value of unknown shape (a parameter, an import) counts for. */
export const UNKNOWN_TOKEN_BYTES = 256;

/**
 * The longest base64 DER of the certificates the signing certificate provider makes (16-byte serial,
 * GeneralizedTime validity, the library's subject and extensions), by key spec. An RSA key's modulus
 * and signature have a fixed length, so the certificates of one key spec differ by a few bytes at most.
 */
export const CERTIFICATE_BASE64_CHARS: Readonly<Record<string, number>> = {
  [kms.KeySpec.RSA_2048]: 1084,
  [kms.KeySpec.RSA_3072]: 1424,
  [kms.KeySpec.RSA_4096]: 1768,
};

// The longest values of the pseudo parameters (aws-us-gov, …) and of the ARNs CloudFormation makes here.
const PSEUDO_PARAMETER_CHARS: Readonly<Record<string, number>> = {
  'AWS::Partition': 10,
  'AWS::Region': 20,
  'AWS::AccountId': 12,
  'AWS::URLSuffix': 20,
  'AWS::StackName': 128,
};
const ARN_HEAD_CHARS = 'arn:aws-us-gov:'.length;
const REGION_ACCOUNT_CHARS = PSEUDO_PARAMETER_CHARS['AWS::Region'] + 1 + 12 + 1;
/** IAM: 64-character role names, 128-character SAML provider names, paths up to 512 characters. */
const MAX_ROLE_NAME_CHARS = 64;
const MAX_ROLE_PATH_CHARS = 512;
const MAX_SAML_PROVIDER_NAME_CHARS = 128;
/** A KMS key id is a UUID (36) or a multi-Region `mrk-` plus 32 hex digits (36). */
const KMS_KEY_ID_CHARS = 36;

/** Estimates the size Lambda will measure for `environment`, an object of (possibly token-valued) strings. */
export function estimateEnvironmentSize(scope: IConstruct, environment: Record<string, string>): EnvironmentSizeEstimate {
  const stack = Stack.of(scope);
  const estimator = new Estimator(stack);
  const variables: Record<string, number> = {};
  let bytes = 2; // the braces
  for (const [key, value] of Object.entries(environment)) {
    // "KEY":"value", — the last comma is one byte too many, which only makes the bound safer.
    variables[key] = jsonStringBytes(key) + 1 + estimator.valueBytes(stack.resolve(value)) + 2 + 1;
    bytes += variables[key];
  }
  return { bytes, variables, unboundedTokens: estimator.unbounded };
}

/**
 * Throws when the estimate exceeds Lambda's limit, naming the largest variables and what makes each
 * of them large, so that the user knows what to cut.
 */
export function assertEnvironmentFits(
  scope: IConstruct, environment: Record<string, string>, advice: Record<string, string>,
): EnvironmentSizeEstimate {
  const estimate = estimateEnvironmentSize(scope, environment);
  if (estimate.bytes > LAMBDA_ENVIRONMENT_LIMIT_BYTES) {
    const largest = Object.entries(estimate.variables)
      .sort(([, a], [, b]) => b - a)
      .slice(0, 4)
      .map(([key, size]) => `${key} ~${size} bytes${advice[key] ? ` (${advice[key]})` : ''}`);
    throw new Error(
      `The delegation handler's configuration would take up to ${estimate.bytes} bytes of environment variables, `
      + `over Lambda's limit of ${LAMBDA_ENVIRONMENT_LIMIT_BYTES} bytes, so the deployment would fail. The largest: ${largest.join('; ')}.`
      + (estimate.unboundedTokens > 0 ? ` ${estimate.unboundedTokens} deploy-time value(s) of unknown length were counted as ${UNKNOWN_TOKEN_BYTES} bytes each.` : ''),
    );
  }
  return estimate;
}

/** The bytes of a string inside a JSON string literal, without the quotes. */
function jsonStringBytes(value: string): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8') - 2;
}

class Estimator {
  public unbounded = 0;
  private elements?: Map<string, CfnElement>;

  constructor(private readonly stack: Stack) {}

  /** Upper bound of the bytes of a resolved value (a string or a CloudFormation intrinsic) inside a JSON string. */
  public valueBytes(value: unknown): number {
    if (typeof value === 'string') {
      return jsonStringBytes(value);
    }
    if (typeof value === 'number' || typeof value === 'boolean') {
      return String(value).length;
    }
    if (Array.isArray(value)) {
      return value.reduce((sum: number, item) => sum + this.valueBytes(item), 0);
    }
    if (typeof value === 'object' && value !== null) {
      const [[name, argument]] = Object.entries(value as Record<string, unknown>);
      switch (name) {
        case 'Fn::Join': {
          const [separator, parts] = argument as [string, unknown[]];
          return parts.reduce((sum: number, part) => sum + this.valueBytes(part), 0) + jsonStringBytes(separator) * Math.max(0, parts.length - 1);
        }
        case 'Ref':
          return this.refBytes(argument as string);
        case 'Fn::GetAtt': {
          const [logicalId, attribute] = (typeof argument === 'string' ? argument.split('.') : argument) as [string, string];
          return this.getAttBytes(logicalId, attribute);
        }
        case 'Fn::FindInMap':
          return this.findInMapBytes(argument as unknown[]);
        default:
          break;
      }
    }
    this.unbounded++;
    return UNKNOWN_TOKEN_BYTES;
  }

  private element(logicalId: string): CfnElement | undefined {
    if (!this.elements) {
      this.elements = new Map();
      for (const construct of this.stack.node.findAll()) {
        if (construct instanceof CfnElement && Stack.of(construct) === this.stack) {
          this.elements.set(this.stack.resolve(construct.logicalId) as string, construct);
        }
      }
    }
    return this.elements.get(logicalId);
  }

  private refBytes(name: string): number {
    const pseudo = PSEUDO_PARAMETER_CHARS[name];
    if (pseudo !== undefined) {
      return pseudo;
    }
    const element = this.element(name);
    if (element instanceof iam.CfnSAMLProvider) {
      return ARN_HEAD_CHARS + 'iam::123456789012:saml-provider/'.length + this.concreteLength(element.name, MAX_SAML_PROVIDER_NAME_CHARS);
    }
    if (element instanceof iam.CfnRole) {
      return this.concreteLength(element.roleName, MAX_ROLE_NAME_CHARS);
    }
    if (element instanceof kms.CfnKey) {
      return KMS_KEY_ID_CHARS;
    }
    this.unbounded++;
    return UNKNOWN_TOKEN_BYTES;
  }

  private getAttBytes(logicalId: string, attribute: string): number {
    const element = this.element(logicalId);
    if (element instanceof iam.CfnRole && attribute === 'Arn') {
      return ARN_HEAD_CHARS + 'iam::123456789012:role'.length
        + this.concreteLength(element.path, MAX_ROLE_PATH_CHARS, 1) + this.concreteLength(element.roleName, MAX_ROLE_NAME_CHARS);
    }
    if (element instanceof kms.CfnKey && attribute === 'Arn') {
      return ARN_HEAD_CHARS + 'kms:'.length + REGION_ACCOUNT_CHARS + 'key/'.length + KMS_KEY_ID_CHARS;
    }
    if (element instanceof CfnResource && element.cfnResourceType === SIGNING_CERTIFICATE_RESOURCE_TYPE && attribute === 'CertificateBase64') {
      return this.certificateBytes(element);
    }
    this.unbounded++;
    return UNKNOWN_TOKEN_BYTES;
  }

  /** The certificate of a key defined in this stack by its key spec; of any other key, as for the largest RSA key. */
  private certificateBytes(certificate: CfnResource): number {
    const keyArn = this.stack.resolve((certificate as unknown as { _cfnProperties: Record<string, unknown> })._cfnProperties.KeyArn);
    const getAtt = typeof keyArn === 'object' && keyArn !== null ? (keyArn as Record<string, unknown>)['Fn::GetAtt'] : undefined;
    const key = Array.isArray(getAtt) ? this.element(String(getAtt[0])) : undefined;
    const spec = key instanceof kms.CfnKey && typeof key.keySpec === 'string' ? key.keySpec : undefined;
    return CERTIFICATE_BASE64_CHARS[spec ?? kms.KeySpec.RSA_4096] ?? CERTIFICATE_BASE64_CHARS[kms.KeySpec.RSA_4096];
  }

  private findInMapBytes([mapName, topKey, secondKey]: unknown[]): number {
    const mapping = typeof mapName === 'string' ? this.element(mapName) : undefined;
    if (mapping instanceof CfnMapping && typeof secondKey === 'string') {
      const values = mappingValues(mapping)
        .filter(([top]) => typeof topKey !== 'string' || top === topKey)
        .map(([, attributes]) => attributes[secondKey])
        .filter((candidate): candidate is string => typeof candidate === 'string');
      if (values.length > 0) {
        return Math.max(...values.map(jsonStringBytes));
      }
    }
    this.unbounded++;
    return UNKNOWN_TOKEN_BYTES;
  }

  private concreteLength(value: string | undefined, maximum: number, fallback?: number): number {
    if (value === undefined) {
      return fallback ?? maximum;
    }
    return Token.isUnresolved(value) ? maximum : value.length;
  }
}

/** The entries of a mapping, read through its template output. */
function mappingValues(mapping: CfnMapping): Array<[string, Record<string, unknown>]> {
  const rendered = Stack.of(mapping).resolve((mapping as unknown as { _toCloudFormation(): Record<string, unknown> })._toCloudFormation()) as
    { Mappings?: Record<string, Record<string, Record<string, unknown>>> };
  const body = Object.values(rendered.Mappings ?? {})[0] ?? {};
  return Object.entries(body);
}
