import { SAML_SERVICE_PROVIDERS } from './delegation-environment';

/**
 * What the constructs and the handler derive from AWS's SAML service providers (in
 * `delegation-environment.ts`): the partitions, the commercial defaults, and the Audience that goes
 * with a Recipient. Its one import is the import-free contract, so the handler may read it too.
 */

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
