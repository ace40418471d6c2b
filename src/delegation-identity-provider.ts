import { Annotations, CustomResource, Duration, Lazy, Names, RemovalPolicy, Stack, Tags, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct, IConstruct } from 'constructs';
import { JwtIssuer } from './jwt-issuer';
import { BoundIssuer, checkNamespaces } from './private/handler-config';
import { acceptNagFindings } from './private/nag-suppressions';
import { awsSamlAudienceFor, DEFAULT_SAML_RECIPIENT } from './private/saml-constants';
import { MAX_SAML_PROVIDER_KEYS, samlIdpMetadataXml } from './private/saml-metadata';
import { partitionSamlEndpoints } from './private/saml-partition';
import { SIGNING_CERTIFICATE_RESOURCE_TYPE, SigningCertificateProvider } from './private/signing-certificate-provider';
import { assertSigningKeySpec } from './private/signing-key';


/**
 * A SAML identity provider for AWS whose assertions the delegation endpoint signs: one created here
 * ({@link DelegationIdentityProvider}) or one imported by its attributes.
 */
export interface IDelegationIdentityProvider extends IConstruct {
  /** The key that signs assertions. */
  readonly signingKey: kms.IKey;
  /** The IAM SAML provider. */
  readonly samlProvider: iam.ISamlProvider;
  /** The entityID: Issuer of every assertion and `SAML:iss`. */
  readonly entityId: string;
  /** The Recipient of every assertion and `SAML:aud`. */
  readonly recipient: string;
  /** The Audience values of every assertion. */
  readonly audiences: string[];
  /** The signing key's certificate (base64 DER), sent in every signature's `ds:KeyInfo`. */
  readonly signingCertificate: string;
  /**
   * The principal for the trust policy of roles this provider may hand out: `sts:AssumeRoleWithSAML`,
   * `sts:TagSession` and `sts:SetSourceIdentity` for the SAML provider, on condition that `SAML:aud`
   * is the Recipient and `SAML:iss` the entityID.
   */
  assumeRolePrincipal(): iam.IPrincipal;
  /**
   * Lets `grantee`, a role, sign with the signing key (`kms:Sign` with RSASSA_PKCS1_V1_5_SHA_256 only),
   * and with every other key the provider created, as a rotation needs.
   */
  grantSign(grantee: iam.IGrantable): iam.Grant;
}

/** Attributes of a {@link DelegationIdentityProvider} made elsewhere (another app, or by hand), to import it. */
export interface DelegationIdentityProviderAttributes {
  /** ARN of the IAM SAML provider. */
  readonly samlProviderArn: string;
  /** The provider's entityID (the `entityID` of its metadata). */
  readonly entityId: string;
  /** ARN of the KMS key that signs (its certificate is in the provider's metadata). */
  readonly signingKeyArn: string;
  /** The signing key's certificate, base64 DER on one line (the `X509Certificate` text of the metadata). */
  readonly signingCertificate: string;
  /**
   * The Recipient the roles trust as `SAML:aud`.
   * @default - the global sign-in endpoint of the stack's partition
   */
  readonly recipient?: string;
}

/**
 * The signing keys a {@link DelegationIdentityProvider} creates, by label, and the one that signs.
 *
 * Each label names one KMS key and its certificate for as long as the label is listed: every listed
 * key's certificate is published in the provider's metadata, so IAM accepts assertions signed by any of
 * them, and only `activeKey` signs. Rotating is three deployments: add a label, switch `activeKey` to
 * it, remove the old label (see "Key rotation" in the README for what each step changes and how long to
 * wait). A provider made without `keyRotation` has one key, labelled `'1'`.
 */
export interface KeyRotation {
  /**
   * Labels of the keys to create and publish, oldest first: 1 to 10 of them (IAM's limit per SAML
   * provider, counting `additionalPublishedKeys`), each 1 to 20 letters or digits. Removing a label
   * retires its key (no longer published; kept in KMS or deleted per `signingKeyRemovalPolicy`);
   * renaming one replaces its key.
   */
  readonly keys: string[];
  /** Label of the key that signs: one of `keys`. */
  readonly activeKey: string;
}

