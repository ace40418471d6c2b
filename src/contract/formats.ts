/**
 * Formats both sides check: the constructs at synth, the handler at cold start or per request, the
 * local command on its own inputs. Import-free, like everything in src/contract/.
 */

/** Base64 on one line (no PEM armour, no line breaks), padded to a multiple of four characters. */
const BASE64_ONE_LINE = /^[A-Za-z0-9+/]*={0,2}$/;

/** Whether `value` is base64 on one line with correct padding; the empty string only when `allowEmpty`. */
export function isBase64OneLine(value: string, options: { readonly allowEmpty?: boolean } = {}): boolean {
  return (value.length > 0 || options.allowEmpty === true) && value.length % 4 === 0 && BASE64_ONE_LINE.test(value);
}

/** The hosts a plain-http origin may name: development servers on loopback. */
export const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * An origin exactly as a browser sends it in `Origin`, which CORS compares as a string: lower-case
 * scheme and host, no path, no trailing slash, no default port; https only, except for loopback
 * development servers on http.
 */
const EXACT_ORIGIN = /^(https):\/\/([a-z0-9-]+(?:\.[a-z0-9-]+)*)(?::(\d{1,5}))?$|^(http):\/\/(localhost|127\.0\.0\.1|\[::1\])(?::(\d{1,5}))?$/;

/** Why `origin` is not an allowed origin, or undefined when it is. */
export function originProblem(origin: string): string | undefined {
  const match = EXACT_ORIGIN.exec(origin);
  if (!match) {
    return /^http:\/\/[a-z0-9.-]+(:\d+)?$/.test(origin)
      ? 'must use https (http only for localhost, 127.0.0.1 or [::1])'
      : 'must be an exact origin scheme://host[:port] (lower-case, no path, no trailing slash, no default port)';
  }
  const scheme = match[1] ?? match[4];
  const port = match[3] ?? match[6];
  if (port !== undefined && (Number(port) > 65535 || port.startsWith('0') || port === (scheme === 'https' ? '443' : '80'))) {
    return 'must be an exact origin scheme://host[:port] (lower-case, no path, no trailing slash, no default port)';
  }
  return undefined;
}
