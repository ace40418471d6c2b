import { createHash, createPublicKey, randomBytes, verify } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import type { Signer } from '../shared/signer';

const OID_RSA_ENCRYPTION = '1.2.840.113549.1.1.1';
const OID_SHA256_WITH_RSA = '1.2.840.113549.1.1.11';
const OID_COMMON_NAME = '2.5.4.3';
const OID_SUBJECT_KEY_IDENTIFIER = '2.5.29.14';
const OID_KEY_USAGE = '2.5.29.15';
const OID_BASIC_CONSTRAINTS = '2.5.29.19';

/** Ten years: the certificate only carries the key to IAM; keys are rotated, dates are not relied on. */
export const DEFAULT_VALIDITY_DAYS = 3650;
/** About a hundred years, beyond any useful certificate. */
export const MAX_VALIDITY_DAYS = 36500;
/** Backdating notBefore keeps a verifier whose clock lags from seeing a "not yet valid" certificate. */
const NOT_BEFORE_BACKDATE_MS = 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;
/** RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050 on. */
const FIRST_GENERALIZED_TIME_YEAR = 2050;

export interface SelfSignedCertificateOptions {
  /** The subject's public key as DER SubjectPublicKeyInfo (what KMS GetPublicKey returns); RSA only. */
  readonly subjectPublicKeyInfoDer: Uint8Array;
  /** The subject (and issuer) common name. */
  readonly commonName: string;
  /** Signs the TBSCertificate with the private half of `subjectPublicKeyInfoDer`. */
  readonly signer: Signer;
  /** Start of validity; defaults to one hour before now. Truncated to whole seconds. */
  readonly notBefore?: Date;
  /** Length of validity from `notBefore`, in days; defaults to {@link DEFAULT_VALIDITY_DAYS}. */
  readonly validityDays?: number;
  /** Serial number bytes (positive, minimal DER); defaults to 16 random bytes. */
  readonly serialNumber?: Uint8Array;
}