/** Properties of a {@link DelegationIdentityProvider}. */
export interface DelegationIdentityProviderProps {
  /**
   * The KMS key that signs assertions: an asymmetric RSA key (2048 bits or more) with key usage
   * SIGN_VERIFY. Only its public key leaves KMS.
   *
   * Whoever may call `kms:Sign` with this key can sign an assertion for any user, so its key policy
   * must allow `kms:Sign` only to the delegation handlers and the certificate provider; a key you
   * bring keeps the policy you gave it (synthesis warns; the README shows the statements to use).
   * @default - a new RSA_2048 SIGN_VERIFY key, retained when the stack is deleted, whose key policy
   * lets only the delegation handlers and the certificate provider sign and leaves administration
   * to the account
   */
  readonly signingKey?: kms.IKey;
  /**
   * The keys this provider creates, and which of them signs: how keys created here are rotated.
   * Not with `signingKey` (a key you bring rotates by swapping it with one of `additionalPublishedKeys`).
   * @default - one key, labelled '1'
   */
  readonly keyRotation?: KeyRotation;
  /**
   * Further keys you bring whose certificates are published in the metadata without being used for
   * signing: to rotate a `signingKey` you bring, publish the new key here first, deploy, then swap the
   * two. IAM accepts up to 10 keys per provider. IAM trusts every published key: their key policies
   * must keep `kms:Sign` as narrow as the signing key's.
   * @default - none
   * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_saml.html
   */
  readonly additionalPublishedKeys?: kms.IKey[];
  /**
   * The identity provider's entityID: the `Issuer` of every assertion and the `SAML:iss` the roles trust.
   * @default - `urn:cdk-token-delegation:<account>:<region>:<unique id of this construct>`
   */
  readonly entityId?: string;
  /**
   * The Recipient of the assertions, which AWS exposes as `SAML:aud`: the global sign-in endpoint or
   * a regional one such as `https://eu-west-1.signin.aws.amazon.com/saml`.
   * @default - the global sign-in endpoint of the stack's partition: `https://signin.aws.amazon.com/saml`,
   * `https://signin.amazonaws.cn/saml` (aws-cn) or `https://signin.amazonaws-us-gov.com/saml` (aws-us-gov); chosen
   * at deploy time for an environment-agnostic stack
   * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_saml_relying-party.html
   */
  readonly recipient?: string;
  /**
   * What happens to the signing key created here when it leaves the stack or the stack is destroyed.
   * With `RemovalPolicy.DESTROY` KMS schedules the key's deletion (after its 30-day waiting period);
   * every assertion it signed stops verifying. Ignored when `signingKey` is given.
   * @default RemovalPolicy.RETAIN
   */
  readonly signingKeyRemovalPolicy?: RemovalPolicy;
  /**
   * Name of the IAM SAML provider.
   * @default - a name generated by CloudFormation
   */
  readonly providerName?: string;
  /**
   * How long the self-signed certificates are valid, from when each is made (at the deployment that
   * creates its key). AWS does not document what IAM does once a published certificate has expired, so
   * treat the end of validity as a deadline: rotate to a new key (which gets a new certificate) before
   * it. Changing this value remakes every certificate at the next deployment.
   * @default Duration.days(3650)
   */
  readonly certificateValidity?: Duration;
}

/** The only algorithm assertions and certificates are signed with. */
const SIGNING_ALGORITHM = 'RSASSA_PKCS1_V1_5_SHA_256';

/**
 * What the account may do with a signing key we create: manage it, but neither sign nor create grants
 * (a grant could hand out `kms:Sign`), so IAM policies of the account cannot give anyone the power to sign.
 */
