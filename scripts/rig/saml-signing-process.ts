import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { DOMImplementation, XMLSerializer, type Document, type Element } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import { cpuMicros } from './cpu';
import type { SamlSigningReply, SamlSigningRound } from './messages';
import { buildSelfSignedCertificate } from '../../lambda/certificate/certificate';
import { AWS_SAML_ATTRIBUTE_PREFIX, NOT_BEFORE_BACKDATE_SECONDS, buildSignedSamlResponse, newSamlId } from '../../lambda/delegation/saml';
import type { AssertionInput } from '../../lambda/delegation/types';
import { PemSigner } from '../../lambda/shared/pem-signer';
import { readSignedSamlResponse } from '../../local/sts-saml';

/**
 * A child process comparing, on CPU time and in alternating rounds, the SAML build-and-sign step done
 * by the canonical emitter (lambda/delegation/saml.ts) with the same document built through a DOM
 * (@xmldom/xmldom) and signed by xml-crypto (exclusive C14N, RSA-SHA256, SHA-256 digest), each against
 * bare RSA-2048 signatures. Both outputs are first checked by the loopback STS's verifier.
 * `SAML_SIGNING_JOB` holds `{ iterations, rounds }`.
 */

const SAML_ASSERTION_NS = 'urn:oasis:names:tc:SAML:2.0:assertion';
const SAML_PROTOCOL_NS = 'urn:oasis:names:tc:SAML:2.0:protocol';
const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const ENVELOPED_SIGNATURE = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';
const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';

const INPUT: Omit<AssertionInput, 'now'> = {
  issuer: 'https://delegation.example.com/saml',
  recipient: 'https://signin.aws.amazon.com/saml',
  audiences: ['urn:amazon:webservices', 'https://signin.aws.amazon.com/saml'],
  providerArn: 'arn:aws:iam::123456789012:saml-provider/TokenDelegation',
  lifetimeSeconds: 300,
  grant: {
    subject: 'auth0|5f7c8ec7c33c6c004bbafe82',
    roleArn: 'arn:aws:iam::123456789012:role/delegation/TokenDelegationUserRole',
    roleSessionName: 'auth0_5f7c8ec7c33c6c004bbafe82=0123456789abcdef01234567',
    sourceIdentity: 'auth0_5f7c8ec7c33c6c004bbafe82=0123456789abcdef01234567',
    sessionTags: [{ key: 'department', value: 'engineering' }],
    durationSeconds: 3600,
  },
};

function isoSeconds(epochMs: number): string {
  return `${new Date(Math.floor(epochMs / 1000) * 1000).toISOString().slice(0, 19)}Z`;
}

function child(document: Document, parent: Element, name: string, attributes: Record<string, string> = {}, text?: string): Element {
  const element = document.createElementNS(name.startsWith('samlp:') ? SAML_PROTOCOL_NS : SAML_ASSERTION_NS, name);
  for (const [attribute, value] of Object.entries(attributes)) {
    element.setAttribute(attribute, value);
  }
  if (text !== undefined) {
    element.appendChild(document.createTextNode(text));
  }
  parent.appendChild(element);
  return element;
}

