import { createHash, generateKeyPairSync, randomBytes, sign, X509Certificate } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';

/**
 * A throw-away TLS certificate for the local command's `--tls`: made at start for a new P-256 key,
 * self-signed, valid for 127.0.0.1, ::1 and localhost, for a few days. The key exists only in memory.
 */

const OID_COMMON_NAME = '2.5.4.3';
const OID_ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
const OID_BASIC_CONSTRAINTS = '2.5.29.19';
const OID_KEY_USAGE = '2.5.29.15';
const OID_EXTENDED_KEY_USAGE = '2.5.29.37';
const OID_SUBJECT_ALT_NAME = '2.5.29.17';
const OID_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const GENERAL_NAME_DNS = 2;
const GENERAL_NAME_IP = 7;
const VALIDITY_MS = 7 * 24 * 60 * 60 * 1000;
const BACKDATE_MS = 60 * 60 * 1000;

export interface LocalTlsCertificate {
  /** PKCS#8 PEM of the private key (for the server only; never printed). */
  readonly keyPem: string;
  readonly certificatePem: string;
  /** Lower-case hex SHA-256 of the certificate's DER, as browsers show it. */
  readonly fingerprintSha256: string;
  /** Base64 SHA-256 of the SubjectPublicKeyInfo, for Chromium's `--ignore-certificate-errors-spki-list`. */
  readonly spkiSha256Base64: string;
}

function ecdsaWithSha256(): pkijs.AlgorithmIdentifier {
  return new pkijs.AlgorithmIdentifier({ algorithmId: OID_ECDSA_WITH_SHA256 });
}

function extension(extnID: string, critical: boolean, value: { toBER(sizeOnly?: boolean): ArrayBuffer }): pkijs.Extension {
  return new pkijs.Extension({ extnID, critical, extnValue: value.toBER(false) });
}

/** Makes a new key and a self-signed certificate for the loopback names. */
export function makeLocalTlsCertificate(now: Date = new Date()): LocalTlsCertificate {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spkiDer = publicKey.export({ type: 'spki', format: 'der' });
  const name = new pkijs.RelativeDistinguishedNames({
    typesAndValues: [new pkijs.AttributeTypeAndValue({ type: OID_COMMON_NAME, value: new asn1js.Utf8String({ value: 'cdk-token-delegation local' }) })],
  });
  const serial = new Uint8Array(randomBytes(16));
  serial[0] = 0x40 + (serial[0] % 0x40);
  const notBefore = new Date(Math.floor((now.getTime() - BACKDATE_MS) / 1000) * 1000);

  const certificate = new pkijs.Certificate();
  certificate.version = 2;
  certificate.serialNumber = new asn1js.Integer({ valueHex: serial });
  certificate.signature = ecdsaWithSha256();
  certificate.issuer = name;
  certificate.subject = name;
  certificate.notBefore = new pkijs.Time({ type: pkijs.TimeType.UTCTime, value: notBefore });
  certificate.notAfter = new pkijs.Time({ type: pkijs.TimeType.UTCTime, value: new Date(notBefore.getTime() + VALIDITY_MS) });
  certificate.subjectPublicKeyInfo = pkijs.PublicKeyInfo.fromBER(new Uint8Array(spkiDer));
  const altNames = new pkijs.AltName({
    altNames: [
      new pkijs.GeneralName({ type: GENERAL_NAME_DNS, value: 'localhost' }),
      new pkijs.GeneralName({ type: GENERAL_NAME_IP, value: new asn1js.OctetString({ valueHex: new Uint8Array([127, 0, 0, 1]) }) }),
      new pkijs.GeneralName({ type: GENERAL_NAME_IP, value: new asn1js.OctetString({ valueHex: new Uint8Array([...new Array(15).fill(0), 1]) }) }),
    ],
  });
  certificate.extensions = [
    extension(OID_BASIC_CONSTRAINTS, true, new pkijs.BasicConstraints({ cA: false }).toSchema()),
    // digitalSignature only (bit 0), which is what an ECDHE-ECDSA server needs.
    extension(OID_KEY_USAGE, true, new asn1js.BitString({ valueHex: new Uint8Array([0x80]), unusedBits: 7 })),
    extension(OID_EXTENDED_KEY_USAGE, false, new pkijs.ExtKeyUsage({ keyPurposes: [OID_SERVER_AUTH] }).toSchema()),
    extension(OID_SUBJECT_ALT_NAME, false, altNames.toSchema()),
  ];
  const tbsDer = new Uint8Array(certificate.encodeTBS().toBER(false));
  certificate.tbsView = tbsDer;
  certificate.signatureAlgorithm = ecdsaWithSha256();
  certificate.signatureValue = new asn1js.BitString({ valueHex: new Uint8Array(sign('sha256', tbsDer, privateKey)) });
  const der = Buffer.from(certificate.toSchema(false).toBER(false));

  // Parse it back with Node's own X.509 code, so a malformed certificate fails here, not in a client.
  const parsed = new X509Certificate(der);
  if (!parsed.verify(publicKey) || !parsed.checkIP('127.0.0.1') || parsed.checkHost('localhost') !== 'localhost') {
    throw new Error('The local TLS certificate does not verify');
  }
  return {
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    certificatePem: parsed.toString(),
    fingerprintSha256: createHash('sha256').update(der).digest('hex'),
    spkiSha256Base64: createHash('sha256').update(spkiDer).digest('base64'),
  };
}
