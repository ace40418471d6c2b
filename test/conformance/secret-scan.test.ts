import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSignedSamlResponse } from '../../lambda/delegation/saml';
import { PemSigner } from '../../lambda/shared/pem-signer';
import { MIN_SECRET_FRAGMENT_CHARS, SECRET_REGISTRY_ENV, registerSecret, registryDirectory, secretFragments } from '../../local/secret-registry';
import { setEnvironment } from '../support/handler-harness';
import {
  FragmentIndex,
  captureConsole,
  captureStreams,
  describeLeaks,
  logDirectory,
  readRegisteredSecrets,
  recordCapturedOutput,
  scanRunDirectory,
} from '../support/secret-scan';
import scanForLeakedSecrets from '../support/secret-scan-global-teardown';

const SIGNING_KEY_PEM = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const base64url = (bytes: number) => randomBytes(bytes).toString('base64url');
/** A token-shaped value made here (never by the test bed), so it cannot collide with the run's registry. */
const plantedToken = () => `${Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: base64url(8) })).toString('base64url')}.${base64url(120)}.${base64url(256)}`;

let scratch: string[] = [];

/** A fresh directory laid out like a scanned run; `TEST_SECRET_REGISTRY_DIR` points at it while `work` runs. */
async function inFakeRun<T>(work: (runDirectory: string) => T | Promise<T>): Promise<T> {
  const runDirectory = mkdtempSync(join(tmpdir(), 'secret-scan-test-'));
  scratch.push(runDirectory);
  const restore = setEnvironment({ [SECRET_REGISTRY_ENV]: runDirectory });
  try {
    return await work(runDirectory);
  } finally {
    restore();
  }
}

function plantLog(runDirectory: string, name: string, text: string): void {
  mkdirSync(logDirectory(runDirectory), { recursive: true });
  writeFileSync(join(logDirectory(runDirectory), name), text);
}

async function samlResponseXml(): Promise<string> {
  return buildSignedSamlResponse({
    issuer: 'https://delegation.example.com/saml',
    recipient: 'https://signin.aws.amazon.com/saml',
    audiences: ['urn:amazon:webservices'],
    providerArn: 'arn:aws:iam::123456789012:saml-provider/TokenDelegation',
    now: new Date(),
    lifetimeSeconds: 300,
    grant: {
      subject: 'alice',
      roleArn: 'arn:aws:iam::123456789012:role/Reader',
      roleSessionName: 'alice',
      sourceIdentity: 'alice',
      sessionTags: [],
      durationSeconds: 3600,
    },
  }, new PemSigner(SIGNING_KEY_PEM));
}

afterEach(() => {
  for (const directory of scratch) rmSync(directory, { recursive: true, force: true });
  scratch = [];
});

describe('fragments that identify a secret', () => {
  test('an id token: the whole token and each segment of at least 20 characters', () => {
    const token = plantedToken();
    const [header, payload, signature] = token.split('.');
    expect(secretFragments('id-token', token)).toEqual([token, header, payload, signature]);
    expect(secretFragments('id-token', `${header}.e30.`)).toEqual([`${header}.e30.`, header]);
    expect(secretFragments('id-token', 'eyJhbGciOiJub25lIn0.e30.')).toEqual(['eyJhbGciOiJub25lIn0.e30.']);
  });

  test('a SAML response: signature and digest values, and the base64 that encodes the signature value', async () => {
    const xml = await samlResponseXml();
    const posted = Buffer.from(xml, 'utf8').toString('base64');
    const signatureValue = /<ds:SignatureValue>([^<]+)</.exec(xml)![1];
    const digestValue = /<ds:DigestValue>([^<]+)</.exec(xml)![1];
    const fromPosted = secretFragments('saml-response', posted);
    expect(fromPosted.slice(0, 2)).toEqual([digestValue, signatureValue]);
    expect(fromPosted).toHaveLength(3);
    expect(fromPosted[2]).toHaveLength(64);
    expect(posted).toContain(fromPosted[2]);
    // The window decodes to signature-value text only, so it is unique to this response.
    expect(signatureValue).toContain(Buffer.from(fromPosted[2], 'base64').toString('utf8'));
    expect(secretFragments('saml-response', xml)).toEqual([digestValue, signatureValue]);
  });

  test('an unsigned or garbled SAMLAssertion identifies nothing (it could not be exchanged anyway)', () => {
    expect(secretFragments('saml-response', Buffer.from('<samlp:Response/>').toString('base64'))).toEqual([]);
    expect(secretFragments('saml-response', 'not base64 at all')).toEqual([]);
  });

  test('credentials count whole, and nothing shorter than the minimum is kept', () => {
    expect(secretFragments('aws-secret-access-key', 'a'.repeat(40))).toEqual(['a'.repeat(40)]);
    expect(secretFragments('aws-session-token', 'b'.repeat(MIN_SECRET_FRAGMENT_CHARS - 1))).toEqual([]);
  });
});

