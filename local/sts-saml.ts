import { X509Certificate } from 'node:crypto';
import { DOMParser, onWarningStopParsing, type Element } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import { isBase64OneLine } from '../src/contract/formats';

/**
 * Reads a base64 SAML Response the way the loopback STS needs it: strict XML parsing, the Assertion's
 * signature verified by xml-crypto against the provider's metadata certificates only (never a key the
 * document carries), and every assertion fact taken from the canonical XML that the signature covers,
 * so nothing unsigned (a wrapped copy, a second Assertion) can influence the answer.
 */

const SAML_ASSERTION_NS = 'urn:oasis:names:tc:SAML:2.0:assertion';
const SAML_PROTOCOL_NS = 'urn:oasis:names:tc:SAML:2.0:protocol';
const SAML_METADATA_NS = 'urn:oasis:names:tc:SAML:2.0:metadata';
const XMLDSIG_NS = 'http://www.w3.org/2000/09/xmldsig#';
/** IAM's limits on a SAML provider's metadata document (CreateSAMLProvider). */
const MIN_METADATA_CHARACTERS = 1000;
const MAX_METADATA_CHARACTERS = 10_000_000;
const MAX_PROVIDER_KEYS = 10;
const MIN_KEY_BITS = 1024;

/** Why an assertion was refused, in the categories STS answers with different codes. */
export type SamlRejection = 'malformed' | 'signature';

/** A refusal of the SAML document itself; `message` never quotes the document. */
export class SamlResponseError extends Error {
  constructor(readonly kind: SamlRejection, message: string) {
    super(message);
    this.name = 'SamlResponseError';
  }
}

/** What the loopback STS keeps of a provider's metadata. */
export interface SamlProviderMetadata {
  readonly entityId: string;
  /** Base64 DER of every signing certificate (KeyDescriptor without `use` or with `use="signing"`). */
  readonly certificates: readonly string[];
}

export interface SubjectConfirmationFacts {
  readonly method: string;
  readonly recipient?: string;
  readonly notBefore?: Date;
  readonly notOnOrAfter?: Date;
}

/** Facts of the signed Assertion (everything here was covered by the verified signature). */
export interface AssertionFacts {
  readonly id: string;
  readonly issueInstant: Date;
  readonly issuer: string;
  readonly nameId?: string;
  readonly nameIdFormat?: string;
  readonly subjectConfirmations: readonly SubjectConfirmationFacts[];
  readonly conditionsNotBefore?: Date;
  readonly conditionsNotOnOrAfter?: Date;
  /** One list of Audience values per AudienceRestriction. */
  readonly audienceRestrictions: ReadonlyArray<readonly string[]>;
  readonly authnStatementCount: number;
  /** Earliest `SessionNotOnOrAfter` of the AuthnStatements, if any. */
  readonly sessionNotOnOrAfter?: Date;
  /** Attribute values by attribute Name (each Name at most once). */
  readonly attributes: ReadonlyMap<string, readonly string[]>;
}

/** The parts of the Response STS looks at, with the verified Assertion. */
export interface SamlResponseFacts {
  /** The Response's own Issuer (outside the signature). */
  readonly responseIssuer?: string;
  /** The top-level StatusCode Value. */
  readonly statusCode?: string;
  readonly assertion: AssertionFacts;
}

/** Parses XML, refusing DTDs and anything the parser merely warns about. */
function parseXml(xml: string): Element {
  if (/<!DOCTYPE/i.test(xml)) {
    throw new SamlResponseError('malformed', 'document type declarations are not allowed');
  }
  let root: Element | null;
  try {
    root = new DOMParser({ onError: onWarningStopParsing }).parseFromString(xml, 'text/xml').documentElement;
  } catch {
    throw new SamlResponseError('malformed', 'not well-formed XML');
  }
  if (!root) {
    throw new SamlResponseError('malformed', 'not well-formed XML');
  }
  return root;
}

