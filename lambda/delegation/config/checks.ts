import { LOOPBACK_HOSTS } from '../../../src/contract/formats';

/**
 * The generic checks every section of the handler's configuration is read with. Each refusal throws an
 * Error whose message starts with the variable and JSON path it concerns, so an operator can find the
 * mistake; values are never quoted, because they may hold key material.
 */

/** The environment, or any record shaped like it (tests pass plain objects). */
export type Env = Record<string, string | undefined>;

export const CONTROL_OR_SPACE = /[\s\u0000-\u001f\u007f]/;

export function fail(path: string, problem: string): never {
  throw new Error(`${path}: ${problem}`);
}

export function requireString(env: Env, name: string): string {
  const value = env[name];
  if (value === undefined || value.trim() === '') {
    fail(name, 'is required');
  }
  return value;
}

export function requireJson(env: Env, name: string): unknown {
  return parseJson(name, requireString(env, name));
}

export function optionalJson(env: Env, name: string, fallback: unknown): unknown {
  const value = env[name];
  return value === undefined || value.trim() === '' ? fallback : parseJson(name, value);
}

function parseJson(name: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // JSON.parse messages quote the input, which could be anything the operator pasted.
    return fail(name, 'is not valid JSON');
  }
}

/** `true` or `false`; absent or empty means false. */
export function optionalFlag(env: Env, name: string): boolean {
  const value = env[name]?.trim();
  if (value === undefined || value === '' || value === 'false') return false;
  if (value === 'true') return true;
  return fail(name, 'must be "true" or "false"');
}

export function optionalInteger(env: Env, name: string, fallback: number, min: number, max: number): number {
  const value = env[name];
  if (value === undefined || value.trim() === '') {
    return fallback;
  }
  if (!/^\d{1,6}$/.test(value.trim())) {
    fail(name, `must be a whole number of seconds between ${min} and ${max}`);
  }
  const parsed = Number(value.trim());
  if (parsed < min || parsed > max) {
    fail(name, `must be between ${min} and ${max}, got ${parsed}`);
  }
  return parsed;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Refuses properties outside `allowed`, so a misspelt option never silently falls back to a weaker default. */
export function expectObject(value: unknown, path: string, required: readonly string[], optional: readonly string[] = []): Record<string, unknown> {
  if (!isPlainObject(value)) {
    fail(path, 'must be a JSON object');
  }
  for (const key of Object.keys(value)) {
    if (!required.includes(key) && !optional.includes(key)) {
      fail(path, `unknown property ${JSON.stringify(key.slice(0, 64))}`);
    }
  }
  for (const key of required) {
    if (!Object.hasOwn(value, key)) {
      fail(`${path}.${key}`, 'is required');
    }
  }
  return value;
}

export function expectArray(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) {
    fail(path, 'must be a JSON array');
  }
  return value;
}

export function expectString(value: unknown, path: string, options: { allowEmpty?: boolean; maxLength?: number } = {}): string {
  if (typeof value !== 'string') {
    fail(path, 'must be a string');
  }
  if (!options.allowEmpty && value === '') {
    fail(path, 'must not be empty');
  }
  const maxLength = options.maxLength ?? 2048;
  if (value.length > maxLength) {
    fail(path, `must be at most ${maxLength} characters`);
  }
  return value;
}

export function expectInteger(value: unknown, path: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    fail(path, 'must be an integer');
  }
  if (value < min || value > max) {
    fail(path, `must be between ${min} and ${max}, got ${value}`);
  }
  return value;
}

export function expectBoolean(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') {
    fail(path, 'must be true or false');
  }
  return value;
}

export function expectUnique(values: readonly string[], path: string, what: string, normalize = (value: string) => value): void {
  const seen = new Set<string>();
  values.forEach((value, index) => {
    const key = normalize(value);
    if (seen.has(key)) {
      fail(`${path}[${index}]`, `duplicate ${what}`);
    }
    seen.add(key);
  });
}

/**
 * Parses an absolute URL that must use https; plain http is allowed only for loopback hosts so that
 * tests and local runs work without ever sending tokens or keys over the network in clear text.
 */
export function expectSecureUrl(value: unknown, path: string, options: { allowQuery: boolean }): string {
  const text = expectString(value, path);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail(path, 'must be an https URL');
  }
  const loopbackHttp = url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);
  if (url.protocol !== 'https:' && !loopbackHttp) {
    fail(path, 'must be an https URL');
  }
  if (url.username !== '' || url.password !== '') {
    fail(path, 'must not contain credentials');
  }
  if (url.hash !== '' || text.includes('#')) {
    fail(path, 'must not contain a fragment');
  }
  if (!options.allowQuery && (url.search !== '' || text.includes('?'))) {
    fail(path, 'must not contain a query');
  }
  if (CONTROL_OR_SPACE.test(text)) {
    fail(path, 'must not contain whitespace or control characters');
  }
  return text;
}
