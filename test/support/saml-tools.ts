import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What an external verifier said: `ok` is its verdict, `output` its stdout and stderr for failure messages. */
export interface ToolResult {
  readonly ok: boolean;
  readonly output: string;
}

/** The SAML 2.0 schemas installed by Debian's `opensaml-schemas`. */
export const OPENSAML_SCHEMA_DIR = '/usr/share/xml/opensaml';
export const SAML_METADATA_XSD = `${OPENSAML_SCHEMA_DIR}/saml-schema-metadata-2.0.xsd`;
export const SAML_PROTOCOL_XSD = `${OPENSAML_SCHEMA_DIR}/saml-schema-protocol-2.0.xsd`;

/** The W3C schemas the SAML schemas import by http URL; python3-onelogin-saml2 ships local copies. */
const W3C_SCHEMA_DIR = '/usr/lib/python3/dist-packages/onelogin/saml2/schemas';
const W3C_SCHEMA_COPIES: Record<string, string> = {
  'http://www.w3.org/TR/2002/REC-xmldsig-core-20020212/xmldsig-core-schema.xsd': `${W3C_SCHEMA_DIR}/xmldsig-core-schema.xsd`,
  'http://www.w3.org/TR/2002/REC-xmlenc-core-20021210/xenc-schema.xsd': `${W3C_SCHEMA_DIR}/xenc-schema.xsd`,
  'http://www.w3.org/2001/xml.xsd': `${W3C_SCHEMA_DIR}/xml.xsd`,
};

/** The Python that has python3-onelogin-saml2 (a pyenv shim earlier on PATH does not). */
const SYSTEM_PYTHON = '/usr/bin/python3';
const TOOL_TIMEOUT_MS = 60_000;

export const AWS_SIGNIN_URL = 'https://signin.aws.amazon.com/saml';
export const AWS_SP_ENTITY_ID = 'urn:amazon:webservices';
const SAML_ASSERTION_ELEMENT = 'urn:oasis:names:tc:SAML:2.0:assertion:Assertion';
const SAML_RESPONSE_ELEMENT = 'urn:oasis:names:tc:SAML:2.0:protocol:Response';