const KEY_ADMINISTRATION_ACTIONS = [
  'kms:CancelKeyDeletion',
  'kms:CreateAlias',
  'kms:DeleteAlias',
  'kms:Describe*',
  'kms:DisableKey',
  'kms:EnableKey',
  'kms:Get*',
  'kms:List*',
  'kms:PutKeyPolicy',
  'kms:RevokeGrant',
  'kms:ScheduleKeyDeletion',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:UpdateAlias',
  'kms:UpdateKeyDescription',
];

/**
 * Tag of every key created here once a role of another stack may sign with them: that role's policy
 * names the keys by this tag instead of referencing each key, so a rotation never removes an export
 * another stack still imports.
 */
const KEY_TAG = 'cdk-token-delegation:identity-provider';

/** A key label becomes part of construct ids and logical ids. */
const KEY_LABEL = /^[A-Za-z0-9]{1,20}$/;
/** The label of the one key a provider without `keyRotation` creates (construct ids `SigningKey`, `SigningCertificate`). */
const FIRST_KEY_LABEL = '1';

const RECIPIENT = /^https:\/\/([a-z0-9-]+\.)?signin\.(aws\.amazon\.com|amazonaws\.cn|amazonaws-us-gov\.com)\/saml$/;

/**
 * A SAML identity provider for AWS whose signing key lives in KMS.
 *
 * Creates (unless given) an RSA KMS key, a certificate for each published key made at deploy time
 * and signed by KMS, the IdP metadata, and the IAM SAML provider that trusts it. Roles trust it
 * through {@link DelegationIdentityProvider.assumeRolePrincipal}.
 */
export class DelegationIdentityProvider extends Construct implements IDelegationIdentityProvider {
  /**
   * Imports an identity provider made elsewhere, e.g. by another app's {@link DelegationIdentityProvider}.
   * Endpoints can use it; its key policy stays where it is, so it must allow `kms:Sign` to their handler
   * roles (see {@link DelegationEndpointOptions.handlerRoleName} and
   * {@link DelegationIdentityProvider.allowSigningBy}), and synthesis warns once per endpoint. Subjects of
   * issuers bound through other apps cannot be checked for collisions here.
   */
  public static fromAttributes(scope: Construct, id: string, attributes: DelegationIdentityProviderAttributes): IDelegationIdentityProvider {
    return new ImportedDelegationIdentityProvider(scope, id, attributes);
  }

  /** The key that signs assertions (with `keyRotation`, the `activeKey`). */
  public readonly signingKey: kms.IKey;
  /** Every key whose certificate the metadata publishes, in the metadata's order; IAM accepts assertions signed by any of them. */
  public readonly publishedKeys: kms.IKey[];
  /** The IAM SAML provider. */
  public readonly samlProvider: iam.ISamlProvider;
  /** The entityID: Issuer of every assertion and `SAML:iss`. */
  public readonly entityId: string;
  /** The Recipient of every assertion and `SAML:aud`. */
  public readonly recipient: string;
  /** The Audience values of every assertion: the entityID of AWS in the stack's partition, and the Recipient. */
  public readonly audiences: string[];
  /**
   * The signing key's certificate (base64 DER, made at deploy time): published in the metadata and sent
   * in every signature's `ds:KeyInfo`.
   */
  public readonly signingCertificate: string;
  /** The IdP metadata document given to IAM (resolved at deploy time). */
  public readonly metadataXml: string;
  /** Whether {@link signingKey} was created here, with a key policy that names its signers. */
  private readonly ownsSigningKey: boolean;
  /** The keys created here, by label. */
  private readonly createdKeys = new Map<string, kms.Key>();
  /** Key ARN and certificate of every created key, exported for stacks that use them. */
  private readonly publishedValues: string[] = [];
  /** Whether roles of other stacks sign with the created keys (then tagged, and their values exported). */
  private sharedAcrossStacks = false;
  /** ARNs of the roles the key policy of our own key lets sign. */
  private readonly signerArns: string[] = [];
  /** Every issuer bound to this provider, through any endpoint. */
  private readonly boundIssuers: BoundIssuer[] = [];

