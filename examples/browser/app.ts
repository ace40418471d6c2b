import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

/**
 * The browser example: sign in (here at the local issuer's dev token route; in an app, with the identity
 * provider's SDK), exchange the id token at the delegation endpoint, then list and upload under
 * `<userPrefix><Subject>/` with the AWS SDK v3. Bundled into app.js by `npx projen example:browser`.
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

export async function signIn(settings: ExampleSettings, user: string): Promise<Session> {
  const idToken = await devIdToken(settings, user);
  const response = await fetch(`${settings.endpoint}${settings.path}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${idToken}` },
  });
  const answer = await response.json() as Record<string, any>;
  if (!response.ok) throw new Error(`delegation answered ${response.status} ${answer.error}: ${answer.error_description}`);
  const s3 = new S3Client({
    region: settings.region,
    ...(settings.s3Endpoint ? { endpoint: settings.s3Endpoint, forcePathStyle: true } : {}),
    credentials: {
      accessKeyId: answer.Credentials.AccessKeyId,
      secretAccessKey: answer.Credentials.SecretAccessKey,
      sessionToken: answer.Credentials.SessionToken,
      expiration: new Date(answer.Credentials.Expiration),
    },
  });
  // answer.Subject is the user's id as AWS sees it: ${saml:sub}.
  return { subject: answer.Subject, prefix: `${settings.userPrefix}${answer.Subject}/`, expiration: answer.Credentials.Expiration, s3 };
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
Object.assign(globalThis, { tokenDelegationExample: { settingsFrom, signIn, listFiles, upload, failureName } });
if ((globalThis as unknown as PageGlobals).document.readyState === 'loading') {
  (globalThis as unknown as PageGlobals).document.addEventListener('DOMContentLoaded', wirePage);
} else {
  wirePage();
}
