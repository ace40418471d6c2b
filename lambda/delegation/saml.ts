import { createHash, randomBytes } from 'node:crypto';
import type { AssertionInput } from './types';
import { isBase64OneLine } from '../../src/contract/formats';
import type { Signer } from '../shared/signer';

/**
 * Writes the signed SAML 2.0 Response for AWS directly in exclusive-C14N form, so the bytes we hash
 * and sign are the bytes we send and no XML parser or DOM is needed at run time.
 */

const SAML_ASSERTION_NS = 'urn:oasis:names:tc:SAML:2.0:assertion';
const SAML_PROTOCOL_NS = 'urn:oasis:names:tc:SAML:2.0:protocol';
const XMLDSIG_NS = 'http://www.w3.org/2000/09/xmldsig#';
const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const ENVELOPED_SIGNATURE = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';
const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';
const NAMEID_PERSISTENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent';
const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';
const AUTHN_CONTEXT_UNSPECIFIED = 'urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified';
const ATTRNAME_FORMAT_URI = 'urn:oasis:names:tc:SAML:2.0:attrname-format:uri';
const STATUS_SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';

/** Prefix of the attribute names AWS STS reads from the assertion. */
export const AWS_SAML_ATTRIBUTE_PREFIX = 'https://aws.amazon.com/SAML/Attributes/';

/** How far `NotBefore` lies before the issue instant, so a relying party whose clock runs behind still accepts it. */
export const NOT_BEFORE_BACKDATE_SECONDS = 60;

/**
 * Anything outside the XML 1.0 `Char` production (TAB, LF, CR, U+0020..U+D7FF, U+E000..U+FFFD,
 * U+10000..U+10FFFF), including U+FFFE, U+FFFF and lone surrogates (the `u` flag sees them as code points).
 * The one definition of XML's characters: the emitter refuses such values, and the claim checks refuse
 * claims holding them before anything is signed.
 */
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/** Whether every character of `value` is one XML 1.0 can carry, so the emitter will write it. */
export function isXmlText(value: string): boolean {
  return !NOT_XML_CHAR.test(value);
}
const TEXT_SPECIALS = /[&<>\r]/g;
const ATTRIBUTE_SPECIALS = /[&<"\t\n\r]/g;
const CANONICAL_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  '\t': '&#x9;',
  '\n': '&#xA;',
  '\r': '&#xD;',
};

function canonicalEscape(character: string): string {
  return CANONICAL_ESCAPES[character];
}

/** Throws when `value` is not a string of XML 1.0 characters; the message names the field, never the value. */
function assertXmlString(value: unknown, field: string): asserts value is string {
  if (typeof value !== 'string') {
    throw new Error(`${field} must be a string`);
  }
  if (!isXmlText(value)) {
    throw new Error(`${field} contains a character that XML 1.0 cannot represent`);
  }
}

/** Escapes character data as exclusive C14N writes it (`&`, `<`, `>`, CR), refusing characters XML 1.0 cannot hold. */
export function escapeXmlText(value: string, field = 'value'): string {
  assertXmlString(value, field);
  return value.replace(TEXT_SPECIALS, canonicalEscape);
}

/**
 * Escapes a double-quoted attribute value as exclusive C14N writes it (`&`, `<`, `"`, TAB, LF, CR; the
 * whitespace escapes also keep parsers from normalizing it to spaces), refusing characters XML 1.0 cannot hold.
 */
export function escapeXmlAttribute(value: string, field = 'value'): string {
  assertXmlString(value, field);
  return value.replace(ATTRIBUTE_SPECIALS, canonicalEscape);
}

/** A fresh unguessable XML ID: an NCName (`_` then 32 hex digits), as `xs:ID` and XML-DSig references require. */
export function newSamlId(): string {
  return `_${randomBytes(16).toString('hex')}`;
}

/** `xs:dateTime` in UTC with whole seconds, the form every SAML relying party parses. */
function samlDateTime(epochMilliseconds: number, field: string): string {
  const date = new Date(Math.floor(epochMilliseconds / 1000) * 1000);
  if (!Number.isFinite(date.getTime()) || date.getUTCFullYear() < 1 || date.getUTCFullYear() > 9999) {
    throw new Error(`${field} is not a representable time`);
  }
  return `${date.toISOString().slice(0, 19)}Z`;
}

function nonEmpty(value: string, field: string): string {
  assertXmlString(value, field);
  if (value.length === 0) {
    throw new Error(`${field} is empty`);
  }
  return value;
}