  constructor(scope: Construct, id: string, props: DelegationIdentityProviderProps = {}) {
    super(scope, id);
    const recipient = props.recipient ?? partitionSamlEndpoints(this).recipient;
    if (!Token.isUnresolved(recipient) && !RECIPIENT.test(recipient)) {
      throw new Error(
        `recipient must be an AWS SAML sign-in endpoint such as ${DEFAULT_SAML_RECIPIENT} or https://<region>.signin.aws.amazon.com/saml, got '${recipient}'`,
      );
    }
    if (props.entityId !== undefined && !Token.isUnresolved(props.entityId)) {
      validateEntityId(props.entityId);
    }
    const validity = props.certificateValidity ?? Duration.days(3650);
    if (!validity.isUnresolved() && (validity.toDays({ integral: false }) < 1 || validity.toDays({ integral: false }) > 36500)) {
      throw new Error('certificateValidity must be between 1 day and 100 years');
    }
    const additionalKeys = props.additionalPublishedKeys ?? [];
    if (props.signingKey && props.keyRotation) {
      throw new Error('keyRotation is for keys created here; a signingKey you bring rotates by publishing the new key in additionalPublishedKeys, then swapping the two');
    }
    const rotation = props.keyRotation ?? { keys: [FIRST_KEY_LABEL], activeKey: FIRST_KEY_LABEL };
    if (!props.signingKey) {
      validateKeyRotation(rotation);
    }
    const createdCount = props.signingKey ? 0 : rotation.keys.length;
    const keyCount = createdCount + (props.signingKey ? 1 : 0) + additionalKeys.length;
    if (keyCount > MAX_SAML_PROVIDER_KEYS) {
      throw new Error(`IAM accepts at most ${MAX_SAML_PROVIDER_KEYS} keys per SAML provider: got ${keyCount}`);
    }

    if (props.signingKey) {
      assertSigningKeySpec(props.signingKey, 'signingKey');
    }
    additionalKeys.forEach((key, index) => assertSigningKeySpec(key, `additionalPublishedKeys[${index}]`));
    this.ownsSigningKey = props.signingKey === undefined;
    if (props.signingKey) {
      this.signingKey = props.signingKey;
    } else {
      for (const label of rotation.keys) {
        this.createdKeys.set(label, new kms.Key(this, label === FIRST_KEY_LABEL ? 'SigningKey' : `SigningKey${label}`, {
          // Key '1' keeps the description the one key of a provider without keyRotation always had.
          description: `Signs the SAML assertions of the token delegation endpoint${label === FIRST_KEY_LABEL ? '' : ` (key '${label}')`}`,
          keySpec: kms.KeySpec.RSA_2048,
          keyUsage: kms.KeyUsage.SIGN_VERIFY,
          removalPolicy: props.signingKeyRemovalPolicy ?? RemovalPolicy.RETAIN,
          policy: this.signingKeyPolicy(),
        }));
      }
      this.signingKey = this.createdKeys.get(rotation.activeKey)!;
    }
    if (!this.ownsSigningKey) {
      Annotations.of(this).addWarningV2('cdk-token-delegation:signingKeyPolicy',
        'signingKey is yours, and so is its key policy: whoever may call kms:Sign with it can sign an assertion for any user. '
        + 'Allow kms:Sign only to the delegation handler roles and the certificate provider (see "The signing key policy" in the README).');
    }
    if (additionalKeys.length > 0) {
      Annotations.of(this).addWarningV2('cdk-token-delegation:publishedKeyPolicy',
        'IAM trusts every key in additionalPublishedKeys: keep kms:Sign on each of them as narrow as on the signing key '
        + '(see "The signing key policy" in the README).');
    }
    const stack = Stack.of(this);
    this.entityId = props.entityId ?? `urn:cdk-token-delegation:${stack.account}:${stack.region}:${Names.uniqueId(this)}`;
    this.recipient = recipient;
    // A concrete Recipient names its partition by its domain; otherwise the stack's partition decides.
    const awsAudience = props.recipient !== undefined && !Token.isUnresolved(recipient)
      ? awsSamlAudienceFor(recipient)
      : partitionSamlEndpoints(this).audience;
    this.audiences = [awsAudience, recipient];

    // Created keys' certificates keep their construct ids and their place in the metadata (in label
    // order) for as long as the label is listed, so switching the signer changes nothing in the metadata.
    const published: Array<{ key: kms.IKey; certificateId: string }> = props.signingKey
      ? [{ key: props.signingKey, certificateId: 'SigningCertificate' }]
      : [...this.createdKeys].map(([label, key]) => ({ key, certificateId: label === FIRST_KEY_LABEL ? 'SigningCertificate' : `SigningCertificate${label}` }));
    published.push(...additionalKeys.map((key, index) => ({ key, certificateId: `PublishedCertificate${index + 1}` })));
    const certificates = published.map(({ key, certificateId }) => this.certificateFor(key, certificateId, validity));
    this.publishedKeys = published.map(({ key }) => key);
    published.forEach(({ key }, index) => {
      if (this.createdKeys.size > 0 && [...this.createdKeys.values()].includes(key as kms.Key)) {
        this.publishedValues.push(key.keyArn, certificates[index]);
      }
    });
    this.signingCertificate = certificates[published.findIndex(({ key }) => key === this.signingKey)];

    this.metadataXml = samlIdpMetadataXml({
      entityId: this.entityId,
      certificates,
      ssoLocation: recipient,
    });
    this.samlProvider = new iam.SamlProvider(this, 'SamlProvider', {
      name: props.providerName,
      metadataDocument: iam.SamlMetadataDocument.fromXml(this.metadataXml),
    });
  }

