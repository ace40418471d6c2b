import { KeyObject, verify } from 'node:crypto';
import fc from 'fast-check';
import { buildSignedSamlResponse } from '../../lambda/delegation/saml';
import type { AssertionInput } from '../../lambda/delegation/types';
import {
  assertionInput,
  AWS_ATTRIBUTE,
  generateTestRsaKeyPair,
  RecordingSigner,
} from '../support/saml-fixtures';
import { ParsedElement, SamlXmlOracle } from '../support/saml-xml-oracle';

const SAML = 'urn:oasis:names:tc:SAML:2.0:assertion';
const SAMLP = 'urn:oasis:names:tc:SAML:2.0:protocol';
const DS = 'http://www.w3.org/2000/09/xmldsig#';
const PREFIXES: Record<string, string> = { [SAML]: 'saml', [SAMLP]: 'samlp', [DS]: 'ds' };

const RUNS_PER_PROPERTY = 250;
const PROPERTY_TIME_LIMIT_MS = 15_000;

/** Fragments that would change a document's structure if they ever reached it unescaped. */
const markupUnit = fc.constantFrom(
  '<', '>', '&', '"', '\'', ']]>', '<![CDATA[x]]>', '<!--', '-->', '<!-- c -->', '<?', '?>', '<?pi x?>',
  '<?xml version="1.0"?>', '<!DOCTYPE r [<!ENTITY x "y">]>', '&x;', '&amp;', '&#x0;', '&#60;', '&lt;',
  '</saml:NameID>', '<saml:NameID>', '"/><x a="', '\' b=\'', 'xmlns:saml="urn:x"',
  '\r', '\n', '\r\n', '\t', ' ', '\u0085', '\u2028', '\u00A0', '\uFEFF', '\u200B', 'é', '☃', '𝄞',
);

/** Code points outside the XML 1.0 Char production, lone surrogates included. */
const unrepresentableUnit = fc.constantFrom(
  '\u0000', '\u0001', '\u0008', '\u000B', '\u000C', '\u001F', '\uFFFE', '\uFFFF', '\uD800', '\uDBFF', '\uDC00', '\uDFFF',
);

/** Independent statement of XML 1.0 `Char`, walking UTF-16 code units by hand. */
function isXmlString(value: string): boolean {
  for (let index = 0; index < value.length; index++) {
    const unit = value.charCodeAt(index);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = value.charCodeAt(index + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) {
        return false;
      }
      index++;
    } else if (unit >= 0xdc00 && unit <= 0xdfff) {
      return false;
    } else if (!(unit === 0x9 || unit === 0xa || unit === 0xd || (unit >= 0x20 && unit <= 0xfffd))) {
      return false;
    }
  }
  return true;
}

const singleGrapheme = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 });
const singleCodePoint = fc.string({ unit: 'binary', minLength: 1, maxLength: 1 });

/** Arbitrary Unicode that XML 1.0 can hold, dense in markup and whitespace. */
function representableString(minLength: number): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ unit: fc.oneof(singleGrapheme, markupUnit), minLength, maxLength: 40 }),
    fc.string({ unit: 'grapheme', minLength, maxLength: 40 }),
    fc.string({ unit: singleCodePoint.filter(isXmlString), minLength, maxLength: 40 }),
  );
}

/** Arbitrary Unicode including what XML 1.0 cannot hold, so refusals are exercised too. */
const anyString = fc.oneof(
  { weight: 3, arbitrary: representableString(0) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: fc.oneof(markupUnit, unrepresentableUnit, singleGrapheme), maxLength: 20 }) },
);

function inputArbitrary(text: (plain: string) => fc.Arbitrary<string>): fc.Arbitrary<AssertionInput> {
  return fc.record({
    issuer: text('https://delegation.example.com/saml/idp'),
    recipient: text('https://signin.aws.amazon.com/saml'),
    audiences: fc.array(text('urn:amazon:webservices'), { minLength: 1, maxLength: 3 }),
    providerArn: text('arn:aws:iam::123456789012:saml-provider/TokenDelegation'),
    subject: text('auth0|5f0c8a3e9b1d2c0071a4e6f2'),
    roleArn: text('arn:aws:iam::123456789012:role/DelegatedUser'),
    roleSessionName: text('auth0_5f0c8a3e9b1d2c0071a4e6f2'),
    sourceIdentity: text('auth0_5f0c8a3e9b1d2c0071a4e6f2'),
    sessionTags: fc.uniqueArray(fc.record({ key: text('department'), value: text('engineering') }), {
      maxLength: 4,
      selector: (tag) => tag.key.toLowerCase(),
    }),
  }).map(({ subject, roleArn, roleSessionName, sourceIdentity, sessionTags, ...rest }) =>
    assertionInput({ ...rest, grant: { subject, roleArn, roleSessionName, sourceIdentity, sessionTags } }));
}