export interface SelfSignedCertificate {
  /** The DER-encoded X.509 v3 certificate. */
  readonly der: Uint8Array;
  /** Lower-case hex SHA-256 of `der`. */
  readonly fingerprintSha256: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/**
 * Builds a self-signed X.509 v3 certificate for an RSA public key whose private half is reachable only
 * through `signer` (a KMS key): sha256WithRSAEncryption, CA:false, keyUsage digitalSignature (critical),
 * subjectKeyIdentifier, each extension once. The signature is checked against the key before returning,
 * so a signer holding a different key fails here, at deploy time.
 */
export async function buildSelfSignedCertificate(options: SelfSignedCertificateOptions): Promise<SelfSignedCertificate> {
  const publicKeyInfo = parseRsaSubjectPublicKeyInfo(options.subjectPublicKeyInfoDer);
  const notBefore = wholeSeconds(options.notBefore ?? new Date(Date.now() - NOT_BEFORE_BACKDATE_MS));
  const validityDays = checkedValidityDays(options.validityDays ?? DEFAULT_VALIDITY_DAYS);
  const notAfter = new Date(notBefore.getTime() + validityDays * DAY_MS);
  const name = commonNameOnly(options.commonName);

  const certificate = new pkijs.Certificate();
  certificate.version = 2;
  certificate.serialNumber = new asn1js.Integer({ valueHex: checkedSerialNumber(options.serialNumber ?? randomSerialNumber()) });
  certificate.signature = sha256WithRsaAlgorithm();
  certificate.issuer = name;
  certificate.subject = name;
  certificate.notBefore = certificateTime(notBefore);
  certificate.notAfter = certificateTime(notAfter);
  certificate.subjectPublicKeyInfo = publicKeyInfo;
  certificate.extensions = endEntityExtensions(publicKeyInfo);

  const tbsDer = new Uint8Array(certificate.encodeTBS().toBER(false));
  const signature = await options.signer.sign(tbsDer);
  const publicKey = createPublicKey({ key: Buffer.from(options.subjectPublicKeyInfoDer), format: 'der', type: 'spki' });
  if (!verify('sha256', tbsDer, publicKey, signature)) {
    throw new Error('The signer\'s signature does not verify with the certificate\'s public key: the signer holds a different key');
  }
  certificate.tbsView = tbsDer;
  certificate.signatureAlgorithm = sha256WithRsaAlgorithm();
  certificate.signatureValue = new asn1js.BitString({ valueHex: signature });

  const der = new Uint8Array(certificate.toSchema(false).toBER(false));
  return {
    der,
    fingerprintSha256: createHash('sha256').update(der).digest('hex'),
    notBefore,
    notAfter,
  };
}

/** Parses DER SubjectPublicKeyInfo and requires an rsaEncryption key, the only kind sha256WithRSAEncryption fits. */
export function parseRsaSubjectPublicKeyInfo(der: Uint8Array): pkijs.PublicKeyInfo {
  let publicKeyInfo: pkijs.PublicKeyInfo;
  try {
    publicKeyInfo = pkijs.PublicKeyInfo.fromBER(der);
  } catch {
    throw new Error('Public key is not a DER SubjectPublicKeyInfo');
  }
  if (publicKeyInfo.algorithm.algorithmId !== OID_RSA_ENCRYPTION) {
    throw new Error(`Public key must be RSA (${OID_RSA_ENCRYPTION}), got algorithm ${publicKeyInfo.algorithm.algorithmId}`);
  }
  return publicKeyInfo;
}

/** Returns `days` if it is a whole number from 1 to {@link MAX_VALIDITY_DAYS}, throws otherwise. */
export function checkedValidityDays(days: number): number {
  if (!Number.isInteger(days) || days < 1 || days > MAX_VALIDITY_DAYS) {
    throw new Error(`Certificate validity must be a whole number of days between 1 and ${MAX_VALIDITY_DAYS}, got ${days}`);
  }
  return days;
}

/** 16 random bytes whose first byte is 0x40..0x7f: positive, minimal DER, always 16 bytes long. */
export function randomSerialNumber(): Uint8Array {
  const serial = new Uint8Array(randomBytes(16));
  serial[0] = 0x40 + (serial[0] % 0x40);
  return serial;
}

function checkedSerialNumber(serial: Uint8Array): Uint8Array {
  const positive = serial.length > 0 && serial[0] < 0x80;
  const minimal = serial.length === 1 || serial[0] !== 0 || serial[1] >= 0x80;
  const nonZero = serial.some((byte) => byte !== 0);
  if (!positive || !minimal || !nonZero || serial.length > 20) {
    throw new Error('Certificate serial number must be a positive, minimally encoded integer of at most 20 bytes');
  }
  return serial;
}

function wholeSeconds(date: Date): Date {
  if (Number.isNaN(date.getTime())) {
    throw new Error('Certificate notBefore is not a valid date');
  }
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}

function certificateTime(date: Date): pkijs.Time {
  const type = date.getUTCFullYear() < FIRST_GENERALIZED_TIME_YEAR ? pkijs.TimeType.UTCTime : pkijs.TimeType.GeneralizedTime;
  return new pkijs.Time({ type, value: date });
}

function commonNameOnly(commonName: string): pkijs.RelativeDistinguishedNames {
  if (commonName.length === 0 || commonName.length > 64) {
    throw new Error(`Certificate common name must be 1 to 64 characters, got ${commonName.length}`);
  }
  return new pkijs.RelativeDistinguishedNames({
    typesAndValues: [
      new pkijs.AttributeTypeAndValue({ type: OID_COMMON_NAME, value: new asn1js.Utf8String({ value: commonName }) }),
    ],
  });
}

function sha256WithRsaAlgorithm(): pkijs.AlgorithmIdentifier {
  return new pkijs.AlgorithmIdentifier({ algorithmId: OID_SHA256_WITH_RSA, algorithmParams: new asn1js.Null() });
}

function endEntityExtensions(publicKeyInfo: pkijs.PublicKeyInfo): pkijs.Extension[] {
  // RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING's value.
  const keyIdentifier = createHash('sha1').update(publicKeyInfo.subjectPublicKey.valueBlock.valueHexView).digest();
  // Bit 0 (digitalSignature) only: one content byte 0x80 with 7 unused bits.
  const digitalSignatureOnly = new asn1js.BitString({ valueHex: new Uint8Array([0x80]), unusedBits: 7 });
  return [
    new pkijs.Extension({
      extnID: OID_BASIC_CONSTRAINTS,
      critical: true,
      extnValue: new pkijs.BasicConstraints({ cA: false }).toSchema().toBER(false),
    }),
    new pkijs.Extension({
      extnID: OID_KEY_USAGE,
      critical: true,
      extnValue: digitalSignatureOnly.toBER(false),
    }),
    new pkijs.Extension({
      extnID: OID_SUBJECT_KEY_IDENTIFIER,
      critical: false,
      extnValue: new asn1js.OctetString({ valueHex: keyIdentifier }).toBER(false),
    }),
  ];
}
