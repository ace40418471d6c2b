import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  MIN_SECRET_FRAGMENT_CHARS,
  SECRET_REGISTRY_ENV,
  registryDirectory,
  type RegisteredSecret,
  type SecretKind,
} from '../../local/secret-registry';

/**
 * The log side of the secret scan: everything the tests (and the processes they start) write to
 * stdout, stderr or the console is copied into log files of the run directory, and after the run
 * every registered secret is looked for in every one of them.
 */

/** The captured logs of a run: one file per test process or child process. */
export function logDirectory(runDirectory: string): string {
  return join(runDirectory, 'logs');
}

/** Where this process appends what it captures, or undefined outside a scanned run. */
export function processLogFile(label: string): string | undefined {
  const runDirectory = process.env[SECRET_REGISTRY_ENV];
  if (!runDirectory) {
    return undefined;
  }
  const directory = logDirectory(runDirectory);
  mkdirSync(directory, { recursive: true });
  return join(directory, `${label.replace(/[^\w.-]/g, '_')}-${process.pid}.log`);
}

/** Appends text that a test held in memory instead of letting it reach stdout (e.g. a captured handler log). */
export function recordCapturedOutput(text: string): void {
  const file = processLogFile('captured');
  if (file && text.length > 0) {
    appendFileSync(file, text.endsWith('\n') ? text : `${text}\n`);
  }
}

type Write = typeof process.stdout.write;
const CONSOLE_METHODS = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;

function chunkText(chunk: unknown): string {
  if (typeof chunk === 'string') return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk).toString('utf8');
  return String(chunk);
}

/** Marks the tee this process installed on its streams, so later test files in one worker reuse it. */
const STREAM_CAPTURE = Symbol.for('cdk-token-delegation.secret-scan.streams');

/** Copies every write to stdout and stderr into `file`, still passing it on; returns the function that puts the originals back. */
export function captureStreams(file: string): () => void {
  appendFileSync(file, '');
  const streams = [process.stdout, process.stderr];
  const originals = streams.map((stream) => stream.write);
  streams.forEach((stream, index) => {
    const original = originals[index] as (...args: unknown[]) => boolean;
    stream.write = function teeWrite(this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]) {
      appendFileSync(file, chunkText(chunk));
      return original.call(this, chunk, ...rest);
    } as Write;
  });
  return () => streams.forEach((stream, index) => {
    stream.write = originals[index];
  });
}

/** {@link captureStreams} once per process: the streams outlive each test file's environment. */
export function captureStreamsOnce(file: string): void {
  const marked = process.stdout as unknown as Record<symbol, string | undefined>;
  if (marked[STREAM_CAPTURE] === undefined) {
    captureStreams(file);
    marked[STREAM_CAPTURE] = file;
  }
}

/** Copies every call of the console's printing methods into `file`, still passing it on; returns the function that puts them back. */
export function captureConsole(file: string, target: Console): () => void {
  appendFileSync(file, '');
  const originals = CONSOLE_METHODS.map((method) => target[method]);
  CONSOLE_METHODS.forEach((method, index) => {
    const original = originals[index] as (...args: unknown[]) => void;
    target[method] = function teeConsole(this: Console, ...parts: unknown[]) {
      appendFileSync(file, `${parts.map((part) => (typeof part === 'string' ? part : safeInspect(part))).join(' ')}\n`);
      return original.apply(this, parts);
    };
  });
  return () => CONSOLE_METHODS.forEach((method, index) => {
    target[method] = originals[index];
  });
}

function safeInspect(value: unknown): string {
  try {
    return typeof value === 'object' && value !== null ? JSON.stringify(value) ?? String(value) : String(value);
  } catch {
    return String(value);
  }
}

/** A registered secret's fragment found in a log; the report names where, never the value. */
export interface SecretLeak {
  readonly kind: SecretKind;
  readonly file: string;
  readonly line: number;
  readonly fragmentChars: number;
}