/** The fields that must hold at least one character; everything else only needs to be XML. */
function expectedRefusal(input: AssertionInput): boolean {
  const { grant } = input;
  const required = [input.issuer, input.recipient, input.providerArn, grant.subject, grant.roleArn, ...input.audiences,
    ...grant.sessionTags.map((tag) => tag.key)];
  const optional = [grant.roleSessionName, grant.sourceIdentity, ...grant.sessionTags.map((tag) => tag.value)];
  return required.some((value) => value.length === 0) || ![...required, ...optional].every(isXmlString);
}

function qualifiedName(element: ParsedElement): string {
  return `${element.ns === null ? '?' : PREFIXES[element.ns] ?? element.ns}:${element.name}`;
}

/** Element names with their attribute names, nested: the whole structure a claim could try to alter. */
function shape(element: ParsedElement): unknown {
  return [qualifiedName(element), Object.keys(element.attributes).sort(), element.children.map(shape)];
}

function expectedShape(input: AssertionInput): unknown {
  const leaf = (name: string, attributes: string[] = []) => [name, attributes, []];
  const attribute = leaf('saml:Attribute', ['Name', 'NameFormat']);
  const attributeWithValue = [attribute[0], attribute[1], [leaf('saml:AttributeValue')]];
  const attributeCount = 4 + input.grant.sessionTags.length;
  return ['samlp:Response', ['Destination', 'ID', 'IssueInstant', 'Version', 'xmlns:saml', 'xmlns:samlp'], [
    leaf('saml:Issuer'),
    ['samlp:Status', [], [leaf('samlp:StatusCode', ['Value'])]],
    ['saml:Assertion', ['ID', 'IssueInstant', 'Version', 'xmlns:saml'], [
      leaf('saml:Issuer'),
      ['ds:Signature', ['xmlns:ds'], [
        ['ds:SignedInfo', ['xmlns:ds'], [
          leaf('ds:CanonicalizationMethod', ['Algorithm']),
          leaf('ds:SignatureMethod', ['Algorithm']),
          ['ds:Reference', ['URI'], [
            ['ds:Transforms', [], [leaf('ds:Transform', ['Algorithm']), leaf('ds:Transform', ['Algorithm'])]],
            leaf('ds:DigestMethod', ['Algorithm']),
            leaf('ds:DigestValue'),
          ]],
        ]],
        leaf('ds:SignatureValue'),
      ]],
      ['saml:Subject', [], [
        leaf('saml:NameID', ['Format']),
        ['saml:SubjectConfirmation', ['Method'], [leaf('saml:SubjectConfirmationData', ['NotOnOrAfter', 'Recipient'])]],
      ]],
      ['saml:Conditions', ['NotBefore', 'NotOnOrAfter'], [
        ['saml:AudienceRestriction', [], input.audiences.map(() => leaf('saml:Audience'))],
      ]],
      ['saml:AuthnStatement', ['AuthnInstant', 'SessionIndex'], [
        ['saml:AuthnContext', [], [leaf('saml:AuthnContextClassRef')]],
      ]],
      ['saml:AttributeStatement', [], Array.from({ length: attributeCount }, () => attributeWithValue)],
    ]],
  ]];
}

function child(element: ParsedElement, name: string, index = 0): ParsedElement {
  const found = element.children.filter((candidate) => qualifiedName(candidate) === name)[index];
  if (found === undefined) {
    throw new Error(`no ${name} #${index} in ${qualifiedName(element)}`);
  }
  return found;
}

function attributeValues(attributeStatement: ParsedElement): Array<[string, string[]]> {
  return attributeStatement.children.map((attribute) =>
    [attribute.attributes.Name, attribute.children.map((value) => value.text)]);
}

