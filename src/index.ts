export * from './jwt-issuer';
export * from './claim-condition';
export * from './role-rule';
export * from './session-tag';
export * from './delegation-identity-provider';
export * from './delegation-role';
export * from './delegation-endpoint';
export * from './token-delegation';
