import { DelegationError, type Dependency } from '../../lambda/delegation/errors';

describe('DelegationError factories', () => {
  test.each<[string, DelegationError, number, string]>([
    ['badRequest', DelegationError.badRequest('body_json', 'Request body is not valid JSON'), 400, 'invalid_request'],
    ['unsupportedGrantType', DelegationError.unsupportedGrantType('grant_type', 'grant_type must be …'), 400, 'unsupported_grant_type'],
    ['invalidToken', DelegationError.invalidToken('jwt_expired', 'The token has expired'), 401, 'invalid_token'],
    ['accessDenied', DelegationError.accessDenied('role_not_allowed', 'The requested role is not allowed'), 403, 'access_denied'],
    ['methodNotAllowed', DelegationError.methodNotAllowed('method_not_allowed', 'Only POST is supported'), 405, 'invalid_request'],
    ['payloadTooLarge', DelegationError.payloadTooLarge('body_too_large', 'Request body exceeds 16384 bytes'), 413, 'invalid_request'],
    ['unsupportedMediaType', DelegationError.unsupportedMediaType('content_type', 'Content-Type must be …'), 415, 'invalid_request'],
  ])('%s keeps its reason and description and answers its status and OAuth code', (_name, error, status, code) => {
    expect(error).toBeInstanceOf(DelegationError);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('DelegationError');
    expect([error.status, error.code]).toEqual([status, code]);
    expect(error.message).toBe(error.description);
    expect(error.retryAfterSeconds).toBeUndefined();
    expect(error.cause).toBeUndefined();
  });

  test.each<[Dependency, string]>([
    ['jwks', 'The token issuer\'s keys cannot be fetched right now; try again later'],
    ['kms', 'The signing service is temporarily unavailable; retry later'],
    ['secretsmanager', 'The signing service is temporarily unavailable; retry later'],
    ['sts', 'AWS STS is temporarily unavailable; retry later'],
  ])('unavailable(%s) is a 503 whose reason names the dependency and whose description never quotes it', (dependency, description) => {
    const error = DelegationError.unavailable(dependency, 'Throttling', 2);
    expect([error.status, error.code, error.reason, error.description]).toEqual([503, 'temporarily_unavailable', `${dependency}_Throttling`, description]);
    expect(error.retryAfterSeconds).toBe(2);
  });

  test('misconfigured is a 500 for the operator that carries what went wrong as cause, not in its description', () => {
    const cause = new Error('The requested DurationSeconds exceeds the MaxSessionDuration set for this role.');
    const error = DelegationError.misconfigured('sts_ValidationError_configuration', cause);
    expect([error.status, error.code, error.reason]).toEqual([500, 'server_error', 'sts_ValidationError_configuration']);
    expect(error.cause).toBe(cause);
    expect(error.description).toBe('The delegation service is misconfigured; see its logs');
  });

  test('unexpected is a generic 500 with nothing of the failure', () => {
    const error = DelegationError.unexpected();
    expect([error.status, error.code, error.reason, error.description]).toEqual([500, 'server_error', 'unexpected_error', 'The delegation service failed unexpectedly']);
    expect(error.cause).toBeUndefined();
  });
});
