import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { KMSClient } from '@aws-sdk/client-kms';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { startKmsStub, type KmsStub } from './aws-stubs';
import { awsTestEnvironment, loadBundledHandler, setEnvironment, type DelegationHandler } from './handler-harness';
import { handleCertificateEvent } from '../../lambda/certificate';
import { logicalIdsOfType, resolveIntrinsics, resolvedProperties, type DeploymentValues, type Template } from '../../local/cloudformation';
import { loadIamSimulate, rolePolicies, type PolicyDocument } from '../../local/iam-decisions';
import { loadFromTemplate, type LoopbackSts } from '../../local/sts-server';
import { delegationFunctionIds, handlerEnvironmentFromTemplate } from '../../local/test-bed';
import { DelegationEnv, type IssuerConfig } from '../../src/contract/delegation-environment';
import { SIGNING_CERTIFICATE_RESOURCE_TYPE } from '../../src/private/signing-certificate-provider';

/**
 * Replays a sequence of synthesized templates of one stack on loopback, as successive CloudFormation
 * updates: KMS keys are created in a loopback KMS and kept when they leave the template (as a retained
 * key is), certificates are made by the certificate function's own code through that KMS on create and
 * on a change of properties, the SAML provider's metadata is replaced in the loopback STS, and the
 * delegation handler is restarted (a new container) when its configuration changes.
 *
 * The handler role's permissions of a deployment apply only after the handler has signed a few times
 * with the permissions from before it: IAM applies policy changes only eventually, so a step must not
 * rely on a permission granted in the same deployment. KMS decides every call, the certificate
 * provider's included, by the IAM policy simulator on the caller's policies and the key policy.
 */

/** The access key ids the two callers of KMS sign with, so the loopback KMS can tell them apart. */
const HANDLER_ACCESS_KEY_ID = 'AKIAREPLAYHANDLER000';
const CERTIFICATE_ACCESS_KEY_ID = 'AKIAREPLAYCERTIFICAT';

export interface ReplayedContainer {
  /** The step whose template configured it. */
  readonly step: number;
  /** The KMS key it signs with. */
  readonly keyArn: string;
  readonly handler: DelegationHandler;
}

export interface StackReplay {
  readonly kms: KmsStub;
  /** Every handler container started so far; the last one serves new requests. */
  readonly containers: readonly ReplayedContainer[];
  /** The container that serves new requests. */
  readonly current: ReplayedContainer;
  /** The certificate (base64 DER) made for each certificate resource that exists now, by logical id. */
  readonly certificates: ReadonlyMap<string, string>;
  /** Applies the next template as an update of the stack; resolves when the update is complete. */
  deploy(template: Template): Promise<void>;
  /**
   * A container configured by `template` against what is deployed now, without deploying it: one that
   * starts early, as while a deployment rolls out. Certificates it needs must exist already.
   */
  containerFor(template: Template): ReplayedContainer;
  /**
   * A container of the current configuration that signs with `keyArn`'s private key itself, without
   * asking KMS: it shows whether STS accepts that key's signatures now, whatever IAM lets the handler do.
   */
  containerSigningWith(keyArn: string): ReplayedContainer;
  /** The key ARNs whose certificates the SAML provider publishes now. */
  publishedKeyArns(): string[];
  close(): Promise<void>;
}

export interface StackReplayOptions {
  readonly sts: LoopbackSts;
  /** The local issuer that replaces the template's (one issuer). */
  readonly issuer: { readonly issuer: string; readonly jwksUri: string; readonly audience: string };
}

/** A role's ARN and its identity policies, resolved from a template. */
interface RolePermissions {
  readonly arn: string;
  readonly policies: PolicyDocument[];
}

/**
 * The handler's `Sign` calls after a deployment that still see the role's permissions from before
 * it: IAM applies policy changes only eventually, so code a deployment starts may run before them.
 */
const PERMISSION_LAG_SIGNS = 5;

