import { expectArray, expectString, expectUnique, fail, optionalJson, type Env } from './checks';
import { DelegationEnv, DelegationMetric } from '../../../src/contract/delegation-environment';
import { originProblem } from '../../../src/contract/formats';

/** Reads what the endpoint shows the outside: the browser origins it answers and the namespace of its metrics. */

export const DEFAULT_METRICS_NAMESPACE = DelegationMetric.DEFAULT_NAMESPACE;
const CLOUDWATCH_NAMESPACE = /^[A-Za-z0-9.\-_/#: ]{1,255}$/;

/**
 * Origins must be exactly what a browser sends in `Origin` (lower-case host, no default port, no path),
 * because CORS compares them as strings; https only, except for loopback development servers.
 */
export function readOrigins(env: Env): string[] {
  const name = DelegationEnv.ALLOWED_ORIGINS;
  const origins = expectArray(optionalJson(env, name, []), name).map((origin, index) => {
    const path = `${name}[${index}]`;
    const text = expectString(origin, path, { maxLength: 512 });
    const problem = originProblem(text);
    if (problem !== undefined) {
      fail(path, problem);
    }
    return text;
  });
  expectUnique(origins, name, 'origin');
  return origins;
}

export function readMetricsNamespace(env: Env): string {
  const name = DelegationEnv.METRICS_NAMESPACE;
  const value = env[name];
  if (value === undefined || value === '') {
    return DEFAULT_METRICS_NAMESPACE;
  }
  if (!CLOUDWATCH_NAMESPACE.test(value) || value.trim() === '' || value.startsWith('AWS/')) {
    fail(name, 'must be 1..255 characters of A-Z a-z 0-9 . - _ / # : or space, not starting with AWS/');
  }
  return value;
}