function samlAttribute(name: string, values: readonly string[], field: string): string {
  const valueElements = values
    .map((value) => `<saml:AttributeValue>${escapeXmlText(value, field)}</saml:AttributeValue>`)
    .join('');
  return `<saml:Attribute Name="${escapeXmlAttribute(name, field)}" NameFormat="${ATTRNAME_FORMAT_URI}">${valueElements}</saml:Attribute>`;
}

function principalTagAttributes(tags: AssertionInput['grant']['sessionTags']): string {
  const seenKeys = new Set<string>();
  return tags.map((tag, index) => {
    const key = nonEmpty(tag.key, `grant.sessionTags[${index}].key`);
    // AWS treats tag keys case-insensitively, and two Attributes with one Name make the assertion ambiguous.
    const folded = key.toLowerCase();
    if (seenKeys.has(folded)) {
      throw new Error(`grant.sessionTags[${index}].key repeats an earlier key`);
    }
    seenKeys.add(folded);
    return samlAttribute(`${AWS_SAML_ATTRIBUTE_PREFIX}PrincipalTag:${key}`, [tag.value], `grant.sessionTags[${index}]`);
  }).join('');
}

/** The canonical `ds:SignedInfo` for one enveloped, exclusive-C14N, SHA-256 reference: exactly the bytes that are signed. */
/** Further attributes (OID URN names, never AWS's own), each Name once, one AttributeValue per value. */
function mappedAttributes(attributes: NonNullable<AssertionInput['grant']['samlAttributes']>): string {
  const names = new Set<string>();
  return attributes.map((attribute, index) => {
    const name = nonEmpty(attribute.name, `grant.samlAttributes[${index}].name`);
    if (name.startsWith(AWS_SAML_ATTRIBUTE_PREFIX) || names.has(name)) {
      throw new Error(`grant.samlAttributes[${index}].name is one of AWS's attributes or repeats an earlier name`);
    }
    names.add(name);
    if (attribute.values.length === 0) {
      throw new Error(`grant.samlAttributes[${index}] has no value`);
    }
    return samlAttribute(name, attribute.values, `grant.samlAttributes[${index}]`);
  }).join('');
}

export function canonicalSignedInfo(referenceId: string, digestBase64: string): string {
  return `<ds:SignedInfo xmlns:ds="${XMLDSIG_NS}">`
    + `<ds:CanonicalizationMethod Algorithm="${EXC_C14N}"></ds:CanonicalizationMethod>`
    + `<ds:SignatureMethod Algorithm="${RSA_SHA256}"></ds:SignatureMethod>`
    + `<ds:Reference URI="#${escapeXmlAttribute(referenceId, 'referenceId')}">`
    + '<ds:Transforms>'
    + `<ds:Transform Algorithm="${ENVELOPED_SIGNATURE}"></ds:Transform>`
    + `<ds:Transform Algorithm="${EXC_C14N}"></ds:Transform>`
    + '</ds:Transforms>'
    + `<ds:DigestMethod Algorithm="${SHA256}"></ds:DigestMethod>`
    + `<ds:DigestValue>${escapeXmlText(digestBase64, 'digest')}</ds:DigestValue>`
    + '</ds:Reference>'
    + '</ds:SignedInfo>';
}

export interface SamlSignatureOptions {
  /**
   * Base64 DER of the signing certificate, written into `ds:KeyInfo` so a relying party holding several
   * certificates (key rotation) can tell which one signed; verifiers still take the key from metadata.
   * @default - no KeyInfo
   */
  readonly keyInfoCertificate?: string;
}

/**
 * Builds the XML of a `samlp:Response` whose single `saml:Assertion` is signed by `signer` (enveloped
 * signature right after the Assertion's Issuer); the caller base64-encodes it for `AssumeRoleWithSAML`.
 * Throws a plain Error naming the offending field when a value cannot be represented in XML 1.0.
 */