/** Whether a role may use a key, by its identity policies and the key policy, as the IAM policy simulator decides. */
async function mayUse(role: RolePermissions, action: 'kms:Sign' | 'kms:GetPublicKey', keyArn: string, keyPolicy: unknown): Promise<boolean> {
  const result = await loadIamSimulate().runSimulation({
    request: {
      // The function runs as a session of its role; the key policy names the role (aws:PrincipalArn).
      principal: role.arn.replace(/^arn:aws:iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/, 'arn:aws:sts::$1:assumed-role/$2/DelegationHandler'),
      action,
      resource: { resource: keyArn, accountId: '123456789012' },
      contextVariables: { 'kms:SigningAlgorithm': 'RSASSA_PKCS1_V1_5_SHA_256', 'aws:PrincipalArn': role.arn },
    },
    identityPolicies: role.policies.map((policy, index) => ({ name: `policy${index}`, policy })),
    resourcePolicy: keyPolicy,
    serviceControlPolicies: [],
    resourceControlPolicies: [],
  }, {});
  if (result.resultType === 'error') {
    throw new Error(`kms:Sign simulation failed: ${JSON.stringify(result.errors)}`);
  }
  return result.overallResult === 'Allowed';
}

function rolePermissions(template: Template, roleId: string): RolePermissions {
  return { arn: String(resolveIntrinsics(template, { 'Fn::GetAtt': [roleId, 'Arn'] })), policies: rolePolicies(template, roleId) };
}

