import { RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { BoundSigningKeys } from './private/bound-signing-keys';
import { MAX_SAML_PROVIDER_KEYS } from './private/saml-metadata';
import { assertSigningKeySpec } from './private/signing-key';
import { SigningKeyPolicy } from './private/signing-key-policy';

/** Options of {@link SigningKeys.create}. */
export interface CreatedSigningKeysOptions {
  /**
   * Labels of the keys to create and publish, oldest first: 1 to 10 of them (IAM's limit per SAML
   * provider), each 1 to 20 letters or digits. Every listed key's certificate is published, so IAM
   * accepts assertions signed by any of them. Rotating is three deployments: add a label, switch
   * `activeKey` to it, remove the old label (see docs/key-rotation.md). Removing a label retires its key
   * (no longer published; kept in KMS or deleted per `removalPolicy`); renaming one replaces its key.
   * @default ['1']
   */
  readonly keys?: string[];
  /**
   * Label of the key that signs: one of `keys`.
   * @default - the only label of `keys`; required when `keys` lists more than one
   */
  readonly activeKey?: string;
  /**
   * The principals that administer the keys: they alone may change the key policy (which decides who
   * may sign), the keys' tags, aliases and state. Every other principal of the account may read the
   * keys and nothing more, whatever its own IAM policies allow. KMS requires the principal that
   * creates a key to be able to change its policy, so list the one that deploys the stack.
   * @default - the CloudFormation execution role of the stack's synthesizer (`cdk bootstrap`'s
   * `cdk-<qualifier>-cfn-exec-role-<account>-<region>`); a stack whose synthesizer names none must list them
   */
  readonly administrators?: iam.IPrincipal[];
  /**
   * What happens to each key when its label is removed or the stack is destroyed. With
   * `RemovalPolicy.DESTROY` KMS schedules the key's deletion (after its 30-day waiting period); every
   * assertion it signed stops verifying.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** Options of {@link SigningKeys.fromKey}. */
export interface BroughtSigningKeyOptions {
  /**
   * Further keys you bring whose certificates are published without being used for signing: to rotate
   * a key you bring, publish the new key here first, deploy, then swap the two. IAM trusts every
   * published key, so their key policies must keep `kms:Sign` as narrow as the signing key's.
   * @default - none
   * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_saml.html
   */
  readonly additionalPublishedKeys?: kms.IKey[];
}

/**
 * The keys a {@link DelegationIdentityProvider} signs with and publishes in its metadata: keys it
 * creates (with a key policy that names who may sign, and labels to rotate them by), or a key you bring.
 *
 * @example
 * import { DelegationIdentityProvider, SigningKeys } from 'cdk-token-delegation';
 *
 * // The second step of a rotation: both keys published, the new one signs.
 * new DelegationIdentityProvider(this, 'IdentityProvider', {
 *   signingKeys: SigningKeys.create({ keys: ['1', '2'], activeKey: '2' }),
 * });
 */
export abstract class SigningKeys {
  /**
   * KMS keys created with the provider (RSA_2048, SIGN_VERIFY), whose key policy lets only the
   * delegation handlers and the certificate provider sign.
   */
  public static create(options: CreatedSigningKeysOptions = {}): SigningKeys {
    const keys = options.keys ?? [FIRST_KEY_LABEL];
    validateLabels(keys);
    if (options.activeKey === undefined && keys.length > 1) {
      throw new Error(`SigningKeys.create: name the activeKey, one of ${keys.join(', ')}`);
    }
    const activeKey = options.activeKey ?? keys[0];
    if (!keys.includes(activeKey)) {
      throw new Error(`SigningKeys.create: activeKey '${activeKey}' is not one of keys (${keys.join(', ')})`);
    }
    if (options.administrators !== undefined && options.administrators.length === 0) {
      throw new Error('SigningKeys.create: administrators, when given, must name at least one principal (the one that deploys the stack)');
    }
    return new CreatedSigningKeys(keys, activeKey, options.removalPolicy ?? RemovalPolicy.RETAIN, options.administrators);
  }

  /**
   * A KMS key you made: an asymmetric RSA key (2048 bits or more) with key usage SIGN_VERIFY. It keeps
   * the key policy you gave it, which must allow `kms:Sign` only to the delegation handlers and the
   * certificate provider (synthesis warns; docs/security.md shows the statements to use).
   */
  public static fromKey(signingKey: kms.IKey, options: BroughtSigningKeyOptions = {}): SigningKeys {
    const additional = options.additionalPublishedKeys ?? [];
    if (1 + additional.length > MAX_SAML_PROVIDER_KEYS) {
      throw new Error(`IAM accepts at most ${MAX_SAML_PROVIDER_KEYS} keys per SAML provider: got ${1 + additional.length}`);
    }
    return new BroughtSigningKeys(signingKey, additional);
  }

  /**
   * Makes or binds the keys in `scope` (the identity provider).
   * @internal
   */
  public abstract _bind(scope: Construct, keyPolicy: SigningKeyPolicy): BoundSigningKeys;
}

/** A key label becomes part of construct ids and logical ids. */
const KEY_LABEL = /^[A-Za-z0-9]{1,20}$/;
/** The label of the one key of `SigningKeys.create()` (construct ids `SigningKey`, `SigningCertificate`). */
const FIRST_KEY_LABEL = '1';

class CreatedSigningKeys extends SigningKeys {
  constructor(
    private readonly labels: string[],
    private readonly activeKey: string,
    private readonly removalPolicy: RemovalPolicy,
    private readonly administrators: iam.IPrincipal[] | undefined,
  ) {
    super();
  }

  public _bind(scope: Construct, keyPolicy: SigningKeyPolicy): BoundSigningKeys {
    const created = new Map<string, kms.Key>();
    for (const label of this.labels) {
      // Key '1' keeps the construct ids and description of the one key a provider always had, and each
      // certificate its id and place in the metadata while its label is listed, so switching the signer
      // changes nothing in the metadata.
      created.set(label, new kms.Key(scope, label === FIRST_KEY_LABEL ? 'SigningKey' : `SigningKey${label}`, {
        description: `Signs the SAML assertions of the token delegation endpoint${label === FIRST_KEY_LABEL ? '' : ` (key '${label}')`}`,
        keySpec: kms.KeySpec.RSA_2048,
        keyUsage: kms.KeyUsage.SIGN_VERIFY,
        removalPolicy: this.removalPolicy,
        policy: keyPolicy.document(this.administrators),
      }));
    }
    return {
      signingKey: created.get(this.activeKey)!,
      created,
      published: [...created].map(([label, key]) => ({ key, certificateId: label === FIRST_KEY_LABEL ? 'SigningCertificate' : `SigningCertificate${label}` })),
    };
  }
}

class BroughtSigningKeys extends SigningKeys {
  constructor(private readonly signingKey: kms.IKey, private readonly additional: kms.IKey[]) {
    super();
  }

  public _bind(): BoundSigningKeys {
    assertSigningKeySpec(this.signingKey, 'SigningKeys.fromKey');
    this.additional.forEach((key, index) => assertSigningKeySpec(key, `additionalPublishedKeys[${index}]`));
    return {
      signingKey: this.signingKey,
      created: new Map(),
      published: [
        { key: this.signingKey, certificateId: 'SigningCertificate' },
        ...this.additional.map((key, index) => ({ key, certificateId: `PublishedCertificate${index + 1}` })),
      ],
    };
  }
}

function validateLabels(labels: string[]): void {
  if (labels.length === 0) {
    throw new Error('SigningKeys.create: keys must list at least one key label');
  }
  if (labels.length > MAX_SAML_PROVIDER_KEYS) {
    throw new Error(`IAM accepts at most ${MAX_SAML_PROVIDER_KEYS} keys per SAML provider: got ${labels.length}`);
  }
  for (const label of labels) {
    if (!KEY_LABEL.test(label)) {
      throw new Error(`SigningKeys.create: '${label}' is not a key label (1 to 20 letters or digits)`);
    }
  }
  const repeated = labels.filter((label, index) => labels.indexOf(label) !== index);
  if (repeated.length > 0) {
    throw new Error(`SigningKeys.create: keys lists '${repeated[0]}' twice`);
  }
}
