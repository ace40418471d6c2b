import {
  expectArray, expectInteger, expectObject, expectSecureUrl, expectString, expectUnique, fail, requireJson, type Env,
} from './checks';
import {
  ALLOWED_JWS_ALGORITHMS,
  DelegationEnv,
  ISSUER_NAMESPACE_PATTERN,
  MAX_CLOCK_TOLERANCE_SECONDS,
  type IssuerConfig,
} from '../../../src/contract/delegation-environment';

/**
 * Reads `DELEGATION_ISSUERS`, the OpenID Connect issuers whose id tokens are accepted, and resolves the
 * `issuer` by which rules, tags and attributes name one of them.
 */

export function readIssuers(env: Env): IssuerConfig[] {
  const name = DelegationEnv.ISSUERS;
  const list = expectArray(requireJson(env, name), name);
  if (list.length === 0) {
    fail(name, 'must list at least one issuer');
  }
  const issuers = list.map((item, index) => parseIssuer(item, `${name}[${index}]`));
  expectUnique(issuers.map((issuer) => issuer.issuer), name, 'issuer');
  issuers.forEach((issuer, index) => {
    if (issuer.namespace !== '' && !ISSUER_NAMESPACE_PATTERN.test(issuer.namespace)) {
      fail(`${name}[${index}].namespace`, 'must be empty or match [a-z0-9-]{1,32}');
    }
  });
  // A bare subject never contains ':', so it never equals a namespaced one: at most one issuer may go without.
  expectUnique(issuers.map((issuer) => issuer.namespace), name, 'namespace (at most one issuer may have none), so that subjects never collide');
  return issuers;
}

function parseIssuer(value: unknown, path: string): IssuerConfig {
  const item = expectObject(
    value, path,
    ['issuer', 'jwksUri', 'audiences', 'algorithms', 'subjectClaim', 'namespace', 'maxTokenAgeSeconds', 'clockToleranceSeconds'],
    ['tokenUse'],
  );
  const audiences = expectArray(item.audiences, `${path}.audiences`)
    .map((audience, index) => expectString(audience, `${path}.audiences[${index}]`, { maxLength: 1024 }));
  if (audiences.length === 0) {
    fail(`${path}.audiences`, 'must list at least one audience');
  }
  expectUnique(audiences, `${path}.audiences`, 'audience');
  const algorithms = expectArray(item.algorithms, `${path}.algorithms`).map((algorithm, index) => {
    const algorithmPath = `${path}.algorithms[${index}]`;
    const text = expectString(algorithm, algorithmPath, { maxLength: 16 });
    if (!ALLOWED_JWS_ALGORITHMS.includes(text)) {
      fail(algorithmPath, `must be one of ${ALLOWED_JWS_ALGORITHMS.join(', ')} (none and HMAC algorithms are never accepted)`);
    }
    return text;
  });
  if (algorithms.length === 0) {
    fail(`${path}.algorithms`, 'must list at least one algorithm');
  }
  expectUnique(algorithms, `${path}.algorithms`, 'algorithm');
  const tokenUse = item.tokenUse === undefined
    ? undefined
    : expectString(item.tokenUse, `${path}.tokenUse`, { maxLength: 64 });
  return {
    issuer: expectSecureUrl(item.issuer, `${path}.issuer`, { allowQuery: false }),
    jwksUri: expectSecureUrl(item.jwksUri, `${path}.jwksUri`, { allowQuery: true }),
    audiences,
    algorithms,
    subjectClaim: expectString(item.subjectClaim, `${path}.subjectClaim`, { maxLength: 256 }),
    namespace: expectString(item.namespace, `${path}.namespace`, { allowEmpty: true, maxLength: 32 }),
    maxTokenAgeSeconds: expectInteger(item.maxTokenAgeSeconds, `${path}.maxTokenAgeSeconds`, 1, 31 * 24 * 3600),
    clockToleranceSeconds: expectInteger(item.clockToleranceSeconds, `${path}.clockToleranceSeconds`, 0, MAX_CLOCK_TOLERANCE_SECONDS),
    ...(tokenUse === undefined ? {} : { tokenUse }),
  };
}

/** The `issuer` of a rule or tag: the exact `iss` of one of the configured issuers. */
export function expectIssuerRef(value: unknown, path: string, issuers: readonly IssuerConfig[]): string {
  if (value === undefined) {
    if (issuers.length !== 1) {
      fail(path, 'is required when several issuers are configured');
    }
    return issuers[0].issuer;
  }
  const text = expectString(value, path, { maxLength: 2048 });
  if (!issuers.some((issuer) => issuer.issuer === text)) {
    fail(path, `must be the issuer of one of ${DelegationEnv.ISSUERS}`);
  }
  return text;
}
