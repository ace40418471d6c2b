import { createHash, KeyObject, verify } from 'node:crypto';
import {
  buildSignedSamlResponse,
  canonicalSignedInfo,
  escapeXmlAttribute,
  escapeXmlText,
  newSamlId,
  NOT_BEFORE_BACKDATE_SECONDS,
} from '../../lambda/delegation/saml';
import type { AssertionInput } from '../../lambda/delegation/types';
import {
  assertionInput,
  AssertionInputOverrides,
  AWS_ATTRIBUTE,
  generateTestRsaKeyPair,
  RecordingSigner,
} from '../support/saml-fixtures';

/** XML 1.0 `Name` production restricted to no colon, for the characters our IDs could contain. */
const NCNAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

const UNREPRESENTABLE = [
  ['NUL', '\u0000'],
  ['U+0008', '\u0008'],
  ['vertical tab', '\u000B'],
  ['form feed', '\u000C'],
  ['U+001F', '\u001F'],
  ['U+FFFE', '\uFFFE'],
  ['U+FFFF', '\uFFFF'],
  ['lone high surrogate', '\uD800'],
  ['lone low surrogate', '\uDFFF'],
  ['reversed surrogate pair', '\uDC00\uD800'],
  ['high surrogate at the end', 'x\uDBFF'],
] as const;

const REPRESENTABLE_BOUNDARIES = [
  '\t', '\n', '\r', ' ', '\u007F', '\u0085', '\u2028', '\uD7FF', '\uE000', '\uFFFD', '\u{10000}', '\u{10FFFF}', 'é☃𝄞',
];

function between(xml: string, open: string, close: string): string {
  const start = xml.indexOf(open);
  const end = xml.indexOf(close, start + open.length);
  if (start < 0 || end < 0) {
    throw new Error(`${open}…${close} not found`);
  }
  return xml.slice(start + open.length, end);
}

function attributeOf(xml: string, element: string, attribute: string): string {
  const match = new RegExp(`<${element} [^>]*\\b${attribute}="([^"]*)"`).exec(xml);
  if (match === null) {
    throw new Error(`${element}/@${attribute} not found`);
  }
  return match[1];
}

describe('escapeXmlText', () => {
  test.each([
    ['&', '&amp;'],
    ['<', '&lt;'],
    ['>', '&gt;'],
    ['\r', '&#xD;'],
    [']]>', ']]&gt;'],
    ['<!--x-->', '&lt;!--x--&gt;'],
    ['<?pi?>', '&lt;?pi?&gt;'],
    ['a&b<c>d\re', 'a&amp;b&lt;c&gt;d&#xD;e'],
  ])('writes %j as exclusive C14N does: %j', (value, escaped) => {
    expect(escapeXmlText(value)).toBe(escaped);
  });

  test('leaves quotes, TAB, LF and non-ASCII text as they are, as C14N does', () => {
    expect(escapeXmlText('"\'\t\nauth0|5f0c é☃𝄞')).toBe('"\'\t\nauth0|5f0c é☃𝄞');
  });

  test.each(REPRESENTABLE_BOUNDARIES)('accepts the XML character %j', (value) => {
    expect(escapeXmlText(value)).toBe(value === '\r' ? '&#xD;' : value);
  });

  test.each(UNREPRESENTABLE)('refuses a %s without repeating the value', (_name, character) => {
    const call = () => escapeXmlText(`secret-claim${character}`, 'grant.subject');
    expect(call).toThrow(new Error('grant.subject contains a character that XML 1.0 cannot represent'));
  });
});

describe('escapeXmlAttribute', () => {
  test.each([
    ['&', '&amp;'],
    ['<', '&lt;'],
    ['"', '&quot;'],
    ['\t', '&#x9;'],
    ['\n', '&#xA;'],
    ['\r', '&#xD;'],
    ['\r\n', '&#xD;&#xA;'],
    ['"/><x a="', '&quot;/>&lt;x a=&quot;'],
  ])('writes %j as exclusive C14N does: %j', (value, escaped) => {
    expect(escapeXmlAttribute(value)).toBe(escaped);
  });

  test('leaves > and the apostrophe unescaped, as C14N does', () => {
    expect(escapeXmlAttribute('a>b\'c é')).toBe('a>b\'c é');
  });

  test.each(UNREPRESENTABLE)('refuses a %s without repeating the value', (_name, character) => {
    const call = () => escapeXmlAttribute(`secret-claim${character}`, 'recipient');
    expect(call).toThrow(new Error('recipient contains a character that XML 1.0 cannot represent'));
  });

  test('refuses a value that is not a string', () => {
    expect(() => escapeXmlAttribute(42 as unknown as string)).toThrow('value must be a string');
  });
});