  /**
   * The principal for the trust policy of roles this provider may hand out: `sts:AssumeRoleWithSAML`,
   * `sts:TagSession` and `sts:SetSourceIdentity` for this SAML provider, on condition that
   * `SAML:aud` is this provider's Recipient and `SAML:iss` its entityID.
   */
  public assumeRolePrincipal(): iam.IPrincipal {
    return delegationPrincipal(this.samlProvider, this.recipient, this.entityId);
  }

  /**
   * Lets a role made elsewhere (another app, a fixed name) sign with the key created here, by naming it
   * in the key policy. The role still needs `kms:Sign` on the key in its own policy. Within one app,
   * endpoints are named by {@link grantSign} and need nothing more.
   */
  public allowSigningBy(roleArn: string): void {
    if (!this.ownsSigningKey) {
      throw new Error('allowSigningBy: the signing key was given, so its own key policy decides who may sign: allow the role there');
    }
    if (!Token.isUnresolved(roleArn) && !/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/.test(roleArn)) {
      throw new Error(`allowSigningBy: '${roleArn}' is not an IAM role ARN`);
    }
    this.signerArns.push(roleArn);
  }

  /**
   * Lets `grantee`, a role, sign with the keys this provider publishes (`kms:Sign` with
   * RSASSA_PKCS1_V1_5_SHA_256 only): in its identity policy and, for keys created here, by name in
   * their key policy, which denies signing to every other principal. A role in another stack needs a
   * fixed `roleName`, so that the key policy can name it without a cross-stack reference cycle.
   *
   * With keys created here, every created key is granted, not only the signing key: IAM accepts any
   * of them, so this gives no further power, and a rotation's switch of the signer then changes no
   * permission, which IAM would apply only eventually. A role of another stack is granted the signing
   * key by its ARN and the published keys by their tags (a retired key's tag no longer matches), and
   * their ARNs and certificates stay exported while they are published, so that each step of a
   * rotation deploys with the provider's stack first. A key you bring is granted alone.
   */
  public grantSign(grantee: iam.IGrantable): iam.Grant {
    this.allowSigner(grantee.grantPrincipal);
    const conditions = { StringEquals: { 'kms:SigningAlgorithm': SIGNING_ALGORITHM } };
    const stack = Stack.of(this);
    if (this.ownsSigningKey && Stack.of(grantee.grantPrincipal as unknown as Construct) !== stack) {
      this.shareAcrossStacks();
      // The signing key by its ARN, which the handler's configuration imports anyway, so that a
      // permission never rests on a tag alone right after it is added (KMS may take minutes to see it).
      const bySigningKey = iam.Grant.addToPrincipal({ grantee, actions: ['kms:Sign'], resourceArns: [this.signingKey.keyArn], conditions });
      const byTag = iam.Grant.addToPrincipal({
        grantee,
        actions: ['kms:Sign'],
        resourceArns: [stack.formatArn({ service: 'kms', resource: 'key', resourceName: '*' })],
        conditions: { StringEquals: { ...conditions.StringEquals, [`aws:ResourceTag/${KEY_TAG}`]: [...this.createdKeys.keys()].map((label) => this.keyTagValue(label)) } },
      });
      const policy = (grantee.grantPrincipal as unknown as Construct).node.tryFindChild('DefaultPolicy');
      if (policy) {
        acceptNagFindings(policy, [{
          id: 'AwsSolutions-IAM5',
          reason: 'kms:Sign on the published keys of one delegation identity provider, named by their tag rather than by ARN so that a key rotation never removes an export this stack imports; the key policies deny signing to every other principal.',
          appliesTo: [{ regex: '/^Resource::arn:<AWS::Partition>:kms:.*:key\\/\\*$/' }],
        }]);
      }
      return bySigningKey.combine(byTag);
    }
    const keys = this.ownsSigningKey ? [...this.createdKeys.values()] : [this.signingKey];
    return keys.map((key) => iam.Grant.addToPrincipalOrResource({
      grantee,
      actions: ['kms:Sign'],
      resourceArns: [key.keyArn],
      resource: key,
      conditions,
    })).reduce((all, grant) => all.combine(grant));
  }

