import { Token } from 'aws-cdk-lib';
import { IssuerConfig, SessionTagConfig } from '../delegation-environment';
import { JwtIssuer } from '../jwt-issuer';
import { SessionTag } from '../session-tag';

/** Checks a list of issuers as a whole and returns their handler configuration. */
export function issuerConfigs(issuers: JwtIssuer[]): IssuerConfig[] {
  if (issuers.length === 0) {
    throw new Error('At least one issuer is required');
  }
  const namespaced = issuers.length > 1;
  if (namespaced) {
    const seen = new Set<string>();
    for (const issuer of issuers) {
      if (!issuer.subjectNamespace) {
        throw new Error(
          `With several issuers every issuer needs a subjectNamespace, so that equal user ids never share a prefix: ${issuer.issuerUrl} has none`,
        );
      }
      if (seen.has(issuer.subjectNamespace)) {
        throw new Error(`Issuer namespaces must be unique: '${issuer.subjectNamespace}' is used twice`);
      }
      seen.add(issuer.subjectNamespace);
    }
  }
  const urls = issuers.map((issuer) => issuer.issuerUrl).filter((url) => !Token.isUnresolved(url));
  const duplicate = urls.find((url, index) => urls.indexOf(url) !== index);
  if (duplicate) {
    throw new Error(`Issuer ${duplicate} is configured twice`);
  }
  return issuers.map((issuer) => issuer._toConfig(namespaced));
}

/** Checks a list of session tags as a whole and returns their handler configuration. */
export function sessionTagConfigs(tags: SessionTag[]): SessionTagConfig[] {
  if (tags.length > 50) {
    throw new Error(`At most 50 session tags are allowed, got ${tags.length}`);
  }
  const keys = tags.map((tag) => tag.key.toLowerCase());
  const duplicate = keys.find((key, index) => keys.indexOf(key) !== index);
  if (duplicate) {
    throw new Error(`Session tag keys must be unique (case-insensitively): '${duplicate}' is used twice`);
  }
  return tags.map((tag) => tag._toConfig());
}
