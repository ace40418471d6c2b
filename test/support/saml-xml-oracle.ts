import { ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** An element as expat (python's xml.dom.minidom) parsed it. */
export interface ParsedElement {
  readonly ns: string | null;
  readonly name: string;
  /** Attributes by qualified name, namespace declarations included. */
  readonly attributes: Record<string, string>;
  /** The concatenated character data directly inside the element. */
  readonly text: string;
  readonly children: ParsedElement[];
}

/** What the independent parsers made of one emitted Response. */
export interface OracleReading {
  readonly tree: ParsedElement;
  /** Node kinds no emitted document may contain: comments, processing instructions, CDATA, DOCTYPE. */
  readonly unexpectedNodes: string[];
  readonly assertionId: string;
  readonly referenceUri: string;
  readonly digestValue: string;
  /** SHA-256 of the Assertion without its Signature, canonicalized by libxml2 (exclusive C14N). */
  readonly computedDigest: string;
  /** Base64 of `ds:SignedInfo` canonicalized by libxml2: the bytes the signature must cover. */
  readonly canonicalSignedInfo: string;
  readonly signatureValue: string;
}

const ORACLE_SCRIPT = join(__dirname, 'saml-xml-oracle.py');
const SYSTEM_PYTHON = '/usr/bin/python3';
const REPLY_TIMEOUT_MS = 10_000;

/**
 * One long-running python process that parses emitted Responses with expat and recomputes their
 * canonical digest with libxml2, so a property run costs one spawn instead of one per case.
 */
export class SamlXmlOracle {
  static start(): SamlXmlOracle {
    return new SamlXmlOracle(spawn(SYSTEM_PYTHON, [ORACLE_SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] }));
  }

  private readonly pending: Array<{ resolve: (line: string) => void; reject: (error: Error) => void }> = [];
  private stderr = '';

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on('line', (line) => this.pending.shift()?.resolve(line));
    child.stderr.on('data', (chunk: Buffer) => { this.stderr += chunk.toString('utf8'); });
    child.on('exit', (code) => {
      const error = new Error(`XML oracle exited with ${code}: ${this.stderr}`);
      this.pending.splice(0).forEach((waiter) => waiter.reject(error));
    });
  }

  /** Parses one document; rejects when either parser refuses it. */
  async read(xml: string): Promise<OracleReading> {
    const line = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('XML oracle did not answer in time')), REPLY_TIMEOUT_MS);
      this.pending.push({
        resolve: (reply) => { clearTimeout(timer); resolve(reply); },
        reject: (error) => { clearTimeout(timer); reject(error); },
      });
      this.child.stdin.write(`${JSON.stringify({ xml })}\n`);
    });
    const reply = JSON.parse(line) as OracleReading & { error?: string };
    if (reply.error !== undefined) {
      throw new Error(`independent parsers refused the document: ${reply.error}`);
    }
    return reply;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) {
      return;
    }
    await new Promise<void>((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.stdin.end();
    });
  }
}