interface ProcessOutcome {
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a program without a shell, bounded in time, feeding `input` to stdin. */
function runProcess(
  command: string,
  args: string[],
  options: { input?: string; env?: Record<string, string> } = {},
): Promise<ProcessOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: TOOL_TIMEOUT_MS,
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', reject);
    child.on('close', (exitCode) => resolve({
      exitCode,
      stdout: Buffer.concat(stdout).toString('utf8'),
      stderr: Buffer.concat(stderr).toString('utf8'),
    }));
    // A verifier may exit before reading all its input; its exit status is what counts.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

function combinedOutput(outcome: ProcessOutcome): string {
  return [outcome.stdout, outcome.stderr].filter((text) => text.length > 0).join('\n');
}

/** Gives `work` a private temporary directory and removes it afterwards. */
async function withTempDir<T>(work: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'saml-tools-'));
  try {
    return await work(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** An XML catalog that maps the remote W3C schema URLs to the local copies, so `--nonet` works. */
function w3cSchemaCatalog(): string {
  const entries = Object.entries(W3C_SCHEMA_COPIES).map(([remote, local]) =>
    `  <system systemId="${remote}" uri="file://${local}"/>\n  <uri name="${remote}" uri="file://${local}"/>`);
  return [
    '<?xml version="1.0"?>',
    '<catalog xmlns="urn:oasis:names:tc:entity:xmlns:xml:catalog">',
    ...entries,
    '</catalog>',
    '',
  ].join('\n');
}

/** Validates `xml` against an XSD with xmllint, offline. */
export async function validateWithXsd(xml: string, schemaPath: string): Promise<ToolResult> {
  return withTempDir(async (dir) => {
    const catalogPath = join(dir, 'catalog.xml');
    const documentPath = join(dir, 'document.xml');
    await writeFile(catalogPath, w3cSchemaCatalog());
    await writeFile(documentPath, xml);
    const outcome = await runProcess(
      'xmllint',
      ['--nonet', '--noout', '--schema', schemaPath, documentPath],
      { env: { XML_CATALOG_FILES: catalogPath } },
    );
    return { ok: outcome.exitCode === 0, output: combinedOutput(outcome) };
  });
}

/** Validates an `md:EntityDescriptor` against the SAML 2.0 metadata schema. */
export function validateSamlMetadataSchema(xml: string): Promise<ToolResult> {
  return validateWithXsd(xml, SAML_METADATA_XSD);
}

/** Validates a `samlp:Response` (or other protocol message) against the SAML 2.0 protocol schema. */
export function validateSamlProtocolSchema(xml: string): Promise<ToolResult> {
  return validateWithXsd(xml, SAML_PROTOCOL_XSD);
}

export interface XmlsecVerifyOptions {
  /**
   * Which signed element carries the ID the signature references.
   * @default 'assertion'
   */
  readonly signedElement?: 'assertion' | 'response';
}

/** Verifies the XML signature of a SAML document with libxmlsec1 (`xmlsec1 --verify`) and a PEM certificate. */
export async function verifyWithXmlsec(
  xml: string,
  certificatePem: string,
  options: XmlsecVerifyOptions = {},
): Promise<ToolResult> {
  const idElement = options.signedElement === 'response' ? SAML_RESPONSE_ELEMENT : SAML_ASSERTION_ELEMENT;
  return withTempDir(async (dir) => {
    const certificatePath = join(dir, 'idp.crt');
    const documentPath = join(dir, 'document.xml');
    await writeFile(certificatePath, certificatePem);
    await writeFile(documentPath, xml);
    const outcome = await runProcess('xmlsec1', [
      '--verify',
      '--pubkey-cert-pem', certificatePath,
      '--enabled-key-data', 'key-name',
      '--id-attr:ID', idElement,
      documentPath,
    ]);
    return { ok: outcome.exitCode === 0, output: combinedOutput(outcome) };
  });
}

export interface SamlsignVerifyOptions {
  /** The ID of the signed element (e.g. the Assertion's ID); the document root when absent. */
  readonly id?: string;
}

/** Verifies a signature with OpenSAML's `samlsign` (Apache Santuario C++) against a PEM certificate. */
export async function verifyWithSamlsign(
  xml: string,
  certificatePem: string,
  options: SamlsignVerifyOptions = {},
): Promise<ToolResult> {
  return withTempDir(async (dir) => {
    const certificatePath = join(dir, 'idp.crt');
    const documentPath = join(dir, 'document.xml');
    await writeFile(certificatePath, certificatePem);
    await writeFile(documentPath, xml);
    const idArgs = options.id === undefined ? [] : ['-id', options.id];
    const outcome = await runProcess('samlsign', ['-f', documentPath, ...idArgs, '-c', certificatePath]);
    return { ok: outcome.exitCode === 0, output: combinedOutput(outcome) };
  });
}

export interface SamlsignMetadataVerifyOptions extends SamlsignVerifyOptions {
  /** The IdP's entityID, looked up in the metadata (OpenSAML also checks the role is a SAML 2.0 IDPSSODescriptor). */
  readonly issuer: string;
}

/**
 * Verifies a signature with `samlsign` in trust-engine mode: the signing keys come from IdP metadata,
 * loaded by OpenSAML's XML metadata provider, as a relying party would. The provider does not
 * schema-validate (Debian lacks the xmltooling schema catalog): use {@link validateSamlMetadataSchema} for that.
 */
export async function verifyWithSamlsignMetadata(
  xml: string,
  metadataXml: string,
  options: SamlsignMetadataVerifyOptions,
): Promise<ToolResult> {
  return withTempDir(async (dir) => {
    const documentPath = join(dir, 'document.xml');
    const metadataPath = join(dir, 'metadata.xml');
    const providerPath = join(dir, 'metadata-provider.xml');
    const trustEnginePath = join(dir, 'trust-engine.xml');
    await writeFile(documentPath, xml);
    await writeFile(metadataPath, metadataXml);
    await writeFile(providerPath, `<MetadataProvider type="XML" validate="false" path="${metadataPath}"/>\n`);
    await writeFile(trustEnginePath, '<TrustEngine type="ExplicitKey"/>\n');
    const idArgs = options.id === undefined ? [] : ['-id', options.id];
    const outcome = await runProcess('samlsign', [
      '-f', documentPath, ...idArgs,
      '-T', trustEnginePath,
      '-M', providerPath,
      '-i', options.issuer,
      '-saml2', '-idp',
    ]);
    return { ok: outcome.exitCode === 0, output: combinedOutput(outcome) };
  });
}

export interface SamlsignSignOptions {
  readonly privateKeyPem: string;
  readonly certificatePem: string;
  /** The ID of the element to sign; the document root when absent. */
  readonly id?: string;
}

/** Signs a SAML object with `samlsign -s` (RSA-SHA256 by default); `output` holds the signed XML on success. */
export async function signWithSamlsign(xml: string, options: SamlsignSignOptions): Promise<ToolResult> {
  return withTempDir(async (dir) => {
    const keyPath = join(dir, 'signing.key');
    const certificatePath = join(dir, 'signing.crt');
    const documentPath = join(dir, 'document.xml');
    await writeFile(keyPath, options.privateKeyPem, { mode: 0o600 });
    await writeFile(certificatePath, options.certificatePem);
    await writeFile(documentPath, xml);
    const idArgs = options.id === undefined ? [] : ['-id', options.id];
    const outcome = await runProcess('samlsign', [
      '-s', '-f', documentPath, ...idArgs, '-k', keyPath, '-c', certificatePath,
      '-alg', 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
      '-dig', 'http://www.w3.org/2001/04/xmlenc#sha256',
    ]);
    const ok = outcome.exitCode === 0;
    return { ok, output: ok ? outcome.stdout : combinedOutput(outcome) };
  });
}

/** Runs a Python snippet with the system interpreter, passing `request` as JSON on stdin and parsing JSON from stdout. */
async function runPythonJson(script: string, request: unknown): Promise<{ reply?: Record<string, unknown>; output: string }> {
  const outcome = await runProcess(SYSTEM_PYTHON, ['-c', script], { input: JSON.stringify(request) });
  const output = combinedOutput(outcome);
  if (outcome.exitCode !== 0) {
    return { output };
  }
  try {
    return { reply: JSON.parse(outcome.stdout) as Record<string, unknown>, output };
  } catch {
    return { output };
  }
}

const ONELOGIN_RESPONSE_SCRIPT = `
import json, sys
from urllib.parse import urlparse
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser
from onelogin.saml2.settings import OneLogin_Saml2_Settings
from onelogin.saml2.response import OneLogin_Saml2_Response

request = json.load(sys.stdin)
acs = urlparse(request['acsUrl'])
idp = OneLogin_Saml2_IdPMetadataParser.parse(
    request['metadata'], required_sso_binding='urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST')
settings = OneLogin_Saml2_IdPMetadataParser.merge_settings({
    'strict': True,
    'sp': {
        'entityId': request['spEntityId'],
        'assertionConsumerService': {
            'url': request['acsUrl'],
            'binding': 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST',
        },
    },
    'security': {'wantAssertionsSigned': True},
}, idp)
response = OneLogin_Saml2_Response(OneLogin_Saml2_Settings(settings, sp_validation_only=True), request['response'])
valid = response.is_valid({
    'https': 'on' if acs.scheme == 'https' else 'off',
    'http_host': acs.hostname,
    'script_name': acs.path,
    'server_port': str(acs.port or (443 if acs.scheme == 'https' else 80)),
})
reply = {'valid': bool(valid), 'error': response.get_error()}
if valid:
    reply['nameId'] = response.get_nameid()
    reply['nameIdFormat'] = response.get_nameid_format()
    reply['attributes'] = response.get_attributes()
    reply['issuers'] = response.get_issuers()
    reply['audiences'] = response.get_audiences()
print(json.dumps(reply))
`;

export interface OneLoginResponseOptions {
  /**
   * The SP entityID the response's AudienceRestriction must name.
   * @default 'urn:amazon:webservices'
   */
  readonly spEntityId?: string;
  /**
   * The assertion consumer service URL: the Destination and Recipient must match it.
   * @default 'https://signin.aws.amazon.com/saml'
   */
  readonly acsUrl?: string;
}

/** What OneLogin extracted from a response it accepted. */
export interface OneLoginResponseResult extends ToolResult {
  readonly nameId?: string;
  readonly nameIdFormat?: string;
  readonly attributes?: Record<string, string[]>;
  readonly issuers?: string[];
  readonly audiences?: string[];
}

/**
 * Validates a base64 `samlp:Response` with OneLogin python3-saml in strict mode against IdP metadata:
 * schema, one assertion, audience, issuer, validity window, recipient, signature placement and signature.
 */
export async function validateWithOneLogin(
  responseBase64: string,
  metadataXml: string,
  options: OneLoginResponseOptions = {},
): Promise<OneLoginResponseResult> {
  const { reply, output } = await runPythonJson(ONELOGIN_RESPONSE_SCRIPT, {
    response: responseBase64,
    metadata: metadataXml,
    spEntityId: options.spEntityId ?? AWS_SP_ENTITY_ID,
    acsUrl: options.acsUrl ?? AWS_SIGNIN_URL,
  });
  if (reply === undefined) {
    return { ok: false, output };
  }
  return {
    ok: reply.valid === true,
    output,
    nameId: reply.nameId as string | undefined,
    nameIdFormat: reply.nameIdFormat as string | undefined,
    attributes: reply.attributes as Record<string, string[]> | undefined,
    issuers: reply.issuers as string[] | undefined,
    audiences: reply.audiences as string[] | undefined,
  };
}

const ONELOGIN_METADATA_SCRIPT = `
import json, sys
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser

request = json.load(sys.stdin)
parsed = OneLogin_Saml2_IdPMetadataParser.parse(
    request['metadata'], required_sso_binding='urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST')
idp = parsed.get('idp', {})
multi = idp.get('x509certMulti', {}).get('signing')
certificates = multi if multi else ([idp['x509cert']] if idp.get('x509cert') else [])
print(json.dumps({
    'entityId': idp.get('entityId'),
    'ssoUrl': idp.get('singleSignOnService', {}).get('url'),
    'ssoBinding': idp.get('singleSignOnService', {}).get('binding'),
    'certificates': certificates,
    'nameIdFormat': parsed.get('sp', {}).get('NameIDFormat'),
}))
`;

/** The IdP settings OneLogin derived from metadata. */
export interface OneLoginIdpMetadata {
  readonly entityId?: string;
  readonly ssoUrl?: string;
  readonly ssoBinding?: string;
  /** Base64 DER signing certificates, whitespace removed. */
  readonly certificates: string[];
  readonly nameIdFormat?: string;
}

export interface OneLoginMetadataResult extends ToolResult {
  readonly idp?: OneLoginIdpMetadata;
}

/** Parses IdP metadata with OneLogin's `OneLogin_Saml2_IdPMetadataParser` (HTTP-POST SSO binding). */
export async function parseIdpMetadataWithOneLogin(metadataXml: string): Promise<OneLoginMetadataResult> {
  const { reply, output } = await runPythonJson(ONELOGIN_METADATA_SCRIPT, { metadata: metadataXml });
  if (reply === undefined) {
    return { ok: false, output };
  }
  const idp: OneLoginIdpMetadata = {
    entityId: reply.entityId as string | undefined,
    ssoUrl: reply.ssoUrl as string | undefined,
    ssoBinding: reply.ssoBinding as string | undefined,
    certificates: ((reply.certificates as string[] | undefined) ?? []).map((certificate) => certificate.replace(/\s+/g, '')),
    nameIdFormat: reply.nameIdFormat as string | undefined,
  };
  return { ok: typeof idp.entityId === 'string' && idp.certificates.length > 0, output, idp };
}

/** Wraps base64 DER as a PEM certificate, the form xmlsec1 and samlsign read. */
export function certificatePemFromBase64Der(base64Der: string): string {
  const lines = base64Der.replace(/\s+/g, '').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}
