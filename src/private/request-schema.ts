import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import { MAX_ID_TOKEN_CHARS } from '../delegation-environment';

/** Session durations STS allows: 15 minutes to 12 hours. */
export const MIN_SESSION_SECONDS = 900;
export const MAX_SESSION_SECONDS = 43_200;

/**
 * The JSON body accepted by API Gateway: either form of the HTTP contract, with bounded sizes.
 * The handler checks the same rules strictly; this refuses obvious garbage before it costs a Lambda call.
 * The id_token's limit is the handler's, for every way a token arrives.
 */
export function delegationRequestSchema(): apigateway.JsonSchema {
  const text = (maxLength: number): apigateway.JsonSchema => ({ type: apigateway.JsonSchemaType.STRING, maxLength });
  return {
    schema: apigateway.JsonSchemaVersion.DRAFT4,
    title: 'DelegationRequest',
    type: apigateway.JsonSchemaType.OBJECT,
    additionalProperties: false,
    properties: {
      client_id: text(256),
      grant_type: text(128),
      id_token: text(MAX_ID_TOKEN_CHARS),
      target: text(256),
      api_type: text(16),
      scope: text(1024),
      role: text(2048),
      principal: text(2048),
      durationSeconds: { type: apigateway.JsonSchemaType.INTEGER, minimum: MIN_SESSION_SECONDS, maximum: MAX_SESSION_SECONDS },
    },
  };
}
