/** The AWS sign-in endpoint for SAML, used as the assertion's Recipient and so as `SAML:aud`. */
export const DEFAULT_SAML_RECIPIENT = 'https://signin.aws.amazon.com/saml';

/** The entityID of AWS as a SAML service provider, always listed as an Audience. */
export const AWS_SAML_AUDIENCE = 'urn:amazon:webservices';