  /**
   * Records that `issuers` are bound to this provider by `consumer` (an endpoint), and refuses two
   * issuers anywhere on this provider that could produce the same `${saml:sub}`.
   * @internal
   */
  public _bindIssuers(consumer: Construct, issuers: readonly JwtIssuer[]): void {
    const entries = issuers.map((issuer) => ({ issuer, where: consumer.node.path }));
    checkNamespaces([...this.boundIssuers, ...entries]);
    this.boundIssuers.push(...entries);
  }

  /**
   * The key policy of a signing key created here. Administration stays with the account (through
   * IAM), without kms:Sign or kms:CreateGrant; only the roles named through grantSign() and the
   * certificate provider may sign, and an explicit deny refuses kms:Sign to every other principal
   * whatever its own policies allow.
   */
  private signingKeyPolicy(): iam.PolicyDocument {
    const signers = Lazy.list({ produce: () => [...new Set(this.signerArns)] });
    return new iam.PolicyDocument({
      statements: [
        new iam.PolicyStatement({
          sid: 'AccountAdministersTheKey',
          principals: [new iam.AccountRootPrincipal()],
          actions: KEY_ADMINISTRATION_ACTIONS,
          resources: ['*'],
        }),
        new iam.PolicyStatement({
          sid: 'OnlyTheDelegationHandlersSign',
          principals: [new iam.AccountRootPrincipal()],
          actions: ['kms:Sign'],
          resources: ['*'],
          conditions: {
            ArnEquals: { 'aws:PrincipalArn': signers },
            StringEquals: { 'kms:SigningAlgorithm': SIGNING_ALGORITHM },
          },
        }),
        new iam.PolicyStatement({
          sid: 'NobodyElseSigns',
          effect: iam.Effect.DENY,
          principals: [new iam.AnyPrincipal()],
          actions: ['kms:Sign'],
          resources: ['*'],
          conditions: { ArnNotEquals: { 'aws:PrincipalArn': signers } },
        }),
        new iam.PolicyStatement({
          sid: 'NoGrants',
          effect: iam.Effect.DENY,
          principals: [new iam.AnyPrincipal()],
          actions: ['kms:CreateGrant'],
          resources: ['*'],
        }),
      ],
    });
  }