describe('buildSignedSamlResponse under arbitrary Unicode claims', () => {
  let oracle: SamlXmlOracle;
  let privateKey: KeyObject;
  let publicKey: KeyObject;

  beforeAll(() => {
    ({ privateKey, publicKey } = generateTestRsaKeyPair());
    oracle = SamlXmlOracle.start();
  });

  afterAll(async () => {
    await oracle.stop();
  });

  /** Parses the output independently and checks every node and value against the input. */
  async function expectFaithfulSignedDocument(input: AssertionInput, xml: string, signer: RecordingSigner): Promise<void> {
    const reading = await oracle.read(xml);
    expect(reading.unexpectedNodes).toEqual([]);
    // Compared as JSON text: jest's deep equality costs milliseconds per case on trees this size.
    expect(JSON.stringify(shape(reading.tree))).toBe(JSON.stringify(expectedShape(input)));

    const response = reading.tree;
    const assertion = child(response, 'saml:Assertion');
    const subject = child(assertion, 'saml:Subject');
    expect(child(response, 'saml:Issuer').text).toBe(input.issuer);
    expect(child(assertion, 'saml:Issuer').text).toBe(input.issuer);
    expect(response.attributes.Destination).toBe(input.recipient);
    expect(child(subject, 'saml:NameID').text).toBe(input.grant.subject);
    expect(child(child(subject, 'saml:SubjectConfirmation'), 'saml:SubjectConfirmationData').attributes.Recipient)
      .toBe(input.recipient);
    expect(child(child(assertion, 'saml:Conditions'), 'saml:AudienceRestriction').children.map((audience) => audience.text))
      .toEqual(input.audiences);
    expect(attributeValues(child(assertion, 'saml:AttributeStatement'))).toEqual([
      [AWS_ATTRIBUTE.role, [`${input.grant.roleArn},${input.providerArn}`]],
      [AWS_ATTRIBUTE.roleSessionName, [input.grant.roleSessionName]],
      [AWS_ATTRIBUTE.sessionDuration, [String(input.grant.durationSeconds)]],
      [AWS_ATTRIBUTE.sourceIdentity, [input.grant.sourceIdentity]],
      ...input.grant.sessionTags.map((tag): [string, string[]] => [AWS_ATTRIBUTE.principalTag(tag.key), [tag.value]]),
    ]);

    expect(reading.referenceUri).toBe(`#${reading.assertionId}`);
    expect(reading.computedDigest).toBe(reading.digestValue);
    const canonicalSignedInfo = Buffer.from(reading.canonicalSignedInfo, 'base64');
    expect(signer.signedData.map((data) => data.toString('base64'))).toEqual([reading.canonicalSignedInfo]);
    expect(verify('sha256', canonicalSignedInfo, publicKey, Buffer.from(reading.signatureValue, 'base64'))).toBe(true);
  }

  test('every representable value comes out as exactly the intended text, with a matching canonical digest', async () => {
    let checked = 0;
    await fc.assert(
      fc.asyncProperty(inputArbitrary(() => representableString(1)), async (input) => {
        const signer = new RecordingSigner(privateKey);
        const xml = await buildSignedSamlResponse(input, signer);
        await expectFaithfulSignedDocument(input, xml, signer);
        checked++;
      }),
      { numRuns: RUNS_PER_PROPERTY, interruptAfterTimeLimit: PROPERTY_TIME_LIMIT_MS },
    );
    expect(checked).toBeGreaterThan(RUNS_PER_PROPERTY / 2);
  });

  test('any value is either refused without being signed or represented faithfully', async () => {
    const outcomes = { refused: 0, emitted: 0 };
    await fc.assert(
      fc.asyncProperty(
        inputArbitrary((plain) => fc.oneof({ weight: 3, arbitrary: fc.constant(plain) }, { weight: 1, arbitrary: anyString })),
        async (input) => {
          const signer = new RecordingSigner(privateKey);
          const refusal = expectedRefusal(input);
          const result = await buildSignedSamlResponse(input, signer).then(
            (xml) => ({ xml }),
            (error: unknown) => ({ error }),
          );
          if ('error' in result) {
            expect(refusal).toBe(true);
            expect(result.error).toBeInstanceOf(Error);
            // The message is a field name and a fixed phrase, so it can never carry a claim value.
            expect((result.error as Error).message)
              .toMatch(/^[A-Za-z.]+(\[\d+\])?(\.key)? (contains a character that XML 1\.0 cannot represent|is empty)$/);
            expect(signer.signedData).toEqual([]);
            outcomes.refused++;
          } else {
            expect(refusal).toBe(false);
            await expectFaithfulSignedDocument(input, result.xml, signer);
            outcomes.emitted++;
          }
        },
      ),
      { numRuns: RUNS_PER_PROPERTY, interruptAfterTimeLimit: PROPERTY_TIME_LIMIT_MS },
    );
    expect(outcomes.refused).toBeGreaterThan(RUNS_PER_PROPERTY / 5);
    expect(outcomes.emitted).toBeGreaterThan(RUNS_PER_PROPERTY / 5);
  });
});