function childElements(parent: Element, namespace: string, localName: string): Element[] {
  const found: Element[] = [];
  for (let node = parent.firstChild; node; node = node.nextSibling) {
    const element = node as Element;
    if (node.nodeType === 1 && element.namespaceURI === namespace && element.localName === localName) {
      found.push(element);
    }
  }
  return found;
}

function optionalChild(parent: Element, namespace: string, localName: string, what: string): Element | undefined {
  const found = childElements(parent, namespace, localName);
  if (found.length > 1) {
    throw new SamlResponseError('malformed', `more than one ${what}`);
  }
  return found[0];
}

function text(element: Element): string {
  return (element.textContent ?? '').trim();
}

function optionalAttribute(element: Element, name: string): string | undefined {
  return element.hasAttribute(name) ? element.getAttribute(name) ?? undefined : undefined;
}

function dateAttribute(element: Element, name: string): Date | undefined {
  const value = optionalAttribute(element, name);
  if (value === undefined) {
    return undefined;
  }
  const parsed = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value) ? new Date(value) : undefined;
  if (parsed === undefined || Number.isNaN(parsed.getTime())) {
    throw new SamlResponseError('malformed', `${element.localName}/@${name} is not an xs:dateTime`);
  }
  return parsed;
}

function pemOfBase64Der(base64Der: string): string {
  const lines = base64Der.match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

/** Throws unless `base64Der` is an X.509 certificate whose key has at least {@link MIN_KEY_BITS} bits. */
function checkCertificate(base64Der: string): void {
  let bits: number | undefined;
  try {
    const key = new X509Certificate(Buffer.from(base64Der, 'base64')).publicKey;
    bits = key.asymmetricKeyDetails?.modulusLength ?? (key.asymmetricKeyType === 'ec' ? 256 : undefined);
  } catch {
    throw new Error('Could not parse metadata: a signing certificate is not X.509 DER');
  }
  if (bits === undefined || bits < MIN_KEY_BITS) {
    throw new Error(`Could not parse metadata: signing keys must have at least ${MIN_KEY_BITS} bits`);
  }
}

/**
 * Reads entityID and signing certificates from IdP metadata (an `md:EntityDescriptor` with an
 * IDPSSODescriptor), applying IAM's limits: 1,000 to 10,000,000 characters, 1 to 10 keys of at least
 * 1024 bits.
 */
export function parseSamlProviderMetadata(metadataXml: string): SamlProviderMetadata {
  if (metadataXml.length < MIN_METADATA_CHARACTERS || metadataXml.length > MAX_METADATA_CHARACTERS) {
    throw new Error(`Could not parse metadata: it must have ${MIN_METADATA_CHARACTERS} to ${MAX_METADATA_CHARACTERS} characters`);
  }
  const root = parseXml(metadataXml);
  if (root.namespaceURI !== SAML_METADATA_NS || root.localName !== 'EntityDescriptor') {
    throw new Error('Could not parse metadata: it must be an md:EntityDescriptor');
  }
  const entityId = root.getAttribute('entityID') ?? '';
  if (entityId === '') {
    throw new Error('Could not parse metadata: it has no entityID');
  }
  const certificates: string[] = [];
  for (const descriptor of childElements(root, SAML_METADATA_NS, 'IDPSSODescriptor')) {
    for (const keyDescriptor of childElements(descriptor, SAML_METADATA_NS, 'KeyDescriptor')) {
      const use = keyDescriptor.getAttribute('use');
      if (use && use !== 'signing') continue;
      const nodes = keyDescriptor.getElementsByTagNameNS(XMLDSIG_NS, 'X509Certificate');
      for (let index = 0; index < nodes.length; index++) {
        const base64 = (nodes.item(index)?.textContent ?? '').replace(/\s+/g, '');
        if (!isBase64OneLine(base64)) {
          throw new Error('Could not parse metadata: a certificate is not base64');
        }
        certificates.push(base64);
      }
    }
  }
  if (certificates.length === 0 || certificates.length > MAX_PROVIDER_KEYS) {
    throw new Error(`Could not parse metadata: it must list 1 to ${MAX_PROVIDER_KEYS} signing certificates`);
  }
  certificates.forEach(checkCertificate);
  return { entityId, certificates };
}

/** Decodes `SAMLAssertion` (base64 of a samlp:Response), refusing anything that is not strict base64 of UTF-8. */
export function decodeSamlAssertionParameter(samlAssertion: string): string {
  const compact = samlAssertion.replace(/[\r\n]/g, '');
  if (!isBase64OneLine(compact)) {
    throw new SamlResponseError('malformed', 'SAMLAssertion is not base64');
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(compact, 'base64'));
  } catch {
    throw new SamlResponseError('malformed', 'SAMLAssertion is not UTF-8');
  }
}

