import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * The contract in src/contract/ is read by the constructs, the handler and the local command: lint
 * keeps it import-free and keeps every other file of src/ out of lambda/ and local/, and its values
 * are written there once.
 */

const ROOT = join(__dirname, '..', '..');
const CONTRACT = join(ROOT, 'src', 'contract');

interface LintMessage { readonly ruleId: string | null; readonly message: string }

/** Lints `text` as if it were the file at `path`, with the repository's own ESLint configuration. */
async function lint(path: string, text: string): Promise<LintMessage[]> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { LegacyESLint } = require('eslint/use-at-your-own-risk') as {
    LegacyESLint: new (options: object) => {
      lintText(code: string, options: { filePath: string }): Promise<Array<{ messages: LintMessage[] }>>;
    };
  };
  const eslint = new LegacyESLint({ cwd: ROOT, useEslintrc: true });
  const [result] = await eslint.lintText(text, { filePath: path });
  return result.messages;
}

const contractFiles = readdirSync(CONTRACT).filter((name) => name.endsWith('.ts')).map((name) => join(CONTRACT, name));

describe('the fence around src/contract/', () => {
  test.each(contractFiles.map((file) => [relative(ROOT, file), file]))('%s may not import aws-cdk-lib: eslint names the rule', async (_name, file) => {
    const source = `import { Token } from 'aws-cdk-lib';\nexport const FENCE_PROBE = Token;\n${readFileSync(file, 'utf8')}`;
    const messages = await lint(file, source);
    const fence = messages.filter((message) => message.ruleId === 'no-restricted-imports');
    expect(fence).toHaveLength(1);
    expect(fence[0].message).toMatch(/'aws-cdk-lib' import is restricted.*src\/contract\/ .* imports nothing but its own files/);
  });

  test.each([
    ['a node built-in', "import { join } from 'node:path';"],
    ['a file of src/ outside the contract', "import { TokenDelegation } from '../token-delegation';"],
    ['a file of lambda/', "import { DelegationError } from '../../lambda/delegation/errors';"],
  ])('a contract file may not import %s either', async (_name, line) => {
    const messages = await lint(join(CONTRACT, 'delegation-environment.ts'), `${line}\n${readFileSync(join(CONTRACT, 'delegation-environment.ts'), 'utf8')}`);
    expect(messages.map((message) => message.ruleId)).toContain('no-restricted-imports');
  });

  test.each([
    ['lambda/delegation/claims.ts', "import { TokenDelegation } from '../../src/token-delegation';"],
    ['lambda/delegation/claims.ts', "import { acceptNagFindings } from '../../src/private/nag-suppressions';"],
    ['local/server.ts', "import { DelegationEndpoint } from '../src/delegation-endpoint';"],
  ])('%s may import from src/ only the contract: %s is refused', async (file, line) => {
    const path = join(ROOT, file);
    const messages = await lint(path, `${line}\n${readFileSync(path, 'utf8')}`);
    expect(messages.filter((message) => message.ruleId === 'import/no-restricted-paths').map((message) => message.message))
      .toEqual([expect.stringMatching(/only the contract in src\/contract\//)]);
  });

  test('the handler and the local command as they are pass the fence', async () => {
    for (const file of ['lambda/delegation/config/saml.ts', 'lambda/delegation/errors.ts', 'local/sts-saml.ts']) {
      const path = join(ROOT, file);
      const messages = await lint(path, readFileSync(path, 'utf8'));
      expect(messages.filter((message) => message.ruleId === 'import/no-restricted-paths' || message.ruleId === 'no-restricted-imports')).toEqual([]);
    }
  });
});

/** Every .ts file under `directory`, outside src/contract/. */
function sourceFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => join(entry.parentPath, entry.name))
    .filter((file) => !file.startsWith(CONTRACT));
}

describe('what the contract holds is written nowhere else in src/, lambda/ or local/', () => {
  const files = ['src', 'lambda', 'local'].flatMap((directory) => sourceFiles(join(ROOT, directory)));

  test.each([
    ['the one-line base64 rule', /\[A-Za-z0-9\+\/\][+*]=\{0,2\}\$/],
    ['the loopback hosts of plain-http origins', /localhost\|127\\\\?\.0\\\\?\.0\\\\?\.1/],
    ['the SAML entityID length limit', /\b1024\b.*entity|entity.*\b1024\b/i],
    ['the outcome codes', /'(invalid_request|invalid_token|access_denied|temporarily_unavailable|server_error|unsupported_grant_type)'/],
  ])('%s', (_name, pattern) => {
    const offenders = files.filter((file) => pattern.test(readFileSync(file, 'utf8'))).map((file) => relative(ROOT, file))
      // The loopback OpenID issuer answers as an issuer: its OAuth error codes are its own, not the endpoint's outcomes.
      .filter((file) => file !== join('local', 'oidc-issuer.ts'));
    expect(offenders).toEqual([]);
  });
});
