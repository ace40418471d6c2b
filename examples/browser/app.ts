import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
// In an app: import { fromTokenDelegation } from 'cdk-token-delegation-credentials';
import { fromTokenDelegation, type TokenDelegationCredentialProvider, type TokenDelegationOptions } from '../../packages/credential-provider/src';

/**
 * The browser example: sign in (here at the local issuer's dev token route; in an app, with the identity
 * provider's SDK), give the S3 client the credential provider of cdk-token-delegation-credentials, which
 * exchanges the id token at the delegation endpoint and renews the credentials before they expire, then
 * list and upload under `<userPrefix><subject>/` with the AWS SDK v3. Bundled into app.js by
 * `npx projen example:browser`.
 */

/** Where the page talks to, from its query string. */
/** The few DOM parts the page uses (the project type-checks without the DOM library). */
interface PageElement {
  textContent: string | null;
  value: string;
  disabled: boolean;
  addEventListener(type: 'click', listener: () => void): void;
  replaceChildren(...children: PageElement[]): void;
}
interface PageGlobals {
  readonly location: { readonly search: string };
  readonly document: {
    readonly readyState: string;
    getElementById(id: string): PageElement;
    createElement(tag: 'li'): PageElement;
    addEventListener(type: 'DOMContentLoaded', listener: () => void): void;
  };
}

export interface ExampleSettings {
  /** Origin of the delegation endpoint (and, locally, of the dev token route). */
  readonly endpoint: string;
  /** Path of the endpoint on that origin. @default '/delegation' */
  readonly path: string;
  /** The loopback S3 stand-in; absent for real S3. */
  readonly s3Endpoint?: string;
  readonly bucket: string;
  readonly region: string;
  /** The prefix before the user's id (the construct's `userPrefix`). */
  readonly userPrefix: string;
}

export interface Session {
  readonly subject: string;
  readonly prefix: string;
  readonly expiration: string;
  readonly s3: S3Client;
  /** The provider the S3 client asks: it answers from its cache until shortly before expiry. */
  readonly credentials: TokenDelegationCredentialProvider;
}

export function settingsFrom(search: string): ExampleSettings {
  const query = new URLSearchParams(search);
  const endpoint = query.get('endpoint') ?? 'http://127.0.0.1:8787';
  return {
    endpoint,
    path: query.get('path') ?? '/delegation',
    s3Endpoint: query.get('s3') ?? undefined,
    bucket: query.get('bucket') ?? '',
    region: query.get('region') ?? 'us-east-1',
    userPrefix: query.get('userPrefix') ?? 'users/',
  };
}

/** The local command's dev token route; an app gets its id token from its identity provider instead. */
async function devIdToken(settings: ExampleSettings, user: string): Promise<string> {
  const response = await fetch(`${settings.endpoint}/dev/token?sub=${encodeURIComponent(user)}`);
  if (!response.ok) throw new Error(`dev token route answered ${response.status}`);
  return ((await response.json()) as { id_token: string }).id_token;
}

/**
 * The credential provider for `user`: `idToken` is called for every exchange, as an app would ask its
 * identity provider's SDK for the current token. `options` may add a counting `fetch` or another refresh
 * window (the browser test does both).
 */
export function credentialsFor(
  settings: ExampleSettings,
  user: string,
  options: Partial<TokenDelegationOptions> = {},
): TokenDelegationCredentialProvider {
  return fromTokenDelegation({ endpoint: `${settings.endpoint}${settings.path}`, idToken: () => devIdToken(settings, user), ...options });
}

/** An S3 client that signs with the provider's credentials (against the loopback S3 when the page has one). */
export function s3ClientFor(settings: ExampleSettings, credentials: TokenDelegationCredentialProvider): S3Client {
  return new S3Client({
    region: settings.region,
    ...(settings.s3Endpoint ? { endpoint: settings.s3Endpoint, forcePathStyle: true } : {}),
    credentials,
  });
}

export async function signIn(settings: ExampleSettings, user: string, options: Partial<TokenDelegationOptions> = {}): Promise<Session> {
  const credentials = credentialsFor(settings, user, options);
  // The first exchange, made now to show who signed in; the S3 client then gets these from the cache.
  const { subject, expiration } = await credentials();
  // subject is the user's id as AWS sees it: ${saml:sub}.
  const prefix = `${settings.userPrefix}${subject}/`;
  return { subject, prefix, expiration: expiration.toISOString(), s3: s3ClientFor(settings, credentials), credentials };
}

export async function listFiles(settings: ExampleSettings, session: Session, prefix = session.prefix): Promise<string[]> {
  const listed = await session.s3.send(new ListObjectsV2Command({ Bucket: settings.bucket, Prefix: prefix }));
  return (listed.Contents ?? []).map((object) => object.Key!);
}

export async function upload(settings: ExampleSettings, session: Session, name: string, text: string, key = `${session.prefix}${name}`): Promise<string> {
  await session.s3.send(new PutObjectCommand({ Bucket: settings.bucket, Key: key, Body: text, ContentType: 'text/plain' }));
  return key;
}

/** The S3 error name (AccessDenied, …) or the message of anything that failed. */
export function failureName(error: unknown): string {
  return (error as { name?: string }).name ?? String(error);
}

function wirePage(): void {
  const { document, location } = globalThis as unknown as PageGlobals;
  const settings = settingsFrom(location.search);
  const element = (id: string) => document.getElementById(id);
  const status = (text: string) => { element('status').textContent = text; };
  let session: Session | undefined;
  const refresh = async () => {
    element('prefix').textContent = session!.prefix;
    element('files').replaceChildren(...(await listFiles(settings, session!)).map((key) => {
      const item = document.createElement('li');
      item.textContent = key;
      return item;
    }));
  };
  element('sign-in').addEventListener('click', () => {
    signIn(settings, element('user').value)
      .then(async (signedIn) => {
        session = signedIn;
        element('upload').disabled = false;
        await refresh();
        status(`Signed in as ${session.subject}; credentials until ${session.expiration}.`);
      })
      .catch((error: unknown) => status(`Sign-in failed: ${failureName(error)} ${(error as Error).message ?? ''}`));
  });
  element('upload').addEventListener('click', () => {
    upload(settings, session!, element('name').value, element('text').value)
      .then(async (key) => {
        await refresh();
        status(`Uploaded ${key}.`);
      })
      .catch((error: unknown) => status(`Upload failed: ${failureName(error)}`));
  });
}

// The functions, for the test that drives this page (and for trying things in the console).
Object.assign(globalThis, { tokenDelegationExample: { settingsFrom, signIn, credentialsFor, s3ClientFor, listFiles, upload, failureName } });
if ((globalThis as unknown as PageGlobals).document.readyState === 'loading') {
  (globalThis as unknown as PageGlobals).document.addEventListener('DOMContentLoaded', wirePage);
} else {
  wirePage();
}