describe('registration', () => {
  test('appends one JSON line per secret to this process\'s registry file and returns the value', async () => {
    await inFakeRun((runDirectory) => {
      const token = plantedToken();
      expect(registerSecret('id-token', token)).toBe(token);
      expect(registerSecret('aws-secret-access-key', undefined)).toBeUndefined();
      expect(readdirSync(registryDirectory(runDirectory))).toEqual([`${process.pid}.jsonl`]);
      expect(readRegisteredSecrets(runDirectory)).toEqual([{ kind: 'id-token', fragments: secretFragments('id-token', token) }]);
    });
  });

  test('does nothing outside a scanned run', () => {
    const restore = setEnvironment({ [SECRET_REGISTRY_ENV]: undefined });
    try {
      expect(registerSecret('aws-session-token', 'c'.repeat(64))).toBe('c'.repeat(64));
    } finally {
      restore();
    }
  });

  test('a torn last line (a process killed mid-write) is skipped, not fatal', async () => {
    await inFakeRun((runDirectory) => {
      registerSecret('aws-secret-access-key', 'd'.repeat(40));
      writeFileSync(join(registryDirectory(runDirectory), '1.jsonl'), '{"kind":"id-token","fragm');
      expect(readRegisteredSecrets(runDirectory)).toEqual([{ kind: 'aws-secret-access-key', fragments: ['d'.repeat(40)] }]);
    });
  });
});

describe('the scan', () => {
  test('catches a registered id token planted in a log, says where, and never repeats it', async () => {
    await inFakeRun((runDirectory) => {
      const token = registerSecret('id-token', plantedToken());
      plantLog(runDirectory, 'clean.log', '{"level":"info","outcome":"issued"}\n');
      plantLog(runDirectory, 'leaky.log', `first line\n{"level":"error","message":"bad token ${token}"}\n`);
      const report = scanRunDirectory(runDirectory);
      expect(report.leaks).toEqual(expect.arrayContaining([{ kind: 'id-token', file: 'leaky.log', line: 2, fragmentChars: token.length }]));
      expect(report.leaks.every((leak) => leak.file === 'leaky.log')).toBe(true);
      const message = describeLeaks(report, runDirectory);
      expect(message).toContain('leaky.log line 2');
      for (const fragment of secretFragments('id-token', token)) {
        expect(message).not.toContain(fragment);
      }
    });
  });

  test('catches a single JWS segment, e.g. the payload alone', async () => {
    await inFakeRun((runDirectory) => {
      const payload = registerSecret('id-token', plantedToken()).split('.')[1];
      plantLog(runDirectory, 'payload.log', `claims=${payload}\n`);
      expect(scanRunDirectory(runDirectory).leaks).toEqual([{ kind: 'id-token', file: 'payload.log', line: 1, fragmentChars: payload.length }]);
    });
  });

  test('catches a SAML response logged as XML inside a JSON line, and logged as the posted base64', async () => {
    await inFakeRun(async (runDirectory) => {
      const xml = await samlResponseXml();
      const posted = registerSecret('saml-response', Buffer.from(xml, 'utf8').toString('base64'));
      plantLog(runDirectory, 'xml.log', `${JSON.stringify({ message: 'sts said no', request: xml })}\n`);
      plantLog(runDirectory, 'base64.log', `SAMLAssertion=${posted}\n`);
      const files = new Set(scanRunDirectory(runDirectory).leaks.map((leak) => leak.file));
      expect(files).toEqual(new Set(['xml.log', 'base64.log']));
    });
  });

  test('catches credentials the STS issued', async () => {
    await inFakeRun((runDirectory) => {
      const secretAccessKey = registerSecret('aws-secret-access-key', randomBytes(30).toString('base64'));
      const sessionToken = registerSecret('aws-session-token', randomBytes(120).toString('base64'));
      plantLog(runDirectory, 'a.log', `key ${secretAccessKey}\n`);
      plantLog(runDirectory, 'b.log', `x\ny\ntoken=${sessionToken}&z\n`);
      expect(scanRunDirectory(runDirectory).leaks).toEqual([
        { kind: 'aws-secret-access-key', file: 'a.log', line: 1, fragmentChars: 40 },
        { kind: 'aws-session-token', file: 'b.log', line: 3, fragmentChars: 160 },
      ]);
    });
  });

  test('finds nothing in logs that hold only other values or cut-off pieces shorter than a fragment', async () => {
    await inFakeRun((runDirectory) => {
      const token = registerSecret('id-token', plantedToken());
      const signature = token.split('.')[2];
      plantLog(runDirectory, 'other.log', `${plantedToken().split('.').slice(1).join('.')}\n${signature.slice(0, MIN_SECRET_FRAGMENT_CHARS - 1)}\n${signature.slice(1, 200)}\n`);
      expect(scanRunDirectory(runDirectory)).toMatchObject({ secrets: 1, logFiles: 1, leaks: [] });
    });
  });

  test('the global teardown fails the run on a leak and keeps the directory; a clean run is removed', async () => {
    const leaky = await inFakeRun((runDirectory) => {
      plantLog(runDirectory, 'jest-1.log', `${registerSecret('aws-secret-access-key', randomBytes(30).toString('base64'))}\n`);
      expect(() => scanForLeakedSecrets()).toThrow(/1 registered secret fragment\(s\) appear in the captured logs/);
      return runDirectory;
    });
    expect(existsSync(leaky)).toBe(true);
    const clean = await inFakeRun((runDirectory) => {
      registerSecret('aws-secret-access-key', randomBytes(30).toString('base64'));
      plantLog(runDirectory, 'jest-1.log', 'nothing secret\n');
      const write = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
      try {
        scanForLeakedSecrets();
      } finally {
        write.mockRestore();
      }
      return runDirectory;
    });
    expect(existsSync(clean)).toBe(false);
  });

  test('the index finds fragments sharing a prefix and overlapping hits', () => {
    const a = 'A'.repeat(MIN_SECRET_FRAGMENT_CHARS) + 'first';
    const b = 'A'.repeat(MIN_SECRET_FRAGMENT_CHARS) + 'second';
    const index = new FragmentIndex([{ kind: 'aws-session-token', fragments: [a, b] }]);
    expect(index.find(`..${b}..${a}`).map((hit) => hit.offset)).toEqual([2, 2 + b.length + 2]);
    expect(index.find('A'.repeat(MIN_SECRET_FRAGMENT_CHARS + 3))).toEqual([]);
  });
});