  /**
   * The value of {@link KEY_TAG} on the key labelled `label`: this provider's unique id and the label,
   * so that a grant by tag lists exactly the keys that are published now.
   */
  private keyTagValue(label: string): string {
    return `${Names.uniqueId(this)}.${label}`;
  }

  /**
   * Tags the created keys, and exports every created key's ARN and certificate from this stack for as
   * long as the key is published: when a rotation step stops using a key in another stack, the export
   * stays until the step that retires the key, by which time no stack imports it.
   */
  private shareAcrossStacks(): void {
    if (this.sharedAcrossStacks) return;
    this.sharedAcrossStacks = true;
    for (const [label, key] of this.createdKeys) {
      Tags.of(key).add(KEY_TAG, this.keyTagValue(label));
    }
    for (const value of this.publishedValues) {
      Stack.of(this).exportValue(value);
    }
  }

  /** Names `principal`'s role in the key policy of a key created here (keys brought in keep their own policy). */
  private allowSigner(principal: iam.IPrincipal): void {
    if (!this.ownsSigningKey) return;
    const role = principal as Partial<iam.IRole>;
    if (typeof role.roleArn !== 'string' || typeof role.roleName !== 'string') {
      throw new Error('grantSign: only a role can be allowed to sign with the signing key (the key policy names each signer by role ARN)');
    }
    const roleStack = Stack.of(principal as unknown as Construct);
    const keyStack = Stack.of(this.signingKey);
    if (roleStack === keyStack) {
      this.signerArns.push(role.roleArn);
      return;
    }
    const physicalName = (principal as unknown as { physicalName?: string }).physicalName;
    if (physicalName === undefined || Token.isUnresolved(physicalName)) {
      throw new Error(
        `grantSign: the role ${(principal as unknown as Construct).node.path} is in another stack than the signing key; `
        + 'give it a fixed roleName so that the key policy can name it without a reference across the two stacks',
      );
    }
    this.signerArns.push(keyStack.formatArn({ service: 'iam', region: '', resource: 'role', resourceName: physicalName }));
  }

  private certificateFor(key: kms.IKey, id: string, validity: Duration): string {
    const provider = SigningCertificateProvider.of(this);
    provider.grantSigningKey(key);
    if (this.ownsSigningKey && [...this.createdKeys.values()].includes(key as kms.Key)) {
      this.allowSigner(provider.onEventFunction.role!);
    }
    const certificate = new CustomResource(this, id, {
      serviceToken: provider.serviceToken,
      resourceType: SIGNING_CERTIFICATE_RESOURCE_TYPE,
      properties: {
        KeyArn: key.keyArn,
        SubjectCommonName: 'cdk-token-delegation SAML signing',
        ValidityDays: String(validity.toDays()),
      },
    });
    // The certificate is made with the provider role's permission on this key, which a rotation adds
    // in the same deployment: wait for the role's policy, not only for the provider function.
    certificate.node.addDependency(provider.onEventFunction.role!);
    return certificate.getAttString('CertificateBase64');
  }
}

/** An identity provider made elsewhere, known by its attributes. */
class ImportedDelegationIdentityProvider extends Construct implements IDelegationIdentityProvider {
  public readonly signingKey: kms.IKey;
  public readonly samlProvider: iam.ISamlProvider;
  public readonly entityId: string;
  public readonly recipient: string;
  public readonly audiences: string[];
  public readonly signingCertificate: string;

