import * as kms from 'aws-cdk-lib/aws-kms';

/** What an identity provider signs with and publishes, as its `SigningKeys` bound it. */
export interface BoundSigningKeys {
  /** The key that signs. */
  readonly signingKey: kms.IKey;
  /** Keys created with the provider, by label (empty for a key you bring). */
  readonly created: ReadonlyMap<string, kms.Key>;
  /** Every published key with the construct id of its certificate, in the metadata's order. */
  readonly published: ReadonlyArray<{ readonly key: kms.IKey; readonly certificateId: string }>;
}
