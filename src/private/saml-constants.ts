/**
 * AWS as a SAML service provider, per partition: the sign-in endpoint that is the assertion's Recipient
 * (and so `SAML:aud`), and the entityID of AWS that every assertion lists as an Audience.
 *
 * This file is read by the constructs and by the delegation handler, so it stays free of imports.
 *
 * Sources:
 * - aws: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_saml_assertions.html
 *   (Recipient `https://signin.aws.amazon.com/saml`, Audience `urn:amazon:webservices`).
 * - aws-cn: https://docs.amazonaws.cn/en_us/IAM/latest/UserGuide/id_roles_providers_create_saml_relying-party.html
 *   names `https://signin.amazonaws.cn/saml` and the service provider metadata
 *   `https://signin.amazonaws.cn/static/saml-metadata.xml`, whose entityID `urn:amazon:webservices:cn-north-1`
 *   is the Audience that identity providers configure for the China Regions (both Beijing and Ningxia).
 * - aws-us-gov: https://docs.aws.amazon.com/govcloud-us/latest/UserGuide/govcloud-iam.html
 *   ("Application ACS URL: https://signin.amazonaws-us-gov.com/saml", "Application SAML audience:
 *   urn:amazon:webservices:govcloud").
 */
export const SAML_SERVICE_PROVIDERS = {
  'aws': { recipient: 'https://signin.aws.amazon.com/saml', audience: 'urn:amazon:webservices' },
  'aws-cn': { recipient: 'https://signin.amazonaws.cn/saml', audience: 'urn:amazon:webservices:cn-north-1' },
  'aws-us-gov': { recipient: 'https://signin.amazonaws-us-gov.com/saml', audience: 'urn:amazon:webservices:govcloud' },
} as const;

/** The partitions whose SAML endpoints are known. */
export type SamlPartition = keyof typeof SAML_SERVICE_PROVIDERS;

/** The AWS sign-in endpoint for SAML in the commercial partition. */
export const DEFAULT_SAML_RECIPIENT = SAML_SERVICE_PROVIDERS.aws.recipient;

/** The entityID of AWS as a SAML service provider in the commercial partition. */
export const AWS_SAML_AUDIENCE = SAML_SERVICE_PROVIDERS.aws.audience;

/**
 * The Audience of AWS for a sign-in endpoint (global or regional, e.g. `https://cn-northwest-1.signin.amazonaws.cn/saml`),
 * read from its domain; the commercial audience for anything else.
 */
export function awsSamlAudienceFor(recipient: string): string {
  const host = /^https:\/\/([^/]+)\//.exec(recipient)?.[1] ?? '';
  if (host === 'signin.amazonaws.cn' || host.endsWith('.signin.amazonaws.cn')) {
    return SAML_SERVICE_PROVIDERS['aws-cn'].audience;
  }
  if (host === 'signin.amazonaws-us-gov.com' || host.endsWith('.signin.amazonaws-us-gov.com')) {
    return SAML_SERVICE_PROVIDERS['aws-us-gov'].audience;
  }
  return AWS_SAML_AUDIENCE;
}
