/**
 * Keeps the Python in the docs from drifting from the TypeScript that jsii-rosetta compiles:
 * every ```python block of README.md must equal rosetta's Python translation of the ```ts block
 * before it (blank lines aside), and the Python example app must contain the README's quick start.
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
    const open = /^```(\w+)\s*$/.exec(lines[i]);
    if (!open) continue;
    const end = lines.indexOf('```', i + 1);
    blocks.push({ language: open[1], line: i + 1, code: lines.slice(i + 1, end).join('\n') });
    i = end;
  }
  return blocks;
}

const normalize = (code: string): string => code.split('\n').map((line) => line.trimEnd()).filter((line) => line !== '').join('\n');
const indentedBy = (code: string, spaces: number): string => code.split('\n').map((line) => (line ? ' '.repeat(spaces) + line : line)).join('\n');

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

const failures: string[] = [];
const blocks = fencedBlocks(readme);
let quickStart: string | undefined;
blocks.forEach((block, index) => {
  if (block.language !== 'python') return;
  const typescript = blocks.slice(0, index).reverse().find((candidate) => candidate.language === 'ts');
  const translation = typescript && readmeTranslations.get(normalize(typescript.code));
  if (!translation) {
    failures.push(`README.md:${block.line}: no rosetta translation of a TypeScript block before this Python block`);
  } else if (normalize(translation) !== normalize(block.code)) {
    failures.push(`README.md:${block.line}: differs from rosetta's translation of README.md:${typescript!.line}:\n${translation}`);
  }
  quickStart ??= block.code;
});

const example = readFileSync(join(root, 'examples', 'python', 'app.py'), 'utf8');
const body = quickStart?.split('\n').filter((line) => !line.startsWith('from ') && line.trim() !== '').join('\n');
if (!body || !example.includes(indentedBy(body, 8))) {
  failures.push('examples/python/app.py: does not contain the README\'s Python quick start (indented into ExampleStack)');
}

if (failures.length > 0) {
  console.error(failures.join('\n\n'));
  process.exit(1);
}
console.log(`Python snippets match jsii-rosetta's translations (${readmeTranslations.size} README snippets, examples/python/app.py)`);