describe('newSamlId', () => {
  test('is an NCName of an underscore and 128 random bits in hex', () => {
    const ids = Array.from({ length: 1000 }, () => newSamlId());
    for (const id of ids) {
      expect(id).toMatch(/^_[0-9a-f]{32}$/);
      expect(id).toMatch(NCNAME);
    }
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('buildSignedSamlResponse', () => {
  let privateKey: KeyObject;
  let publicKey: KeyObject;

  beforeAll(() => {
    ({ privateKey, publicKey } = generateTestRsaKeyPair());
  });

  async function build(overrides: AssertionInputOverrides = {}): Promise<{ xml: string; input: AssertionInput; signer: RecordingSigner }> {
    const input = assertionInput(overrides);
    const signer = new RecordingSigner(privateKey);
    return { xml: await buildSignedSamlResponse(input, signer), input, signer };
  }

  test('writes no declaration, comment, self-closing tag or whitespace between elements', async () => {
    const { xml } = await build();
    expect(xml.startsWith('<samlp:Response ')).toBe(true);
    expect(xml.endsWith('</samlp:Response>')).toBe(true);
    expect(xml).not.toMatch(/<\?|<!|\/>|>\s+</);
  });

  test('holds exactly one Assertion with the Signature right after its Issuer', async () => {
    const { xml } = await build();
    expect(xml.match(/<saml:Assertion[ >]/g)).toHaveLength(1);
    expect(xml.match(/<ds:Signature[ >]/g)).toHaveLength(1);
    expect(xml).toMatch(/<saml:Assertion [^>]*><saml:Issuer>[^<]*<\/saml:Issuer><ds:Signature /);
    expect(xml).toMatch(/<\/ds:Signature><saml:Subject>/);
  });

  test('writes every start tag with namespace declarations first and attributes in C14N (sorted) order', async () => {
    const { xml } = await build();
    const startTags = [...xml.matchAll(/<([A-Za-z:]+)((?: [^=]+="[^"]*")*)>/g)];
    expect(startTags.length).toBeGreaterThan(20);
    for (const [, , attributes] of startTags) {
      const names = [...attributes.matchAll(/ ([^=]+)="/g)].map((match) => match[1]);
      const declarations = names.filter((name) => name.startsWith('xmlns'));
      const plain = names.filter((name) => !name.startsWith('xmlns'));
      expect(names).toEqual([...[...declarations].sort(), ...[...plain].sort()]);
    }
  });

  test('digests the Assertion without its Signature and signs exactly the SignedInfo it writes', async () => {
    const { xml, signer } = await build();
    const assertion = `<saml:Assertion ${between(xml, '<saml:Assertion ', '</saml:Assertion>')}</saml:Assertion>`;
    const signature = `<ds:Signature ${between(xml, '<ds:Signature ', '</ds:Signature>')}</ds:Signature>`;
    const expectedDigest = createHash('sha256').update(assertion.replace(signature, '')).digest('base64');
    const assertionId = attributeOf(xml, 'saml:Assertion', 'ID');
    const signedInfo = canonicalSignedInfo(assertionId, expectedDigest);

    expect(between(xml, '<ds:DigestValue>', '</ds:DigestValue>')).toBe(expectedDigest);
    expect(signature).toContain(signedInfo);
    expect(signer.signedData).toEqual([Buffer.from(signedInfo, 'utf8')]);
    const signatureValue = Buffer.from(between(xml, '<ds:SignatureValue>', '</ds:SignatureValue>'), 'base64');
    expect(verify('sha256', Buffer.from(signedInfo, 'utf8'), publicKey, signatureValue)).toBe(true);
  });

  test('uses the exclusive C14N, enveloped-signature, RSA-SHA256 and SHA-256 algorithms and references the Assertion', async () => {
    const { xml } = await build();
    const assertionId = attributeOf(xml, 'saml:Assertion', 'ID');
    expect(between(xml, '<ds:SignedInfo ', '</ds:SignedInfo>')).toBe([
      'xmlns:ds="http://www.w3.org/2000/09/xmldsig#">',
      '<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"></ds:CanonicalizationMethod>',
      '<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"></ds:SignatureMethod>',
      `<ds:Reference URI="#${assertionId}"><ds:Transforms>`,
      '<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"></ds:Transform>',
      '<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"></ds:Transform></ds:Transforms>',
      '<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"></ds:DigestMethod>',
      `<ds:DigestValue>${between(xml, '<ds:DigestValue>', '</ds:DigestValue>')}</ds:DigestValue></ds:Reference>`,
    ].join(''));
  });

  test('gives Response, Assertion and session distinct NCName IDs', async () => {
    const { xml } = await build();
    const ids = [
      attributeOf(xml, 'samlp:Response', 'ID'),
      attributeOf(xml, 'saml:Assertion', 'ID'),
      attributeOf(xml, 'saml:AuthnStatement', 'SessionIndex'),
    ];
    ids.forEach((id) => expect(id).toMatch(NCNAME));
    expect(new Set(ids).size).toBe(3);
  });

  test('derives every time from now: NotBefore backdated, NotOnOrAfter after the lifetime, whole seconds in UTC', async () => {
    const { xml } = await build({ now: new Date('2026-03-04T05:06:07.890Z'), lifetimeSeconds: 300 });
    expect(NOT_BEFORE_BACKDATE_SECONDS).toBe(60);
    expect(attributeOf(xml, 'samlp:Response', 'IssueInstant')).toBe('2026-03-04T05:06:07Z');
    expect(attributeOf(xml, 'saml:Assertion', 'IssueInstant')).toBe('2026-03-04T05:06:07Z');
    expect(attributeOf(xml, 'saml:AuthnStatement', 'AuthnInstant')).toBe('2026-03-04T05:06:07Z');
    expect(attributeOf(xml, 'saml:Conditions', 'NotBefore')).toBe('2026-03-04T05:05:07Z');
    expect(attributeOf(xml, 'saml:Conditions', 'NotOnOrAfter')).toBe('2026-03-04T05:11:07Z');
    expect(attributeOf(xml, 'saml:SubjectConfirmationData', 'NotOnOrAfter')).toBe('2026-03-04T05:11:07Z');
  });

  test('addresses the recipient and lists every audience in one AudienceRestriction', async () => {
    const recipient = 'https://eu-west-1.signin.aws.amazon.com/saml';
    const { xml } = await build({ recipient, audiences: ['urn:amazon:webservices', recipient] });
    expect(attributeOf(xml, 'samlp:Response', 'Destination')).toBe(recipient);
    expect(attributeOf(xml, 'saml:SubjectConfirmationData', 'Recipient')).toBe(recipient);
    expect(attributeOf(xml, 'saml:SubjectConfirmation', 'Method')).toBe('urn:oasis:names:tc:SAML:2.0:cm:bearer');
    expect(xml.match(/<saml:AudienceRestriction>/g)).toHaveLength(1);
    expect(between(xml, '<saml:AudienceRestriction>', '</saml:AudienceRestriction>'))
      .toBe(`<saml:Audience>urn:amazon:webservices</saml:Audience><saml:Audience>${recipient}</saml:Audience>`);
  });

  test('writes the persistent NameID and the AWS attributes, one PrincipalTag per session tag', async () => {
    const { xml, input } = await build({
      grant: { sessionTags: [{ key: 'department', value: 'R&D' }, { key: 'cost-center', value: '4711' }] },
    });
    expect(between(xml, '<saml:Subject>', '</saml:NameID>'))
      .toBe('<saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">auth0|5f0c8a3e9b1d2c0071a4e6f2');
    const attributes = [...xml.matchAll(/<saml:Attribute Name="([^"]*)" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri"><saml:AttributeValue>([^<]*)<\/saml:AttributeValue><\/saml:Attribute>/g)]
      .map(([, name, value]) => [name, value]);
    expect(attributes).toEqual([
      [AWS_ATTRIBUTE.role, `${input.grant.roleArn},${input.providerArn}`],
      [AWS_ATTRIBUTE.roleSessionName, input.grant.roleSessionName],
      [AWS_ATTRIBUTE.sessionDuration, '3600'],
      [AWS_ATTRIBUTE.sourceIdentity, input.grant.sourceIdentity],
      [AWS_ATTRIBUTE.principalTag('department'), 'R&amp;D'],
      [AWS_ATTRIBUTE.principalTag('cost-center'), '4711'],
    ]);
    expect(xml.match(/<saml:AttributeStatement>/g)).toHaveLength(1);
  });

  test('escapes claim values in text and in attribute values', async () => {
    const { xml } = await build({
      grant: { subject: 'a&b<c>"d\'\r\n', sessionTags: [{ key: 'k"\t<&', value: '\t]]>' }] },
    });
    expect(between(xml, 'nameid-format:persistent">', '</saml:NameID>')).toBe('a&amp;b&lt;c&gt;"d\'&#xD;\n');
    expect(xml).toContain('<saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/PrincipalTag:k&quot;&#x9;&lt;&amp;" ');
    expect(xml).toContain('<saml:AttributeValue>\t]]&gt;</saml:AttributeValue>');
  });

  const fieldsThatMustBeXml: Array<[string, (bad: string) => AssertionInputOverrides]> = [
    ['issuer', (bad) => ({ issuer: bad })],
    ['recipient', (bad) => ({ recipient: bad })],
    ['audiences[1]', (bad) => ({ audiences: ['urn:amazon:webservices', bad] })],
    ['providerArn', (bad) => ({ providerArn: bad })],
    ['grant.subject', (bad) => ({ grant: { subject: bad } })],
    ['grant.roleArn', (bad) => ({ grant: { roleArn: bad } })],
    ['grant.roleSessionName', (bad) => ({ grant: { roleSessionName: bad } })],
    ['grant.sourceIdentity', (bad) => ({ grant: { sourceIdentity: bad } })],
    ['grant.sessionTags[1].key', (bad) => ({ grant: { sessionTags: [{ key: 'a', value: 'b' }, { key: bad, value: 'c' }] } })],
    ['grant.sessionTags[0]', (bad) => ({ grant: { sessionTags: [{ key: 'a', value: bad }] } })],
  ];

  test.each(fieldsThatMustBeXml)('refuses %s holding a character XML cannot represent, before signing', async (field, withValue) => {
    for (const [, character] of UNREPRESENTABLE) {
      const signer = new RecordingSigner(privateKey);
      const attempt = buildSignedSamlResponse(assertionInput(withValue(`secret-claim${character}`)), signer);
      await expect(attempt).rejects.toThrow(new Error(`${field} contains a character that XML 1.0 cannot represent`));
      expect(signer.signedData).toEqual([]);
    }
  });

  test.each([
    ['issuer', { issuer: '' }],
    ['recipient', { recipient: '' }],
    ['providerArn', { providerArn: '' }],
    ['grant.subject', { grant: { subject: '' } }],
    ['grant.roleArn', { grant: { roleArn: '' } }],
    ['audiences[0]', { audiences: [''] }],
    ['grant.sessionTags[0].key', { grant: { sessionTags: [{ key: '', value: 'v' }] } }],
  ] as Array<[string, AssertionInputOverrides]>)('refuses an empty %s', async (field, overrides) => {
    await expect(build(overrides)).rejects.toThrow(new Error(`${field} is empty`));
  });

  test.each([
    ['no audience', { audiences: [] }, 'audiences is empty'],
    ['a repeated tag key, compared without case', {
      grant: { sessionTags: [{ key: 'Department', value: 'a' }, { key: 'department', value: 'b' }] },
    }, 'grant.sessionTags[1].key repeats an earlier key'],
    ['a zero session duration', { grant: { durationSeconds: 0 } }, 'grant.durationSeconds must be a positive integer'],
    ['a fractional session duration', { grant: { durationSeconds: 900.5 } }, 'grant.durationSeconds must be a positive integer'],
    ['a NaN session duration', { grant: { durationSeconds: Number.NaN } }, 'grant.durationSeconds must be a positive integer'],
    ['a zero lifetime', { lifetimeSeconds: 0 }, 'lifetimeSeconds must be a positive number'],
    ['an infinite lifetime', { lifetimeSeconds: Number.POSITIVE_INFINITY }, 'lifetimeSeconds must be a positive number'],
    ['an invalid date', { now: new Date(Number.NaN) }, 'now is not a representable time'],
    ['a date beyond year 9999', { now: new Date('9999-12-31T23:59:00Z'), lifetimeSeconds: 3600 }, 'lifetimeSeconds is not a representable time'],
  ] as Array<[string, AssertionInputOverrides, string]>)('refuses %s, before signing', async (_case, overrides, message) => {
    const signer = new RecordingSigner(privateKey);
    await expect(buildSignedSamlResponse(assertionInput(overrides), signer)).rejects.toThrow(new Error(message));
    expect(signer.signedData).toEqual([]);
  });

  test('writes the certificate into KeyInfo after the SignatureValue only when asked, outside what is signed', async () => {
    const certificate = 'MIIBszCCAVmgAwIBAgIU+/AbCw==';
    const withKeyInfo = await buildSignedSamlResponse(assertionInput(), new RecordingSigner(privateKey), { keyInfoCertificate: certificate });
    const { xml: withoutKeyInfo } = await build();
    expect(withKeyInfo).toMatch(new RegExp(
      `</ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${certificate.replace(/[+/]/g, '\\$&')}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature><saml:Subject>`));
    expect(withoutKeyInfo).not.toContain('KeyInfo');
  });

  test.each([
    ['a line break', 'MIIB\nszCC'],
    ['markup', 'MIIB</ds:X509Certificate>'],
    ['an empty string', ''],
  ])('refuses a KeyInfo certificate with %s, before signing', async (_case, certificate) => {
    const signer = new RecordingSigner(privateKey);
    const attempt = buildSignedSamlResponse(assertionInput(), signer, { keyInfoCertificate: certificate });
    await expect(attempt).rejects.toThrow(new Error('keyInfoCertificate must be one line of base64'));
    expect(signer.signedData).toEqual([]);
  });

  test('passes a signer failure through and returns nothing', async () => {
    const failure = new Error('KMS throttled');
    const attempt = buildSignedSamlResponse(assertionInput(), { sign: () => Promise.reject(failure) });
    await expect(attempt).rejects.toBe(failure);
  });

  test('does the work of one assertion: one SHA-256 pass over the Assertion\'s bytes and one signature, nothing parsed or hashed twice', async () => {
    // Counted, not timed: the CPU an assertion costs next to the bare signature is measured by the benchmark
    // ("SAML build + sign" in docs/benchmarks.md). jest.requireActual gives the module object saml.ts calls into.
    const crypto = jest.requireActual<typeof import('node:crypto')>('node:crypto');
    const original = crypto.createHash;
    const hashed: Array<{ algorithm: string; bytes: number }> = [];
    const hashSpy = jest.spyOn(crypto, 'createHash').mockImplementation((algorithm, options) => {
      const hash = original(algorithm, options);
      const pass = { algorithm, bytes: 0 };
      hashed.push(pass);
      const update = hash.update.bind(hash) as (data: string | Uint8Array) => typeof hash;
      hash.update = ((data: string | Uint8Array) => {
        pass.bytes += typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
        return update(data);
      }) as typeof hash.update;
      return hash;
    });
    let built: Awaited<ReturnType<typeof build>>;
    try {
      built = await build();
    } finally {
      hashSpy.mockRestore();
    }
    const { xml, signer } = built;
    const assertion = `<saml:Assertion ${between(xml, '<saml:Assertion ', '</saml:Assertion>')}</saml:Assertion>`;
    const signature = `<ds:Signature ${between(xml, '<ds:Signature ', '</ds:Signature>')}</ds:Signature>`;

    expect(hashed).toEqual([{ algorithm: 'sha256', bytes: Buffer.byteLength(assertion.replace(signature, '')) }]);
    expect(signer.signedData).toHaveLength(1);
    expect(signer.signedData[0].toString('utf8')).toMatch(/^<ds:SignedInfo [^]*<\/ds:SignedInfo>$/);
  });
});