  constructor(scope: Construct, id: string, attributes: DelegationIdentityProviderAttributes) {
    super(scope, id);
    if (!Token.isUnresolved(attributes.entityId)) {
      validateEntityId(attributes.entityId);
    }
    const certificate = attributes.signingCertificate;
    if (!Token.isUnresolved(certificate) && (!/^[A-Za-z0-9+/]+={0,2}$/.test(certificate) || certificate.length % 4 !== 0)) {
      throw new Error('signingCertificate must be the base64 DER of the certificate on one line (no PEM armour)');
    }
    this.recipient = attributes.recipient ?? partitionSamlEndpoints(this).recipient;
    if (!Token.isUnresolved(this.recipient) && !RECIPIENT.test(this.recipient)) {
      throw new Error(`recipient must be an AWS SAML sign-in endpoint, got '${this.recipient}'`);
    }
    const awsAudience = attributes.recipient !== undefined && !Token.isUnresolved(this.recipient)
      ? awsSamlAudienceFor(this.recipient)
      : partitionSamlEndpoints(this).audience;
    this.audiences = [awsAudience, this.recipient];
    this.samlProvider = iam.SamlProvider.fromSamlProviderArn(this, 'SamlProvider', attributes.samlProviderArn);
    this.signingKey = kms.Key.fromKeyArn(this, 'SigningKey', attributes.signingKeyArn);
    this.entityId = attributes.entityId;
    this.signingCertificate = certificate;
  }

  public assumeRolePrincipal(): iam.IPrincipal {
    return delegationPrincipal(this.samlProvider, this.recipient, this.entityId);
  }

  public grantSign(grantee: iam.IGrantable): iam.Grant {
    Annotations.of(grantee instanceof Construct ? grantee : this).addWarningV2('cdk-token-delegation:importedSigningKey',
      'The identity provider is imported: its signing key\'s policy must allow kms:Sign to this role '
      + '(DelegationIdentityProvider.allowSigningBy in the app that made it, or the key policy in the README), or every request fails at KMS.');
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['kms:Sign'],
      resourceArns: [this.signingKey.keyArn],
      conditions: { StringEquals: { 'kms:SigningAlgorithm': SIGNING_ALGORITHM } },
    });
  }
}

function delegationPrincipal(samlProvider: iam.ISamlProvider, recipient: string, entityId: string): iam.IPrincipal {
  return new DelegationSamlPrincipal(samlProvider, { StringEquals: { 'SAML:aud': recipient, 'SAML:iss': entityId } });
}

/** A SAML principal whose trust statement also allows session tags and a source identity. */
class DelegationSamlPrincipal extends iam.SamlPrincipal {
  public addToAssumeRolePolicy(document: iam.PolicyDocument): void {
    document.addStatements(new iam.PolicyStatement({
      principals: [new iam.FederatedPrincipal(this.federated)],
      actions: ['sts:AssumeRoleWithSAML', 'sts:TagSession', 'sts:SetSourceIdentity'],
      conditions: this.conditions,
    }));
  }
}

function validateKeyRotation(rotation: KeyRotation): void {
  if (rotation.keys.length === 0) {
    throw new Error('keyRotation.keys must list at least one key label');
  }
  for (const label of rotation.keys) {
    if (!KEY_LABEL.test(label)) {
      throw new Error(`keyRotation.keys: '${label}' is not a key label (1 to 20 letters or digits)`);
    }
  }
  const repeated = rotation.keys.filter((label, index) => rotation.keys.indexOf(label) !== index);
  if (repeated.length > 0) {
    throw new Error(`keyRotation.keys lists '${repeated[0]}' twice`);
  }
  if (!rotation.keys.includes(rotation.activeKey)) {
    throw new Error(`keyRotation.activeKey '${rotation.activeKey}' is not one of keyRotation.keys (${rotation.keys.join(', ')})`);
  }
}

function validateEntityId(entityId: string): void {
  if (entityId.length === 0 || entityId.length > 1024) {
    throw new Error('entityId must be 1 to 1024 characters');
  }
  if (!/^[a-zA-Z][a-zA-Z0-9+.-]*:\S+$/.test(entityId)) {
    throw new Error(`entityId must be an absolute URI without spaces (e.g. https://… or urn:…), got '${entityId}'`);
  }
}