/** The same samlp:Response as the emitter writes, built node by node, then signed by xml-crypto. */
export function domSignedSamlResponse(input: AssertionInput, privateKey: KeyObject): string {
  const { grant } = input;
  const now = input.now.getTime();
  const issueInstant = isoSeconds(now);
  const notOnOrAfter = isoSeconds(now + input.lifetimeSeconds * 1000);
  const document = new DOMImplementation().createDocument(SAML_PROTOCOL_NS, 'samlp:Response', null);
  const response = document.documentElement!;
  response.setAttributeNS('http://www.w3.org/2000/xmlns/', 'xmlns:saml', SAML_ASSERTION_NS);
  response.setAttribute('Destination', input.recipient);
  response.setAttribute('ID', newSamlId());
  response.setAttribute('IssueInstant', issueInstant);
  response.setAttribute('Version', '2.0');
  child(document, response, 'saml:Issuer', {}, input.issuer);
  const status = child(document, response, 'samlp:Status');
  child(document, status, 'samlp:StatusCode', { Value: 'urn:oasis:names:tc:SAML:2.0:status:Success' });
  const assertion = child(document, response, 'saml:Assertion', { ID: newSamlId(), IssueInstant: issueInstant, Version: '2.0' });
  child(document, assertion, 'saml:Issuer', {}, input.issuer);
  const subject = child(document, assertion, 'saml:Subject');
  child(document, subject, 'saml:NameID', { Format: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent' }, grant.subject);
  const confirmation = child(document, subject, 'saml:SubjectConfirmation', { Method: 'urn:oasis:names:tc:SAML:2.0:cm:bearer' });
  child(document, confirmation, 'saml:SubjectConfirmationData', { NotOnOrAfter: notOnOrAfter, Recipient: input.recipient });
  const conditions = child(document, assertion, 'saml:Conditions', { NotBefore: isoSeconds(now - NOT_BEFORE_BACKDATE_SECONDS * 1000), NotOnOrAfter: notOnOrAfter });
  const restriction = child(document, conditions, 'saml:AudienceRestriction');
  for (const audience of input.audiences) {
    child(document, restriction, 'saml:Audience', {}, audience);
  }
  const authn = child(document, assertion, 'saml:AuthnStatement', { AuthnInstant: issueInstant, SessionIndex: newSamlId() });
  const context = child(document, authn, 'saml:AuthnContext');
  child(document, context, 'saml:AuthnContextClassRef', {}, 'urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified');
  const statement = child(document, assertion, 'saml:AttributeStatement');
  const attributes: Array<[string, string]> = [
    ['Role', `${grant.roleArn},${input.providerArn}`],
    ['RoleSessionName', grant.roleSessionName],
    ['SessionDuration', String(grant.durationSeconds)],
    ['SourceIdentity', grant.sourceIdentity],
    ...grant.sessionTags.map((tag): [string, string] => [`PrincipalTag:${tag.key}`, tag.value]),
  ];
  for (const [name, value] of attributes) {
    const attribute = child(document, statement, 'saml:Attribute', { Name: `${AWS_SAML_ATTRIBUTE_PREFIX}${name}`, NameFormat: 'urn:oasis:names:tc:SAML:2.0:attrname-format:uri' });
    child(document, attribute, 'saml:AttributeValue', {}, value);
  }

  const signature = new SignedXml({ privateKey, canonicalizationAlgorithm: EXC_C14N, signatureAlgorithm: RSA_SHA256 });
  signature.addReference({ xpath: "/*/*[local-name(.)='Assertion']", transforms: [ENVELOPED_SIGNATURE, EXC_C14N], digestAlgorithm: SHA256 });
  signature.computeSignature(new XMLSerializer().serializeToString(document), {
    prefix: 'ds',
    location: { reference: "/*/*[local-name(.)='Assertion']/*[local-name(.)='Issuer']", action: 'after' },
  });
  return signature.getSignedXml();
}

async function cpuPerIteration(iterations: number, work: () => unknown): Promise<number> {
  const before = cpuMicros();
  for (let index = 0; index < iterations; index++) {
    await work();
  }
  return (cpuMicros() - before) / iterations;
}

async function main(): Promise<void> {
  const job = JSON.parse(process.env.SAML_SIGNING_JOB ?? '{"iterations":200,"rounds":7}') as { iterations: number; rounds: number };
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const key = createPrivateKey(pem);
  const signer = new PemSigner(pem);
  const certificate = await buildSelfSignedCertificate({
    subjectPublicKeyInfoDer: new Uint8Array(createPublicKey(key).export({ type: 'spki', format: 'der' })),
    commonName: 'benchmark',
    signer,
  });
  const certificateBase64 = Buffer.from(certificate.der).toString('base64');
  const signedInfoSized = Buffer.alloc(900, 0x61);

  const ours = () => buildSignedSamlResponse({ ...INPUT, now: new Date() }, signer);
  const theirs = () => domSignedSamlResponse({ ...INPUT, now: new Date() }, key);
  const bare = () => sign('sha256', signedInfoSized, key);
  for (const [name, xml] of [['canonical emitter', await ours()], ['xml-crypto', theirs()]] as const) {
    const facts = readSignedSamlResponse(Buffer.from(xml, 'utf8').toString('base64'), [certificateBase64]);
    if (facts.assertion.nameId !== INPUT.grant.subject) {
      throw new Error(`${name}: the verified assertion does not carry the subject`);
    }
  }

  for (const work of [ours, theirs, bare]) {
    await cpuPerIteration(job.iterations, work);
  }
  const rounds: SamlSigningRound[] = [];
  for (let round = 0; round < job.rounds; round++) {
    rounds.push({
      emitterMicros: await cpuPerIteration(job.iterations, ours),
      xmlCryptoMicros: await cpuPerIteration(job.iterations, theirs),
      signatureMicros: await cpuPerIteration(job.iterations, bare),
    });
  }
  const reply: SamlSigningReply = { type: 'saml-signing', rounds, emitterBytes: (await ours()).length, xmlCryptoBytes: theirs().length };
  process.send?.(reply, () => process.exit(0));
}

main().catch((error: unknown) => {
  process.send?.({ type: 'error', message: error instanceof Error ? error.message : String(error) }, () => process.exit(1));
});
