/**
 * The SAML attributes AWS turns into `saml:*` condition keys of trust policies, by attribute Name
 * (an OID URN, sent with NameFormat `urn:oasis:names:tc:SAML:2.0:attrname-format:uri`). Import-free,
 * so that the loopback STS exposes exactly the keys the constructs promise.
 *
 * Keys as listed by the Service Authorization Reference for AWS STS; OIDs from eduPerson (REFEDS)
 * and the X.500 / RFC 4519 attribute types. `saml:cn` is left out: AWS documents it only as "the
 * eduOrg attribute", without the attribute Name it is read from.
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#condition-keys-saml
 */
export const SAML_ATTRIBUTE_CONDITION_KEYS: Readonly<Record<string, string>> = {
  'urn:oid:1.3.6.1.4.1.5923.1.1.1.1': 'saml:edupersonaffiliation',
  'urn:oid:1.3.6.1.4.1.5923.1.1.1.2': 'saml:edupersonnickname',
  'urn:oid:1.3.6.1.4.1.5923.1.1.1.3': 'saml:edupersonorgdn',
  'urn:oid:1.3.6.1.4.1.5923.1.1.1.4': 'saml:edupersonorgunitdn',
  'urn:oid:1.3.6.1.4.1.5923.1.1.1.5': 'saml:edupersonprimaryaffiliation',
  'urn:oid:1.3.6.1.4.1.5923.1.1.1.6': 'saml:edupersonprincipalname',
  'urn:oid:1.3.6.1.4.1.5923.1.1.1.7': 'saml:edupersonentitlement',
  'urn:oid:1.3.6.1.4.1.5923.1.1.1.8': 'saml:edupersonprimaryorgunitdn',
  'urn:oid:1.3.6.1.4.1.5923.1.1.1.9': 'saml:edupersonscopedaffiliation',
  'urn:oid:1.3.6.1.4.1.5923.1.1.1.10': 'saml:edupersontargetedid',
  'urn:oid:1.3.6.1.4.1.5923.1.1.1.11': 'saml:edupersonassurance',
  'urn:oid:1.3.6.1.4.1.5923.1.2.1.2': 'saml:eduorghomepageuri',
  'urn:oid:1.3.6.1.4.1.5923.1.2.1.3': 'saml:eduorgidentityauthnpolicyuri',
  'urn:oid:1.3.6.1.4.1.5923.1.2.1.4': 'saml:eduorglegalname',
  'urn:oid:1.3.6.1.4.1.5923.1.2.1.5': 'saml:eduorgsuperioruri',
  'urn:oid:1.3.6.1.4.1.5923.1.2.1.6': 'saml:eduorgwhitepagesuri',
  'urn:oid:2.5.4.3': 'saml:commonName',
  'urn:oid:2.5.4.42': 'saml:givenName',
  'urn:oid:2.5.4.4': 'saml:surname',
  'urn:oid:2.5.4.41': 'saml:name',
  'urn:oid:0.9.2342.19200300.100.1.3': 'saml:mail',
  'urn:oid:0.9.2342.19200300.100.1.1': 'saml:uid',
  'urn:oid:2.5.4.45': 'saml:x500UniqueIdentifier',
  'urn:oid:0.9.2342.19200300.100.1.45': 'saml:organizationStatus',
  'urn:oid:1.2.840.113556.1.4.98': 'saml:primaryGroupSID',
};
