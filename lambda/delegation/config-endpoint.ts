import { expectArray, expectString, expectUnique, fail, LOOPBACK_HOSTS, type Env } from './config-checks';
import { DelegationEnv, DelegationMetric } from '../../src/delegation-environment';

/** Reads what the endpoint shows the outside: the browser origins it answers and the namespace of its metrics. */

export const DEFAULT_METRICS_NAMESPACE = DelegationMetric.DEFAULT_NAMESPACE;
const CLOUDWATCH_NAMESPACE = /^[A-Za-z0-9.\-_/#: ]{1,255}$/;

/**
 * Origins must be exactly what a browser sends in `Origin` (lower-case host, no default port, no path),
 * because CORS compares them as strings; https only, except for loopback development servers.
 */
export function parseOrigins(value: unknown): string[] {
  const name = DelegationEnv.ALLOWED_ORIGINS;
  const origins = expectArray(value, name).map((origin, index) => {
    const path = `${name}[${index}]`;
    const text = expectString(origin, path, { maxLength: 512 });
    let url: URL | undefined;
    try {
      url = new URL(text);
    } catch {
      url = undefined;
    }
    if (url === undefined || url.origin === 'null' || url.origin !== text) {
      fail(path, 'must be an exact origin scheme://host[:port] (lower-case, no path, no trailing slash, no default port)');
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))) {
      fail(path, 'must use https (http only for localhost, 127.0.0.1 or [::1])');
    }
    return text;
  });
  expectUnique(origins, name, 'origin');
  return origins;
}

export function parseMetricsNamespace(env: Env): string {
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
