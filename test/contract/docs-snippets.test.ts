import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ts from 'typescript';

/**
 * The TypeScript snippets of docs/ compile, as jsii-rosetta compiles the README's (rosetta:check): each
 * ```ts block goes into rosetta/default.ts-fixture at `/// here`, its imports and `declare` statements
 * lifted above the fixture's class, unless the block says `nofixture` (a whole file). Strict, against
 * this repository's src/ as the package `cdk-token-delegation`. A block that says `cdk-app` is a file of an
 * app made by `cdk init` (a jest test importing the app's own stack): test:install compiles it with that
 * app's tsc and runs it with its jest (test/install/consumer-app.test.ts), so it is not compiled here.
 */

const ROOT = join(__dirname, '..', '..');
const FIXTURE = readFileSync(join(ROOT, 'rosetta', 'default.ts-fixture'), 'utf8');

interface Snippet { readonly page: string; readonly line: number; readonly code: string; readonly fixture: boolean }

function snippetsOf(page: string): Snippet[] {
  const lines = readFileSync(join(ROOT, page), 'utf8').split('\n');
  const snippets: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(ts|typescript)(?:[ \t]+(.*))?$/.exec(lines[i]);
    if (!open) {
      if (/^```/.test(lines[i])) i = lines.indexOf('```', i + 1);
      continue;
    }
    const end = lines.indexOf('```', i + 1);
    const options = (open[2] ?? '').split(/\s+/);
    if (!options.includes('cdk-app')) {
      snippets.push({ page, line: i + 1, code: lines.slice(i + 1, end).join('\n'), fixture: !options.includes('nofixture') });
    }
    i = end;
  }
  return snippets;
}

/** The snippet as rosetta compiles it: in the fixture, with imports and declarations above the class. */
function source(snippet: Snippet): string {
  if (!snippet.fixture) return snippet.code;
  const parsed = ts.createSourceFile('snippet.ts', snippet.code, ts.ScriptTarget.Latest, true);
  const lifted: string[] = [];
  const body: string[] = [];
  for (const statement of parsed.statements) {
    const text = statement.getFullText(parsed);
    const declared = ts.canHaveModifiers(statement) && ts.getModifiers(statement)?.some((modifier) => modifier.kind === ts.SyntaxKind.DeclareKeyword);
    // An import the fixture has already (`import * as iam from 'aws-cdk-lib/aws-iam'`) is not repeated.
    if (ts.isImportDeclaration(statement) && FIXTURE.includes(text.trim())) continue;
    (ts.isImportDeclaration(statement) || declared ? lifted : body).push(text);
  }
  const [before, after] = FIXTURE.split('/// here');
  const classStart = before.indexOf('class Fixture');
  return `${before.slice(0, classStart)}${lifted.join('\n')}\n${before.slice(classStart)}${body.join('\n')}\n${after}`;
}

const pages = readdirSync(join(ROOT, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`);
const snippets = pages.flatMap(snippetsOf);

test('docs/ has TypeScript snippets to compile', () => {
  expect(snippets.length).toBeGreaterThan(5);
});

test('every TypeScript snippet of docs/ compiles (strict), in the README snippets\' fixture', () => {
  const files = new Map(snippets.map((snippet, index) => [join(ROOT, '.docs-snippets', `snippet${index}.ts`), { snippet, text: source(snippet) }]));
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.Preserve,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    skipLibCheck: true,
    types: [],
    // Each snippet is a module of its own, so that their declarations do not meet.
    moduleDetection: ts.ModuleDetectionKind.Force,
    paths: { 'cdk-token-delegation': [join(ROOT, 'src', 'index.ts')] },
  };
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.readFile = (name) => files.get(name)?.text ?? readFile(name);
  host.fileExists = (name) => files.has(name) || fileExists(name);
  host.getSourceFile = (name, language, ...rest) => {
    const file = files.get(name);
    return file ? ts.createSourceFile(name, file.text, language) : getSourceFile(name, language, ...rest);
  };
  const program = ts.createProgram([...files.keys()], options, host);
  const problems = ts.getPreEmitDiagnostics(program)
    .filter((diagnostic) => diagnostic.file !== undefined && files.has(diagnostic.file.fileName))
    .map((diagnostic) => {
      const { snippet } = files.get(diagnostic.file!.fileName)!;
      const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
      const text = diagnostic.file!.text;
      const position = diagnostic.file!.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
      return `${snippet.page}:${snippet.line} (line ${position.line + 1} of the compiled snippet: ${text.split('\n')[position.line].trim()}): ${message}`;
    });
  expect(problems).toEqual([]);
}, 300_000);