describe('capturing logs', () => {
  test('stdout and stderr writes are copied to the log file and still passed on, until restored', async () => {
    await inFakeRun((runDirectory) => {
      const file = join(runDirectory, 'streams.log');
      const passedOn: string[] = [];
      const spies = [process.stdout, process.stderr].map((stream) => jest.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
        passedOn.push(String(chunk));
        return true;
      }));
      try {
        const restore = captureStreams(file);
        process.stdout.write('to stdout\n');
        process.stderr.write(Buffer.from('to stderr\n'));
        restore();
        process.stdout.write('after restore\n');
      } finally {
        spies.forEach((spy) => spy.mockRestore());
      }
      expect(readFileSync(file, 'utf8')).toBe('to stdout\nto stderr\n');
      expect(passedOn).toEqual(['to stdout\n', 'to stderr\n', 'after restore\n']);
    });
  });

  test('console calls are copied to the log file and still passed on', async () => {
    await inFakeRun((runDirectory) => {
      const file = join(runDirectory, 'console.log');
      const printed: unknown[][] = [];
      const fakeConsole = { log: (...parts: unknown[]) => printed.push(parts) } as unknown as Console;
      const restore = captureConsole(file, fakeConsole);
      fakeConsole.log('a message', { with: 'an object' });
      restore();
      fakeConsole.log('not copied');
      expect(readFileSync(file, 'utf8')).toBe('a message {"with":"an object"}\n');
      expect(printed).toEqual([['a message', { with: 'an object' }], ['not copied']]);
    });
  });

  test('output a test held in memory is recorded in the run\'s logs', async () => {
    await inFakeRun((runDirectory) => {
      recordCapturedOutput('{"level":"info"}');
      recordCapturedOutput('');
      const files = readdirSync(logDirectory(runDirectory));
      expect(files).toEqual([`captured-${process.pid}.log`]);
      expect(readFileSync(join(logDirectory(runDirectory), files[0]), 'utf8')).toBe('{"level":"info"}\n');
    });
  });
});
