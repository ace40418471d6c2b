import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A record of every secret the local test bed mints (id tokens, SAML responses posted to an STS
 * stand-in, the credentials it issues), so that a scan after the tests can prove that none of them
 * ever reached a log. Registration only happens while `TEST_SECRET_REGISTRY_DIR` names a directory
 * (the test run sets it, child processes inherit it); otherwise it does nothing.
 */

export const SECRET_REGISTRY_ENV = 'TEST_SECRET_REGISTRY_DIR';
/** Below this length a fragment is too likely to occur by chance to count as a leak. */
export const MIN_SECRET_FRAGMENT_CHARS = 20;
/** Characters of the base64 `SAMLAssertion` parameter taken from where the signature value is encoded. */
const SAML_BASE64_WINDOW_CHARS = 64;

export type SecretKind = 'id-token' | 'saml-response' | 'aws-secret-access-key' | 'aws-session-token';

/** One line of a registry file. */
export interface RegisteredSecret {
  readonly kind: SecretKind;
  /** Strings any of which, found in a log, proves the secret leaked. */
  readonly fragments: readonly string[];
}

/** The registry files of a run: one JSON line per secret, one file per process. */
export function registryDirectory(runDirectory: string): string {
  return join(runDirectory, 'secrets');
}

/** A compact JWS/JWT: the whole token and each of its segments long enough to be unique. */
function tokenFragments(token: string): string[] {
  return [token, ...token.split('.')].filter((part) => part.length >= MIN_SECRET_FRAGMENT_CHARS);
}

/**
 * A SAML response (base64 as posted, or its XML) is only worth stealing while its signature is valid,
 * so it is identified by what makes it unique: the signature and digest values (which the XML, also
 * inside a JSON log line, shows verbatim) and the base64 characters that encode the signature value.
 */
function samlResponseFragments(value: string): string[] {
  const isXml = value.trimStart().startsWith('<');
  const xml = isXml ? value : Buffer.from(value, 'base64').toString('utf8');
  const fragments: string[] = [];
  for (const match of xml.matchAll(/<(?:\w+:)?(SignatureValue|DigestValue)>([^<]+)</g)) {
    fragments.push(match[2].replace(/\s+/g, ''));
    if (!isXml && match[1] === 'SignatureValue') {
      const valueStartByte = Buffer.byteLength(xml.slice(0, match.index + match[0].length - match[2].length - 1), 'utf8');
      // The first whole base64 quantum that encodes only signature-value bytes.
      const windowStart = Math.ceil(valueStartByte / 3) * 4;
      fragments.push(value.replace(/\s+/g, '').slice(windowStart, windowStart + SAML_BASE64_WINDOW_CHARS));
    }
  }
  return fragments;
}

/** The fragments that identify a secret of `kind` in a log (none for values too short to tell apart). */
export function secretFragments(kind: SecretKind, value: string): string[] {
  const fragments = kind === 'id-token' ? tokenFragments(value)
    : kind === 'saml-response' ? samlResponseFragments(value)
      : [value];
  return [...new Set(fragments.filter((fragment) => fragment.length >= MIN_SECRET_FRAGMENT_CHARS))];
}

/**
 * Records `value` as a secret of `kind` in the run's registry (when there is one) and returns it
 * unchanged, so a mint site can wrap its result in one call.
 */
export function registerSecret<T extends string | null | undefined>(kind: SecretKind, value: T): T {
  const runDirectory = process.env[SECRET_REGISTRY_ENV];
  if (!runDirectory || typeof value !== 'string') {
    return value;
  }
  const fragments = secretFragments(kind, value);
  if (fragments.length > 0) {
    const directory = registryDirectory(runDirectory);
    mkdirSync(directory, { recursive: true });
    const line: RegisteredSecret = { kind, fragments };
    appendFileSync(join(directory, `${process.pid}.jsonl`), `${JSON.stringify(line)}\n`);
  }
  return value;
}