export async function buildSignedSamlResponse(
  input: AssertionInput,
  signer: Signer,
  options: SamlSignatureOptions = {},
): Promise<string> {
  const { grant } = input;
  const issuer = escapeXmlText(nonEmpty(input.issuer, 'issuer'), 'issuer');
  const recipient = escapeXmlAttribute(nonEmpty(input.recipient, 'recipient'), 'recipient');
  if (input.audiences.length === 0) {
    throw new Error('audiences is empty');
  }
  const audiences = input.audiences
    .map((audience, index) => `<saml:Audience>${escapeXmlText(nonEmpty(audience, `audiences[${index}]`), `audiences[${index}]`)}</saml:Audience>`)
    .join('');
  const subject = escapeXmlText(nonEmpty(grant.subject, 'grant.subject'), 'grant.subject');
  nonEmpty(grant.roleArn, 'grant.roleArn');
  nonEmpty(input.providerArn, 'providerArn');
  if (!Number.isSafeInteger(grant.durationSeconds) || grant.durationSeconds <= 0) {
    throw new Error('grant.durationSeconds must be a positive integer');
  }
  if (!Number.isFinite(input.lifetimeSeconds) || input.lifetimeSeconds <= 0) {
    throw new Error('lifetimeSeconds must be a positive number');
  }
  const { keyInfoCertificate } = options;
  if (keyInfoCertificate !== undefined && !isBase64OneLine(keyInfoCertificate)) {
    throw new Error('keyInfoCertificate must be one line of base64');
  }
  const keyInfo = keyInfoCertificate === undefined
    ? ''
    : `<ds:KeyInfo><ds:X509Data><ds:X509Certificate>${keyInfoCertificate}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>`;

  const nowMs = input.now.getTime();
  const issueInstant = samlDateTime(nowMs, 'now');
  const notBefore = samlDateTime(nowMs - NOT_BEFORE_BACKDATE_SECONDS * 1000, 'now');
  const notOnOrAfter = samlDateTime(nowMs + input.lifetimeSeconds * 1000, 'lifetimeSeconds');
  const responseId = newSamlId();
  const assertionId = newSamlId();
  const sessionIndex = newSamlId();

  const attributes = samlAttribute(`${AWS_SAML_ATTRIBUTE_PREFIX}Role`, [`${grant.roleArn},${input.providerArn}`], 'grant.roleArn')
    + samlAttribute(`${AWS_SAML_ATTRIBUTE_PREFIX}RoleSessionName`, [grant.roleSessionName], 'grant.roleSessionName')
    + samlAttribute(`${AWS_SAML_ATTRIBUTE_PREFIX}SessionDuration`, [String(grant.durationSeconds)], 'grant.durationSeconds')
    + samlAttribute(`${AWS_SAML_ATTRIBUTE_PREFIX}SourceIdentity`, [grant.sourceIdentity], 'grant.sourceIdentity')
    + principalTagAttributes(grant.sessionTags)
    + mappedAttributes(grant.samlAttributes ?? []);

  // Exclusive C14N of the Assertion apex: only the visibly used `saml` namespace, attributes sorted by name.
  const assertionHead = `<saml:Assertion xmlns:saml="${SAML_ASSERTION_NS}" ID="${assertionId}" IssueInstant="${issueInstant}" Version="2.0">`
    + `<saml:Issuer>${issuer}</saml:Issuer>`;
  const assertionTail = '<saml:Subject>'
    + `<saml:NameID Format="${NAMEID_PERSISTENT}">${subject}</saml:NameID>`
    + `<saml:SubjectConfirmation Method="${BEARER}">`
    + `<saml:SubjectConfirmationData NotOnOrAfter="${notOnOrAfter}" Recipient="${recipient}"></saml:SubjectConfirmationData>`
    + '</saml:SubjectConfirmation>'
    + '</saml:Subject>'
    + `<saml:Conditions NotBefore="${notBefore}" NotOnOrAfter="${notOnOrAfter}">`
    + `<saml:AudienceRestriction>${audiences}</saml:AudienceRestriction>`
    + '</saml:Conditions>'
    + `<saml:AuthnStatement AuthnInstant="${issueInstant}" SessionIndex="${sessionIndex}">`
    + `<saml:AuthnContext><saml:AuthnContextClassRef>${AUTHN_CONTEXT_UNSPECIFIED}</saml:AuthnContextClassRef></saml:AuthnContext>`
    + '</saml:AuthnStatement>'
    + `<saml:AttributeStatement>${attributes}</saml:AttributeStatement>`
    + '</saml:Assertion>';

  // The enveloped-signature transform removes ds:Signature, so the digest covers head and tail alone.
  const digest = createHash('sha256').update(assertionHead).update(assertionTail).digest('base64');
  const signedInfo = canonicalSignedInfo(assertionId, digest);
  const signatureValue = Buffer.from(await signer.sign(Buffer.from(signedInfo, 'utf8'))).toString('base64');
  const signature = `<ds:Signature xmlns:ds="${XMLDSIG_NS}">${signedInfo}<ds:SignatureValue>${signatureValue}</ds:SignatureValue>${keyInfo}</ds:Signature>`;

  return `<samlp:Response xmlns:saml="${SAML_ASSERTION_NS}" xmlns:samlp="${SAML_PROTOCOL_NS}" Destination="${recipient}" ID="${responseId}" IssueInstant="${issueInstant}" Version="2.0">`
    + `<saml:Issuer>${issuer}</saml:Issuer>`
    + `<samlp:Status><samlp:StatusCode Value="${STATUS_SUCCESS}"></samlp:StatusCode></samlp:Status>`
    + assertionHead
    + signature
    + assertionTail
    + '</samlp:Response>';
}
