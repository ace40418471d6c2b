import { MAX_ID_TOKEN_CHARS, MAX_SESSION_DURATION_SECONDS, MIN_SESSION_DURATION_SECONDS } from './delegation-environment';

/**
 * The JSON Schema (draft 4) subset the request model uses, written without aws-cdk-lib so that the
 * loopback HTTP adapter (and the local command bundled from it) can apply the very same model.
 * Its values are those of aws-cdk-lib's `JsonSchemaType` and `JsonSchemaVersion`.
 */
export interface RequestSchema {
  readonly schema?: 'http://json-schema.org/draft-04/schema#';
  readonly title?: string;
  readonly type: 'object' | 'string' | 'integer';
  readonly additionalProperties?: boolean;
  readonly properties?: Readonly<Record<string, RequestSchema>>;
  readonly maxLength?: number;
  readonly minimum?: number;
  readonly maximum?: number;
}

/**
 * The JSON body accepted by API Gateway: either form of the HTTP contract, with bounded sizes.
 * The handler checks the same rules strictly; this refuses obvious garbage before it costs a Lambda call.
 * The id_token's limit is the handler's, for every way a token arrives.
 */
export function delegationRequestSchema(): RequestSchema {
  const text = (maxLength: number): RequestSchema => ({ type: 'string', maxLength });
  return {
    schema: 'http://json-schema.org/draft-04/schema#',
    title: 'DelegationRequest',
    type: 'object',
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
      durationSeconds: { type: 'integer', minimum: MIN_SESSION_DURATION_SECONDS, maximum: MAX_SESSION_DURATION_SECONDS },
    },
  };
}
