import { GetPublicKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { buildSelfSignedCertificate, checkedValidityDays, DEFAULT_VALIDITY_DAYS } from './certificate';
import { KmsSigner } from '../shared/kms-signer';

/** The resource properties the construct passes (CloudFormation turns every value into a string). */
export interface CertificateResourceProperties {
  /** ARN of an asymmetric RSA SIGN_VERIFY KMS key. */
  readonly KeyArn: string;
  readonly SubjectCommonName: string;
  /** Whole days, as a string; defaults to ten years. */
  readonly ValidityDays?: string;
}

/** What the custom resource returns; kept far below CloudFormation's 4 KB response limit. */
export interface CertificateResourceResponse {
  readonly PhysicalResourceId: string;
  readonly Data?: {
    /** Base64 DER of the certificate, on one line: the `ds:X509Certificate` text of the metadata. */
    readonly CertificateBase64: string;
    /** Lower-case hex SHA-256 of the DER certificate. */
    readonly FingerprintSha256: string;
  };
}

const SIGNING_KEY_SPECS = ['RSA_2048', 'RSA_3072', 'RSA_4096'];

let kmsClient: KMSClient | undefined;

/** One client per container; region, credentials and `AWS_ENDPOINT_URL_KMS` come from the environment. */
function sharedKmsClient(): KMSClient {
  kmsClient ??= new KMSClient({});
  return kmsClient;
}

/** `custom_resources.Provider` onEvent handler: creates the self-signed certificate of a KMS signing key. */
export async function onEvent(event: CloudFormationCustomResourceEvent): Promise<CertificateResourceResponse> {
  return handleCertificateEvent(event, sharedKmsClient);
}

/**
 * Waits before each retry of a certificate that KMS refused with AccessDeniedException: the permission
 * on a key is granted in the same deployment that creates the certificate (a rotation's new key), and
 * IAM applies it only eventually. 31 s in all, within the function's one-minute timeout.
 */
export const ACCESS_DENIED_RETRY_DELAYS_MS: readonly number[] = [1000, 2000, 4000, 8000, 16000];

export interface CertificateEventOptions {
  /** Waits `ms` milliseconds (tests record the waits instead). @default a timer */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** The handler with its KMS client supplied by the caller; the client is only obtained when KMS is needed. */
export async function handleCertificateEvent(
  event: CloudFormationCustomResourceEvent,
  kms: () => KMSClient,
  options: CertificateEventOptions = {},
): Promise<CertificateResourceResponse> {
  if (event.RequestType === 'Delete') {
    // The certificate lives only in the template's metadata; there is nothing to clean up.
    return { PhysicalResourceId: event.PhysicalResourceId };
  }
  const properties = parseCertificateResourceProperties(event.ResourceProperties);
  const validityDays = parseValidityDays(properties.ValidityDays);
  const client = kms();
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const certificate = await retriedWhileAccessDenied(async () => buildSelfSignedCertificate({
    subjectPublicKeyInfoDer: await fetchSigningPublicKey(client, properties.KeyArn),
    commonName: properties.SubjectCommonName,
    validityDays,
    signer: new KmsSigner(properties.KeyArn, client),
  }), sleep);
  return {
    PhysicalResourceId: `${properties.KeyArn}/${certificate.fingerprintSha256.slice(0, 16)}`,
    Data: {
      CertificateBase64: Buffer.from(certificate.der).toString('base64'),
      FingerprintSha256: certificate.fingerprintSha256,
    },
  };
}

async function retriedWhileAccessDenied<T>(work: () => Promise<T>, sleep: (ms: number) => Promise<void>): Promise<T> {
  for (const delayMs of ACCESS_DENIED_RETRY_DELAYS_MS) {
    try {
      return await work();
    } catch (error) {
      if ((error as { name?: unknown } | undefined)?.name !== 'AccessDeniedException') throw error;
      await sleep(delayMs);
    }
  }
  return work();
}

/** Checks the properties a template passed, with messages that name the property. */
export function parseCertificateResourceProperties(properties: Record<string, unknown>): CertificateResourceProperties {
  const { KeyArn, SubjectCommonName, ValidityDays } = properties;
  if (typeof KeyArn !== 'string' || KeyArn.length === 0) {
    throw new Error('KeyArn must be the ARN of a KMS key');
  }
  if (typeof SubjectCommonName !== 'string' || SubjectCommonName.length === 0) {
    throw new Error('SubjectCommonName must be a non-empty string');
  }
  if (ValidityDays !== undefined && typeof ValidityDays !== 'string') {
    throw new Error('ValidityDays must be a string of a whole number of days');
  }
  return { KeyArn, SubjectCommonName, ValidityDays };
}

function parseValidityDays(value: string | undefined): number {
  if (value === undefined || value === '') {
    return DEFAULT_VALIDITY_DAYS;
  }
  if (!/^[0-9]{1,5}$/.test(value)) {
    throw new Error(`ValidityDays must be a whole number of days, got '${value.slice(0, 20)}'`);
  }
  return checkedValidityDays(Number(value));
}

/** Reads the key's public half and refuses keys that cannot make sha256WithRSAEncryption signatures. */
async function fetchSigningPublicKey(client: KMSClient, keyArn: string): Promise<Uint8Array> {
  const key = await client.send(new GetPublicKeyCommand({ KeyId: keyArn }));
  if (!key.KeySpec || !SIGNING_KEY_SPECS.includes(key.KeySpec)) {
    throw new Error(`KMS key ${keyArn} must have KeySpec ${SIGNING_KEY_SPECS.join(', ')} (RSASSA-PKCS1-v1_5 SHA-256 signing), got ${key.KeySpec ?? 'none'}`);
  }
  if (key.KeyUsage !== 'SIGN_VERIFY') {
    throw new Error(`KMS key ${keyArn} must have KeyUsage SIGN_VERIFY, got ${key.KeyUsage ?? 'none'}`);
  }
  if (!key.PublicKey || key.PublicKey.length === 0) {
    throw new Error(`KMS GetPublicKey returned no public key for ${keyArn}`);
  }
  return key.PublicKey;
}