export async function startStackReplay(options: StackReplayOptions): Promise<StackReplay> {
  const keys = new Map<string, KeyObject>();
  let handlerRole: RolePermissions = { arn: '', policies: [] };
  let nextHandlerRole: RolePermissions | undefined;
  let signsSinceDeploy = 0;
  let certificateRole: RolePermissions = { arn: '', policies: [] };
  // A key that leaves the template is retained by KMS with the key policy it had last.
  const keyPolicies = new Map<string, unknown>();
  const kms = await startKmsStub({
    keys,
    authorize: async (operation, keyArn, caller) => {
      if (caller === CERTIFICATE_ACCESS_KEY_ID) {
        return mayUse(certificateRole, `kms:${operation}`, keyArn, keyPolicies.get(keyArn));
      }
      if (caller !== HANDLER_ACCESS_KEY_ID || operation !== 'Sign') return false;
      if (nextHandlerRole && ++signsSinceDeploy > PERMISSION_LAG_SIGNS) {
        handlerRole = nextHandlerRole;
        nextHandlerRole = undefined;
      }
      return mayUse(handlerRole, 'kms:Sign', keyArn, keyPolicies.get(keyArn));
    },
  });
  const certificateKms = new KMSClient({
    endpoint: kms.endpoint,
    region: 'eu-west-1',
    credentials: { accessKeyId: CERTIFICATE_ACCESS_KEY_ID, secretAccessKey: 'certificate-provider-test-secret' },
    maxAttempts: 1,
  });
  // The SDK reads region, endpoints and credentials when a call is made, so they stay set while the replay runs.
  const restoreEnvironment = setEnvironment(awsTestEnvironment(
    { sts: options.sts.endpoint, kms: kms.endpoint },
    { accessKeyId: HANDLER_ACCESS_KEY_ID, secretAccessKey: 'delegation-handler-test-secret' },
  ));
  const certificates = new Map<string, { properties: string; physicalId: string; base64: string }>();
  const retiredCertificates: Array<{ properties: string; base64: string }> = [];
  const containers: ReplayedContainer[] = [];
  let currentEnvironment = '';
  let published: string[] = [];
  let step = -1;

  async function makeCertificates(template: Template): Promise<DeploymentValues> {
    const ids = logicalIdsOfType(template, SIGNING_CERTIFICATE_RESOURCE_TYPE);
    for (const logicalId of ids) {
      const properties = resolvedProperties(template, logicalId);
      const text = JSON.stringify(properties);
      const existing = certificates.get(logicalId);
      if (existing?.properties === text) continue;
      const event = {
        RequestType: existing ? 'Update' : 'Create',
        ResourceProperties: properties,
        ...(existing ? { PhysicalResourceId: existing.physicalId, OldResourceProperties: JSON.parse(existing.properties) } : {}),
      } as unknown as CloudFormationCustomResourceEvent;
      const made = await handleCertificateEvent(event, () => certificateKms);
      certificates.set(logicalId, { properties: text, physicalId: made.PhysicalResourceId, base64: made.Data!.CertificateBase64 });
    }
    for (const logicalId of [...certificates.keys()]) {
      // A deleted certificate resource leaves nothing behind (its Delete does nothing).
      if (!ids.includes(logicalId)) {
        retiredCertificates.push(certificates.get(logicalId)!);
        certificates.delete(logicalId);
      }
    }
    return { resources: Object.fromEntries([...certificates].map(([id, made]) => [id, { CertificateBase64: made.base64 }])) };
  }

  function handlerEnvironment(template: Template, functionId: string, deployment: DeploymentValues): Record<string, string | undefined> {
    const deployed = handlerEnvironmentFromTemplate(template, deployment, functionId);
    const issuers = JSON.parse(deployed[DelegationEnv.ISSUERS]) as IssuerConfig[];
    return {
      ...deployed,
      [DelegationEnv.ISSUERS]: JSON.stringify([{ ...issuers[0], issuer: options.issuer.issuer, jwksUri: options.issuer.jwksUri, audiences: [options.issuer.audience], namespace: '' }]),
    };
  }

  async function deploy(template: Template): Promise<void> {
    step += 1;
    for (const logicalId of logicalIdsOfType(template, 'AWS::KMS::Key')) {
      const arn = String(resolveIntrinsics(template, { 'Fn::GetAtt': [logicalId, 'Arn'] }));
      if (!keys.has(arn)) {
        keys.set(arn, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey);
      }
    }
    const [certificateFunction] = logicalIdsOfType(template, 'AWS::Lambda::Function')
      .filter((id) => (template.Resources[id].Properties as { Handler?: string }).Handler === 'index.onEvent');
    const certificateRoleId = (template.Resources[certificateFunction].Properties as { Role: { 'Fn::GetAtt': [string, string] } }).Role['Fn::GetAtt'][0];
    // The certificates wait for their provider role's policy (the custom resources depend on it).
    certificateRole = rolePermissions(template, certificateRoleId);
    for (const keyId of logicalIdsOfType(template, 'AWS::KMS::Key')) {
      keyPolicies.set(String(resolveIntrinsics(template, { 'Fn::GetAtt': [keyId, 'Arn'] })), resolvedProperties(template, keyId).KeyPolicy);
    }
    const deployment = await makeCertificates(template);
    // The SAML provider depends on the certificates, and the function on the provider.
    const loaded = await loadFromTemplate(options.sts, template, { deployment });
    const [providerArn] = loaded.providers.map((provider) => provider.arn);
    published = options.sts.providers.get(providerArn)!.certificates.map((certificate) => {
      const made = [...certificates.values()].find((entry) => entry.base64 === certificate);
      return made ? String(JSON.parse(made.properties).KeyArn) : 'unknown';
    });

    const [functionId] = delegationFunctionIds(template);
    const environment = handlerEnvironment(template, functionId, deployment);
    if (JSON.stringify(environment) !== currentEnvironment) {
      currentEnvironment = JSON.stringify(environment);
      containers.push({ step, keyArn: environment[DelegationEnv.KMS_KEY_ARN]!, handler: loadBundledHandler(environment) });
    }
    const roleId = (template.Resources[functionId].Properties as { Role: { 'Fn::GetAtt': [string, string] } }).Role['Fn::GetAtt'][0];
    const permissions = rolePermissions(template, roleId);
    // The first deployment's permissions are there before any request; later ones arrive late.
    if (step === 0) {
      handlerRole = permissions;
    } else {
      nextHandlerRole = permissions;
      signsSinceDeploy = 0;
    }
  }

  return {
    kms,
    containers,
    get current() {
      return containers[containers.length - 1];
    },
    deploy,
    get certificates() {
      return new Map([...certificates].map(([id, made]) => [id, made.base64]));
    },
    publishedKeyArns: () => [...published],
    containerSigningWith: (keyArn) => {
      const key = keys.get(keyArn);
      const certificate = [...certificates.values(), ...retiredCertificates].find((made) => JSON.parse(made.properties).KeyArn === keyArn);
      if (!key || !certificate) throw new Error(`No key or certificate was made for ${keyArn}`);
      const environment = {
        ...JSON.parse(currentEnvironment) as Record<string, string>,
        [DelegationEnv.SIGNER]: 'pem',
        [DelegationEnv.SIGNING_KEY_PEM]: key.export({ type: 'pkcs8', format: 'pem' }).toString(),
        [DelegationEnv.KMS_KEY_ARN]: undefined,
        [DelegationEnv.SIGNING_CERTIFICATE]: certificate.base64,
      };
      return { step, keyArn, handler: loadBundledHandler(environment) };
    },
    containerFor: (template) => {
      const deployment = { resources: Object.fromEntries([...certificates].map(([id, made]) => [id, { CertificateBase64: made.base64 }])) };
      const environment = handlerEnvironment(template, delegationFunctionIds(template)[0], deployment);
      return { step, keyArn: environment[DelegationEnv.KMS_KEY_ARN]!, handler: loadBundledHandler(environment) };
    },
    close: async () => {
      restoreEnvironment();
      certificateKms.destroy();
      await kms.close();
    },
  };
}
