import { generateKeyPairSync, KeyObject, sign } from 'node:crypto';
import type { AssertionInput, DelegationGrant } from '../../lambda/delegation/types';
import type { Signer } from '../../lambda/shared/signer';

export const TEST_IDP_ENTITY_ID = 'https://delegation.example.com/saml/idp';
export const TEST_PROVIDER_ARN = 'arn:aws:iam::123456789012:saml-provider/TokenDelegation';
export const TEST_ROLE_ARN = 'arn:aws:iam::123456789012:role/DelegatedUser';
export const AWS_GLOBAL_SIGNIN_URL = 'https://signin.aws.amazon.com/saml';
export const AWS_ATTRIBUTE = {
  role: 'https://aws.amazon.com/SAML/Attributes/Role',
  roleSessionName: 'https://aws.amazon.com/SAML/Attributes/RoleSessionName',
  sessionDuration: 'https://aws.amazon.com/SAML/Attributes/SessionDuration',
  sourceIdentity: 'https://aws.amazon.com/SAML/Attributes/SourceIdentity',
  principalTag: (key: string) => `https://aws.amazon.com/SAML/Attributes/PrincipalTag:${key}`,
} as const;

export interface AssertionInputOverrides extends Partial<Omit<AssertionInput, 'grant'>> {
  readonly grant?: Partial<DelegationGrant>;
}

/** A realistic input for the emitter (an Auth0-style subject, one tag), with any field replaceable. */
export function assertionInput(overrides: AssertionInputOverrides = {}): AssertionInput {
  const { grant, ...rest } = overrides;
  return {
    issuer: TEST_IDP_ENTITY_ID,
    recipient: AWS_GLOBAL_SIGNIN_URL,
    audiences: ['urn:amazon:webservices', AWS_GLOBAL_SIGNIN_URL],
    providerArn: TEST_PROVIDER_ARN,
    now: new Date(),
    lifetimeSeconds: 300,
    ...rest,
    grant: {
      subject: 'auth0|5f0c8a3e9b1d2c0071a4e6f2',
      roleArn: TEST_ROLE_ARN,
      roleSessionName: 'auth0_5f0c8a3e9b1d2c0071a4e6f2',
      sourceIdentity: 'auth0_5f0c8a3e9b1d2c0071a4e6f2',
      sessionTags: [{ key: 'department', value: 'engineering' }],
      durationSeconds: 3600,
      ...grant,
    },
  };
}

/** A Signer over an in-memory RSA key that records what it was asked to sign. */
export class RecordingSigner implements Signer {
  readonly signedData: Buffer[] = [];

  constructor(private readonly privateKey: KeyObject) {}

  async sign(data: Uint8Array): Promise<Uint8Array> {
    this.signedData.push(Buffer.from(data));
    return sign('sha256', data, this.privateKey);
  }
}

/** A fresh RSA-2048 key pair for one test file. */
export function generateTestRsaKeyPair(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('rsa', { modulusLength: 2048 });
}
