import { Token } from 'aws-cdk-lib';
import { MAX_ENTITY_ID_LENGTH } from '../contract/delegation-environment';
import { isBase64OneLine } from '../contract/formats';

/** The inputs of the IdP metadata document; each string may be a CDK token. */
export interface SamlIdpMetadataProps {
  /** The IdP's entityID: the Issuer of every assertion. */
  readonly entityId: string;
  /** Base64 DER X.509 certificates, one line each, of every key that may sign (1 to 10, as IAM allows). */
  readonly certificates: string[];
  /** The Location of the one HTTP-POST SingleSignOnService. */
  readonly ssoLocation: string;
}

/** IAM accepts at most this many signing keys per SAML provider. */
export const MAX_SAML_PROVIDER_KEYS = 10;

const XML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  '\t': '&#9;',
  '\n': '&#10;',
  '\r': '&#13;',
};
const XML_FORBIDDEN_CHARACTERS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

/**
 * Escapes a value for a double-quoted XML attribute or for element text. CDK token markers
 * (`${Token[KEY]}`, KEY in `[A-Za-z0-9:._-]`) contain none of the escaped characters, so tokens pass
 * through intact and resolve in place; the values they resolve to are not escaped.
 */
export function escapeXmlAttributeValue(value: string): string {
  if (XML_FORBIDDEN_CHARACTERS.test(value)) {
    throw new Error('SAML metadata values must not contain characters that XML 1.0 forbids (control characters)');
  }
  return value.replace(/[&<>"\t\n\r]/g, (character) => XML_ESCAPES[character]);
}

/**
 * The SAML 2.0 metadata of the delegation IdP, as IAM's SAML provider reads it: an EntityDescriptor
 * with one IDPSSODescriptor listing one signing KeyDescriptor per certificate (several during key
 * rotation), the persistent NameID format and an HTTP-POST SingleSignOnService.
 *
 * Built by plain concatenation so that token-valued inputs (certificates made by a custom resource,
 * an entityID containing the account) resolve into an `Fn::Join`. With one RSA-2048 certificate the
 * document is well over the 1,000 characters IAM requires.
 *
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_saml.html
 */
export function samlIdpMetadataXml(props: SamlIdpMetadataProps): string {
  validateMetadataProps(props);
  const keyDescriptors = props.certificates.map((certificate) => [
    '    <md:KeyDescriptor use="signing">',
    '      <ds:KeyInfo>',
    '        <ds:X509Data>',
    `          <ds:X509Certificate>${escapeXmlAttributeValue(certificate)}</ds:X509Certificate>`,
    '        </ds:X509Data>',
    '      </ds:KeyInfo>',
    '    </md:KeyDescriptor>',
  ].join('\n'));
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="${escapeXmlAttributeValue(props.entityId)}">`,
    '  <md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">',
    ...keyDescriptors,
    '    <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>',
    `    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${escapeXmlAttributeValue(props.ssoLocation)}"/>`,
    '  </md:IDPSSODescriptor>',
    '</md:EntityDescriptor>',
    '',
  ].join('\n');
}

/** Checks what can be checked at synthesis time; token values are left to deploy time. */
function validateMetadataProps(props: SamlIdpMetadataProps): void {
  if (!Token.isUnresolved(props.entityId) && (props.entityId.length === 0 || props.entityId.length > MAX_ENTITY_ID_LENGTH)) {
    throw new Error(`SAML entityID must be 1 to ${MAX_ENTITY_ID_LENGTH} characters, got ${props.entityId.length}`);
  }
  if (props.certificates.length === 0 || props.certificates.length > MAX_SAML_PROVIDER_KEYS) {
    throw new Error(`SAML metadata needs 1 to ${MAX_SAML_PROVIDER_KEYS} signing certificates, got ${props.certificates.length}`);
  }
  props.certificates.forEach((certificate, index) => {
    if (!Token.isUnresolved(certificate) && !isBase64OneLine(certificate)) {
      throw new Error(`SAML signing certificate ${index} must be base64 DER on one line (no PEM armour, no line breaks)`);
    }
  });
  if (!Token.isUnresolved(props.ssoLocation) && props.ssoLocation.length === 0) {
    throw new Error('SAML SingleSignOnService location must not be empty');
  }
}