/** Every fragment of every registered secret of a run, read from all registry files (a torn last line is skipped). */
export function readRegisteredSecrets(runDirectory: string): RegisteredSecret[] {
  const directory = registryDirectory(runDirectory);
  if (!existsSync(directory)) {
    return [];
  }
  const secrets: RegisteredSecret[] = [];
  for (const name of readdirSync(directory).filter((entry) => entry.endsWith('.jsonl')).sort()) {
    for (const line of readFileSync(join(directory, name), 'utf8').split('\n')) {
      try {
        const parsed = JSON.parse(line) as RegisteredSecret;
        if (Array.isArray(parsed.fragments)) secrets.push(parsed);
      } catch {
        // An empty or torn line (a process killed mid-write) holds no complete secret.
      }
    }
  }
  return secrets;
}

/**
 * Finds fragments in texts without comparing every fragment with every position: fragments are indexed
 * by their first {@link MIN_SECRET_FRAGMENT_CHARS} characters, and each window of a text is looked up once.
 */
export class FragmentIndex {
  private readonly byPrefix = new Map<string, Array<{ fragment: string; kind: SecretKind }>>();
  private readonly firstCharacters = new Set<string>();

  constructor(secrets: readonly RegisteredSecret[]) {
    for (const secret of secrets) {
      for (const fragment of secret.fragments) {
        if (typeof fragment !== 'string' || fragment.length < MIN_SECRET_FRAGMENT_CHARS) continue;
        const prefix = fragment.slice(0, MIN_SECRET_FRAGMENT_CHARS);
        const entries = this.byPrefix.get(prefix) ?? [];
        entries.push({ fragment, kind: secret.kind });
        this.byPrefix.set(prefix, entries);
        this.firstCharacters.add(fragment[0]);
      }
    }
  }

  get size(): number {
    return this.byPrefix.size;
  }

  /** The kind and offset of each registered fragment in `text` (at most one hit per offset). */
  find(text: string): Array<{ kind: SecretKind; offset: number; fragmentChars: number }> {
    const hits: Array<{ kind: SecretKind; offset: number; fragmentChars: number }> = [];
    const last = text.length - MIN_SECRET_FRAGMENT_CHARS;
    for (let offset = 0; offset <= last; offset++) {
      if (!this.firstCharacters.has(text[offset])) continue;
      const entries = this.byPrefix.get(text.substr(offset, MIN_SECRET_FRAGMENT_CHARS));
      const entry = entries?.find((candidate) => text.startsWith(candidate.fragment, offset));
      if (entry) {
        hits.push({ kind: entry.kind, offset, fragmentChars: entry.fragment.length });
      }
    }
    return hits;
  }
}

function lineNumberAt(text: string, offset: number): number {
  let line = 1;
  for (let index = text.indexOf('\n'); index >= 0 && index < offset; index = text.indexOf('\n', index + 1)) line++;
  return line;
}

/** What a scan of a run directory found. */
export interface ScanReport {
  readonly secrets: number;
  readonly logFiles: number;
  readonly logBytes: number;
  readonly leaks: readonly SecretLeak[];
}

/** Looks for every registered secret of the run in every captured log of the run. */
export function scanRunDirectory(runDirectory: string): ScanReport {
  const secrets = readRegisteredSecrets(runDirectory);
  const index = new FragmentIndex(secrets);
  const directory = logDirectory(runDirectory);
  const files = existsSync(directory) ? readdirSync(directory).filter((name) => name.endsWith('.log')).sort() : [];
  const leaks: SecretLeak[] = [];
  let logBytes = 0;
  for (const name of files) {
    const text = readFileSync(join(directory, name), 'utf8');
    logBytes += text.length;
    if (index.size === 0) continue;
    for (const hit of index.find(text)) {
      leaks.push({ kind: hit.kind, file: name, line: lineNumberAt(text, hit.offset), fragmentChars: hit.fragmentChars });
    }
  }
  return { secrets: secrets.length, logFiles: files.length, logBytes, leaks };
}

/** A failure message that says where each leak is, without repeating any secret. */
export function describeLeaks(report: ScanReport, runDirectory: string): string {
  const lines = report.leaks.slice(0, 50).map((leak) => `  ${leak.kind} (${leak.fragmentChars}-character fragment) in ${leak.file} line ${leak.line}`);
  const more = report.leaks.length > 50 ? [`  … and ${report.leaks.length - 50} more`] : [];
  return [
    `Secret scan: ${report.leaks.length} registered secret fragment(s) appear in the captured logs (${runDirectory}):`,
    ...lines,
    ...more,
  ].join('\n');
}
