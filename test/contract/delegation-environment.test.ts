import { ALLOWED_JWS_ALGORITHMS } from '../../src/contract/delegation-environment';
import { JwtAlgorithm } from '../../src/jwt-issuer';

describe('the contract between constructs and handler', () => {
  test('the handler accepts exactly the algorithms JwtAlgorithm offers', () => {
    expect([...ALLOWED_JWS_ALGORITHMS].sort()).toEqual(Object.values(JwtAlgorithm).sort());
  });
});