/**
 * Verifies the Assertion's enveloped signature with one of `certificates` and returns the canonical XML
 * the signature covers. The document must hold exactly one Assertion with exactly one Signature child
 * whose single Reference points at that Assertion.
 */
function verifiedAssertionXml(xml: string, assertion: Element, certificates: readonly string[]): string {
  const id = assertion.getAttribute('ID') ?? '';
  const signatures = childElements(assertion, XMLDSIG_NS, 'Signature');
  if (signatures.length !== 1) {
    throw new SamlResponseError('signature', 'the Assertion must carry exactly one signature');
  }
  for (const certificate of certificates) {
    // KeyInfo is never trusted: only the metadata's certificate may verify.
    const verifier = new SignedXml({ publicCert: pemOfBase64Der(certificate), getCertFromKeyInfo: () => null });
    try {
      verifier.loadSignature(signatures[0]);
      const references = verifier.getReferences();
      if (references.length !== 1 || references[0].uri !== `#${id}`) {
        throw new SamlResponseError('signature', 'the signature must reference the Assertion and nothing else');
      }
      if (verifier.checkSignature(xml)) {
        const signed = verifier.getSignedReferences();
        if (signed.length === 1) {
          return signed[0];
        }
      }
    } catch (error) {
      if (error instanceof SamlResponseError) throw error;
    }
  }
  throw new SamlResponseError('signature', 'Response signature invalid');
}

function readAssertion(assertion: Element): AssertionFacts {
  const id = assertion.getAttribute('ID') ?? '';
  const issuerElement = optionalChild(assertion, SAML_ASSERTION_NS, 'Issuer', 'Assertion Issuer');
  const issueInstant = dateAttribute(assertion, 'IssueInstant');
  if (!issuerElement || !issueInstant || assertion.getAttribute('Version') !== '2.0') {
    throw new SamlResponseError('malformed', 'the Assertion needs Version 2.0, an IssueInstant and an Issuer');
  }

  const subject = optionalChild(assertion, SAML_ASSERTION_NS, 'Subject', 'Subject');
  const nameIdElement = subject && optionalChild(subject, SAML_ASSERTION_NS, 'NameID', 'NameID');
  const subjectConfirmations = subject ? childElements(subject, SAML_ASSERTION_NS, 'SubjectConfirmation').map((confirmation) => {
    const data = optionalChild(confirmation, SAML_ASSERTION_NS, 'SubjectConfirmationData', 'SubjectConfirmationData');
    return {
      method: confirmation.getAttribute('Method') ?? '',
      recipient: data && optionalAttribute(data, 'Recipient'),
      notBefore: data && dateAttribute(data, 'NotBefore'),
      notOnOrAfter: data && dateAttribute(data, 'NotOnOrAfter'),
    };
  }) : [];

  const conditions = optionalChild(assertion, SAML_ASSERTION_NS, 'Conditions', 'Conditions');
  const audienceRestrictions = conditions
    ? childElements(conditions, SAML_ASSERTION_NS, 'AudienceRestriction').map((restriction) =>
      childElements(restriction, SAML_ASSERTION_NS, 'Audience').map(text))
    : [];

  const authnStatements = childElements(assertion, SAML_ASSERTION_NS, 'AuthnStatement');
  const sessionEnds = authnStatements.map((statement) => dateAttribute(statement, 'SessionNotOnOrAfter'))
    .filter((date): date is Date => date !== undefined);

  const attributes = new Map<string, string[]>();
  for (const statement of childElements(assertion, SAML_ASSERTION_NS, 'AttributeStatement')) {
    for (const attribute of childElements(statement, SAML_ASSERTION_NS, 'Attribute')) {
      const name = attribute.getAttribute('Name') ?? '';
      if (attributes.has(name)) {
        throw new SamlResponseError('malformed', 'an attribute Name appears more than once');
      }
      attributes.set(name, childElements(attribute, SAML_ASSERTION_NS, 'AttributeValue').map((value) => value.textContent ?? ''));
    }
  }

  return {
    id,
    issueInstant,
    issuer: text(issuerElement),
    nameId: nameIdElement ? nameIdElement.textContent ?? '' : undefined,
    nameIdFormat: nameIdElement ? optionalAttribute(nameIdElement, 'Format') : undefined,
    subjectConfirmations,
    conditionsNotBefore: conditions && dateAttribute(conditions, 'NotBefore'),
    conditionsNotOnOrAfter: conditions && dateAttribute(conditions, 'NotOnOrAfter'),
    audienceRestrictions,
    authnStatementCount: authnStatements.length,
    sessionNotOnOrAfter: sessionEnds.length > 0 ? new Date(Math.min(...sessionEnds.map((date) => date.getTime()))) : undefined,
    attributes,
  };
}

