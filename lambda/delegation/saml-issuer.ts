import type { DelegationConfig } from './config';
import { buildSignedSamlResponse } from './saml';
import { remoteSignerWithinDeadline, type ConfiguredSigner } from './signing';
import type { DelegationGrant } from './types';
import { awsSamlAudienceFor } from '../../src/contract/saml-constants';

/**
 * Issues the signed SAML Response of each grant. Everything that never changes between requests (our
 * entityID, the Recipient, the Audiences, the provider ARN, the lifetime, the signer and its
 * certificate) is fixed once per container, so the handler passes only the grant and its deadline.
 */
export class SamlIssuer {
  /** Audience values of every assertion: the entityID of AWS in the Recipient's partition, and the Recipient. */
  readonly audiences: readonly string[];
  private readonly entityId: string;
  private readonly recipient: string;
  private readonly providerArn: string;
  private readonly lifetimeSeconds: number;
  private readonly keyInfoCertificate?: string;

  constructor(config: DelegationConfig, private readonly signing: ConfiguredSigner) {
    this.entityId = config.samlEntityId;
    this.recipient = config.samlRecipient;
    this.providerArn = config.providerArn;
    this.lifetimeSeconds = config.assertionLifetimeSeconds;
    this.keyInfoCertificate = config.signingCertificate;
    // urn:amazon:webservices, …:cn-north-1 or …:govcloud, then the Recipient (once, should they be equal).
    this.audiences = [...new Set([awsSamlAudienceFor(config.samlRecipient), config.samlRecipient])];
  }

  /**
   * The base64 `samlp:Response` for `grant`, issued at `now`. A signer that calls AWS gives up at
   * `deadline` (epoch milliseconds) and answers its failures as 503s; an in-memory one needs neither.
   */
  async issue(grant: DelegationGrant, deadline: number, now: Date = new Date()): Promise<string> {
    const { signer, dependency } = this.signing;
    const xml = await buildSignedSamlResponse({
      issuer: this.entityId,
      recipient: this.recipient,
      audiences: this.audiences,
      providerArn: this.providerArn,
      grant,
      now,
      lifetimeSeconds: this.lifetimeSeconds,
    }, dependency ? remoteSignerWithinDeadline(signer, deadline, dependency) : signer, { keyInfoCertificate: this.keyInfoCertificate });
    return Buffer.from(xml, 'utf8').toString('base64');
  }
}
