/**
 * Keeps the Python in the docs from drifting from the TypeScript that jsii-rosetta compiles:
 * every ```python block of README.md must equal rosetta's Python translation of the ```ts block
 * before it (blank lines aside), and the Python example app must contain the README's quick start.
 * The quick start is a whole stack file in each language, written as `cdk init` writes a stack: there
 * the Python constructor keeps `cdk init`'s `**kwargs` signature, and its body must be rosetta's
 * translation of the TypeScript constructor's body.
 * Run after `jsii-rosetta extract --strict`, which writes .jsii.tabl.json.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

interface Block { readonly language: string; readonly line: number; readonly code: string }

const root = join(__dirname, '..');

function fencedBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    // A language and, for rosetta, its parameters (```ts nofixture).
    const open = /^```(\w+)(?:[ \t][^`]*)?$/.exec(lines[i]);
    if (!open) continue;
    const end = lines.indexOf('```', i + 1);
    blocks.push({ language: open[1], line: i + 1, code: lines.slice(i + 1, end).join('\n') });
    i = end;
  }
  return blocks;
}

const normalize = (code: string): string => code.split('\n').map((line) => line.trimEnd()).filter((line) => line !== '').join('\n');

const readme = readFileSync(join(root, 'README.md'), 'utf8');
const tablet = JSON.parse(readFileSync(join(root, '.jsii.tabl.json'), 'utf8')) as {
  snippets: Record<string, { location: { api: { api: string } }; translations: { $: { source: string }; python?: { source: string } } }>;
};
// Keyed by the TypeScript source, not by README line: rosetta reuses cached translations of unchanged
// snippets together with the line they were first seen at.
const readmeTranslations = new Map<string, string>();
for (const snippet of Object.values(tablet.snippets)) {
  if (snippet.location.api.api === 'moduleReadme' && snippet.translations.python) {
    readmeTranslations.set(normalize(snippet.translations.$.source), snippet.translations.python.source);
  }
}

/** A translated constructor's body: the lines after `super().__init__(…)`. */
const constructorBody = (python: string): string | undefined => {
  const lines = python.split('\n');
  const superCall = lines.findIndex((line) => line.trimStart().startsWith('super().__init__('));
  return superCall < 0 ? undefined : lines.slice(superCall + 1).join('\n');
};

const failures: string[] = [];
const blocks = fencedBlocks(readme);
let quickStart: string | undefined;
blocks.forEach((block, index) => {
  if (block.language !== 'python') return;
  const typescript = blocks.slice(0, index).reverse().find((candidate) => candidate.language === 'ts');
  const translation = typescript && readmeTranslations.get(normalize(typescript.code));
  const isQuickStart = quickStart === undefined;
  const translatedBody = isQuickStart && translation ? constructorBody(translation) : undefined;
  if (!translation) {
    failures.push(`README.md:${block.line}: no rosetta translation of a TypeScript block before this Python block`);
  } else if (translatedBody !== undefined) {
    if (!normalize(block.code).endsWith(normalize(translatedBody))) {
      failures.push(`README.md:${block.line}: the quick start's constructor body differs from rosetta's translation of README.md:${typescript!.line}:\n${translatedBody}`);
    }
  } else if (normalize(translation) !== normalize(block.code)) {
    failures.push(`README.md:${block.line}: differs from rosetta's translation of README.md:${typescript!.line}:\n${translation}`);
  }
  quickStart ??= block.code;
});

const example = readFileSync(join(root, 'examples', 'python', 'app.py'), 'utf8');
if (!quickStart || !example.includes(quickStart)) {
  failures.push('examples/python/app.py: does not contain the README\'s Python quick start (the whole stack file)');
}

if (failures.length > 0) {
  console.error(failures.join('\n\n'));
  process.exit(1);
}
console.log(`Python snippets match jsii-rosetta's translations (${readmeTranslations.size} README snippets, examples/python/app.py)`);
