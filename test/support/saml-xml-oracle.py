"""Independent reading of emitted SAML Responses for the property tests.

Reads one JSON object per line ({"xml": "..."}) on stdin and answers one JSON object per line:
the element tree as expat (xml.dom.minidom) sees it, any node kinds a claim must never create,
and the SHA-256 digest and canonical SignedInfo that libxml2 (lxml) computes with exclusive C14N.
"""
import base64
import copy
import hashlib
import json
import sys
from xml.dom import Node, minidom

from lxml import etree

SAML = 'urn:oasis:names:tc:SAML:2.0:assertion'
DS = 'http://www.w3.org/2000/09/xmldsig#'

UNEXPECTED_NODE_KINDS = {
    Node.COMMENT_NODE: 'comment',
    Node.PROCESSING_INSTRUCTION_NODE: 'processing-instruction',
    Node.CDATA_SECTION_NODE: 'cdata',
    Node.ENTITY_REFERENCE_NODE: 'entity-reference',
    Node.DOCUMENT_TYPE_NODE: 'doctype',
}


def element_tree(element, unexpected):
    children = []
    text = []
    for child in element.childNodes:
        if child.nodeType == Node.ELEMENT_NODE:
            children.append(element_tree(child, unexpected))
        elif child.nodeType == Node.TEXT_NODE:
            text.append(child.data)
        else:
            unexpected.append(UNEXPECTED_NODE_KINDS.get(child.nodeType, str(child.nodeType)))
    return {
        'ns': element.namespaceURI,
        'name': element.localName,
        'attributes': {name: value for name, value in element.attributes.items()},
        'text': ''.join(text),
        'children': children,
    }


def read_with_expat(data):
    document = minidom.parseString(data)
    unexpected = []
    if document.doctype is not None:
        unexpected.append('doctype')
    roots = []
    for child in document.childNodes:
        if child.nodeType == Node.ELEMENT_NODE:
            roots.append(child)
        else:
            unexpected.append(UNEXPECTED_NODE_KINDS.get(child.nodeType, str(child.nodeType)))
    if len(roots) != 1:
        raise ValueError('expected exactly one document element')
    return element_tree(roots[0], unexpected), unexpected


def canonicalize_with_libxml2(data):
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=False,
                             remove_pis=False, huge_tree=True)
    root = etree.fromstring(data, parser)
    assertions = root.findall('{%s}Assertion' % SAML)
    if len(assertions) != 1:
        raise ValueError('expected exactly one Assertion child of the Response')
    assertion = assertions[0]
    signature = assertion.find('{%s}Signature' % DS)
    if signature is None:
        raise ValueError('the Assertion has no ds:Signature child')
    if signature.tail:
        raise ValueError('unexpected text after ds:Signature')
    signed_info = signature.find('{%s}SignedInfo' % DS)
    reference = signed_info.find('{%s}Reference' % DS)
    unsigned = copy.deepcopy(assertion)
    unsigned.remove(unsigned.find('{%s}Signature' % DS))
    canonical_assertion = etree.tostring(unsigned, method='c14n', exclusive=True, with_comments=False)
    return {
        'assertionId': assertion.get('ID'),
        'referenceUri': reference.get('URI'),
        'digestValue': reference.findtext('{%s}DigestValue' % DS),
        'computedDigest': base64.b64encode(hashlib.sha256(canonical_assertion).digest()).decode('ascii'),
        'canonicalSignedInfo': base64.b64encode(
            etree.tostring(signed_info, method='c14n', exclusive=True, with_comments=False)).decode('ascii'),
        'signatureValue': signature.findtext('{%s}SignatureValue' % DS),
    }


def answer(line):
    data = json.loads(line)['xml'].encode('utf-8')
    try:
        tree, unexpected = read_with_expat(data)
        reply = {'tree': tree, 'unexpectedNodes': unexpected}
        reply.update(canonicalize_with_libxml2(data))
        return reply
    except Exception as error:  # the test reports it as a failure of the emitter
        return {'error': '%s: %s' % (type(error).__name__, error)}


for request_line in sys.stdin.buffer:
    sys.stdout.write(json.dumps(answer(request_line)) + '\n')
    sys.stdout.flush()
