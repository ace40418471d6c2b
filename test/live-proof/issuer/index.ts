import { KMSClient } from '@aws-sdk/client-kms';
import type { LambdaFunctionURLEvent, LambdaFunctionURLResult } from 'aws-lambda';
import { DISCOVERY_PATH, ISSUER_KEY_ARN_ENV, JWKS_PATH } from '../contract';
import { keyIdOf, kmsPublicKey, publicJwk, type PublicJwk } from '../id-token';

/**
 * The test OpenID issuer behind a Lambda function URL: serves the discovery document and the JWKS
 * (the public half of a KMS key, read with kms:GetPublicKey) over https. It mints nothing: tokens are
 * signed by the prover, the only principal allowed to kms:Sign with the key.
 */

export interface IssuerOptions {
  readonly keyArn: string;
  /** The DER SubjectPublicKeyInfo of the key. */
  publicKey(): Promise<Uint8Array>;
  /**
   * The issuer URL of a request. A function cannot be told its own URL (the URL depends on the
   * function), so it is the request's own host: `https://<domainName>/`, the value the stack gives
   * the endpoint.
   */
  issuerOf?(event: LambdaFunctionURLEvent): string;
}

export type IssuerHandler = (event: LambdaFunctionURLEvent) => Promise<LambdaFunctionURLResult>;

function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): LambdaFunctionURLResult {
  return {
    statusCode,
    headers: { 'Content-Type': 'application/json', 'Cache-Control': 'max-age=60', ...headers },
    body: JSON.stringify(body),
  };
}

export function createIssuerHandler(options: IssuerOptions): IssuerHandler {
  const kid = keyIdOf(options.keyArn);
  const issuerOf = options.issuerOf ?? ((event: LambdaFunctionURLEvent) => `https://${event.requestContext.domainName}/`);
  // Read once per container; a failed read is retried by the next request.
  let keys: Promise<PublicJwk[]> | undefined;

  return async (event) => {
    const method = event.requestContext.http.method;
    if (method !== 'GET') {
      return json(405, { error: 'method_not_allowed' }, { Allow: 'GET' });
    }
    if (event.rawPath === DISCOVERY_PATH) {
      const issuer = issuerOf(event);
      return json(200, {
        issuer,
        jwks_uri: `${issuer}${JWKS_PATH.slice(1)}`,
        response_types_supported: ['id_token'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
      });
    }
    if (event.rawPath === JWKS_PATH) {
      keys ??= options.publicKey().then((der) => [publicJwk(der, kid)]);
      try {
        return json(200, { keys: await keys });
      } catch {
        keys = undefined;
        return json(503, { error: 'temporarily_unavailable' }, { 'Cache-Control': 'no-store' });
      }
    }
    return json(404, { error: 'not_found' });
  };
}

let deployed: IssuerHandler | undefined;

/** The Lambda entry point, configured from {@link ISSUER_KEY_ARN_ENV}. */
export const handler: IssuerHandler = (event) => {
  if (!deployed) {
    const keyArn = process.env[ISSUER_KEY_ARN_ENV] ?? '';
    const kms = new KMSClient({});
    deployed = createIssuerHandler({ keyArn, publicKey: () => kmsPublicKey(kms, keyArn) });
  }
  return deployed(event);
};