/**
 * Decodes, parses and verifies a `SAMLAssertion` parameter against a provider's certificates.
 * Throws {@link SamlResponseError} (`malformed` or `signature`).
 */
export function readSignedSamlResponse(samlAssertion: string, certificates: readonly string[]): SamlResponseFacts {
  const xml = decodeSamlAssertionParameter(samlAssertion);
  const response = parseXml(xml);
  if (response.namespaceURI !== SAML_PROTOCOL_NS || response.localName !== 'Response') {
    throw new SamlResponseError('malformed', 'the document is not a samlp:Response');
  }
  const everyAssertion = response.getElementsByTagNameNS(SAML_ASSERTION_NS, 'Assertion');
  const assertions = childElements(response, SAML_ASSERTION_NS, 'Assertion');
  if (everyAssertion.length !== 1 || assertions.length !== 1) {
    throw new SamlResponseError('malformed', 'the Response must hold exactly one Assertion');
  }
  if (response.getElementsByTagNameNS(SAML_ASSERTION_NS, 'EncryptedAssertion').length > 0) {
    throw new SamlResponseError('malformed', 'encrypted assertions are not configured for this provider');
  }
  const assertionId = assertions[0].getAttribute('ID') ?? '';
  if (!/^[A-Za-z_][\w.-]*$/.test(assertionId)) {
    throw new SamlResponseError('malformed', 'the Assertion ID is not an NCName');
  }

  const signedXml = verifiedAssertionXml(xml, assertions[0], certificates);
  const signedAssertion = parseXml(signedXml);
  if (signedAssertion.namespaceURI !== SAML_ASSERTION_NS || signedAssertion.localName !== 'Assertion'
    || signedAssertion.getAttribute('ID') !== assertionId) {
    throw new SamlResponseError('signature', 'the signature does not cover the Assertion');
  }

  const responseIssuer = optionalChild(response, SAML_ASSERTION_NS, 'Issuer', 'Response Issuer');
  const status = optionalChild(response, SAML_PROTOCOL_NS, 'Status', 'Status');
  const statusCode = status && optionalChild(status, SAML_PROTOCOL_NS, 'StatusCode', 'StatusCode');
  return {
    responseIssuer: responseIssuer && text(responseIssuer),
    statusCode: statusCode?.getAttribute('Value') ?? undefined,
    assertion: readAssertion(signedAssertion),
  };
}
