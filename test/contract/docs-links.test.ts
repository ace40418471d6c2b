import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

/**
 * Every link of the README and of docs/ leads somewhere: a relative link names a file or folder of the
 * repository, an anchor names a heading of its page, and an absolute link into this repository
 * (github.com/…/blob/main/…, …/tree/main/…, raw.githubusercontent.com/…/main/…) names a file or folder
 * that exists here. The README links nothing relatively but its own headings: npm, Construct Hub and
 * PyPI render it away from the repository (see CONTRIBUTING.md, "Links in the README and docs/").
 */

const ROOT = join(__dirname, '..', '..');
const REPOSITORY = 'cdk-token-delegation/cdk-token-delegation';
const BRANCH = 'main';


const pages = [
  'README.md',
  'CONTRIBUTING.md',
  ...readdirSync(join(ROOT, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`),
];

/** The repository's files (tracked, or new and not ignored) and the folders that hold them. */
function repositoryPaths(): { files: Set<string>; folders: Set<string> } {
  let listed: string[];
  try {
    listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 2 ** 20 })
      .split('\0').filter((path) => path !== '' && existsSync(join(ROOT, path)));
  } catch {
    // Not a git checkout: the files on disk.
    listed = [];
    const walk = (folder: string) => {
      for (const entry of readdirSync(join(ROOT, folder), { withFileTypes: true })) {
        if (entry.name === 'node_modules' || entry.name === '.git') continue;
        const path = folder === '' ? entry.name : `${folder}/${entry.name}`;
        if (entry.isDirectory()) walk(path); else listed.push(path);
      }
    };
    walk('');
  }
  const folders = new Set<string>(['']);
  for (const file of listed) {
    for (let folder = dirname(file); folder !== '.'; folder = dirname(folder)) folders.add(folder);
  }
  return { files: new Set(listed), folders };
}

const { files, folders } = repositoryPaths();

/** The text a reader sees: fenced blocks and code spans blanked, so that code is never read as a link. */
function prose(markdown: string): string {
  return markdown
    .replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[ \t]*$/gm, (block) => block.replace(/[^\n]/g, ' '))
    .replace(/(`+)[^`\n]*?\1/g, (span) => ' '.repeat(span.length));
}

/** GitHub's anchor for a heading: lower case, punctuation but `-` and `_` dropped, spaces to `-`. */
function slug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // links and images: their text
    .replace(/<[^>]+>/g, '') // inline HTML
    .replace(/[`*]/g, '')
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
}

/** The headings of a page, outside fenced blocks. */
function headingsOf(markdown: string): Array<{ readonly level: number; readonly text: string }> {
  const headings: Array<{ level: number; text: string }> = [];
  let fence: string | undefined;
  for (const line of markdown.split('\n')) {
    const fenceMark = /^(```|~~~)/.exec(line)?.[1];
    if (fenceMark && (fence === undefined || fence === fenceMark)) {
      fence = fence === undefined ? fenceMark : undefined;
      continue;
    }
    const heading = fence === undefined ? /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line) : null;
    if (heading) headings.push({ level: heading[1].length, text: heading[2] });
  }
  return headings;
}

/** The anchors of a page: its headings (repeats numbered as GitHub numbers them) and its HTML ids and names. */
function anchorsOf(page: string): Set<string> {
  const markdown = readFileSync(join(ROOT, page), 'utf8');
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const heading of headingsOf(markdown)) {
    const base = slug(heading.text);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  for (const match of prose(markdown).matchAll(/<[a-z]+[^>]*\s(?:id|name)="([^"]+)"/gi)) anchors.add(match[1]);
  return anchors;
}

interface Link { readonly page: string; readonly line: number; readonly target: string }

/** The links of a page: inline links and images, reference definitions, and HTML href and src. */
function linksOf(page: string): Link[] {
  const text = prose(readFileSync(join(ROOT, page), 'utf8'));
  const links: Link[] = [];
  const add = (index: number, target: string) => {
    links.push({ page, line: text.slice(0, index).split('\n').length, target: target.replace(/^<|>$/g, '') });
  };
  for (const match of text.matchAll(/\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+"[^"]*")?\s*\)/g)) add(match.index!, match[1]);
  for (const match of text.matchAll(/^ {0,3}\[[^\]]+\]:\s+(\S+)/gm)) add(match.index!, match[1]);
  for (const match of text.matchAll(/\s(?:href|src)="([^"]+)"/g)) add(match.index!, match[1]);
  return links;
}

const REPOSITORY_URL = new RegExp(
  `^https://(?:github\\.com/${REPOSITORY}/(blob|tree)/([^/]+)/|raw\\.githubusercontent\\.com/${REPOSITORY}/([^/]+)/)([^#?]*)(?:#(.*))?$`,
);

/** What is wrong with a link, or undefined when it leads somewhere. */
function problem(link: Link): string | undefined {
  const { page, target } = link;
  if (/^(mailto|data):/i.test(target)) return undefined;
  if (/^https?:\/\//i.test(target)) {
    const inRepository = REPOSITORY_URL.exec(target);
    if (!inRepository) {
      return target.includes(`github.com/${REPOSITORY}/blob/`) || target.includes(`github.com/${REPOSITORY}/tree/`)
        ? 'a link into this repository in an unexpected form'
        : undefined;
    }
    const [, kind, branch, rawBranch, path, anchor] = inRepository;
    if ((branch ?? rawBranch) !== BRANCH) return `points at the branch ${branch ?? rawBranch}, not ${BRANCH}`;
    return pathProblem(decodeURIComponent(path).replace(/\/$/, ''), kind === 'tree' ? 'folder' : 'file', anchor);
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return 'an unexpected scheme';
  const [pathPart, anchor] = target.split('#', 2) as [string, string | undefined];
  if (pathPart === '') {
    return anchorsOf(page).has(anchor ?? '') ? undefined : `no heading of ${page} has the anchor #${anchor}`;
  }
  if (page === 'README.md') {
    return 'a relative link in the README: npm, Construct Hub and PyPI show it away from the repository; link https://github.com/'
      + `${REPOSITORY}/blob/${BRANCH}/<path> instead`;
  }
  const resolved = normalize(join(dirname(page), decodeURIComponent(pathPart))).replace(/\\/g, '/').replace(/\/$/, '');
  if (resolved.startsWith('..')) return 'leads out of the repository';
  return pathProblem(resolved, 'any', anchor);
}

function pathProblem(path: string, kind: 'file' | 'folder' | 'any', anchor: string | undefined): string | undefined {
  const isFile = files.has(path);
  const isFolder = folders.has(path);
  if (!isFile && !isFolder) return `${path} is not in the repository`;
  if (kind === 'file' && !isFile) return `${path} is a folder: link it with /tree/${BRANCH}/`;
  if (kind === 'folder' && !isFolder) return `${path} is a file: link it with /blob/${BRANCH}/`;
  if (anchor !== undefined && anchor !== '') {
    if (!isFile || !path.endsWith('.md')) return `an anchor (#${anchor}) on ${path}, which is not a Markdown page`;
    if (!anchorsOf(path).has(anchor)) return `no heading of ${path} has the anchor #${anchor}`;
  }
  return undefined;
}

describe('links of the README and docs/', () => {
  test('the pages are found, and they have links', () => {
    expect(pages).toEqual(expect.arrayContaining(['README.md', 'docs/security.md', 'docs/getting-started.md']));
    expect(statSync(join(ROOT, 'docs')).isDirectory()).toBe(true);
    expect(linksOf('README.md').length).toBeGreaterThan(20);
  });

  test.each(pages)('every link of %s leads to a file, folder or heading that exists', (page) => {
    const broken = linksOf(page)
      .map((link) => ({ link, problem: problem(link) }))
      .filter((checked) => checked.problem !== undefined)
      .map(({ link, problem: why }) => `${link.page}:${link.line}: ${link.target}: ${why}`);
    expect(broken).toEqual([]);
  });

  test('anchors are GitHub\'s: lower case, punctuation but - and _ dropped, spaces to -', () => {
    expect(slug('Migrating from Auth0 `/delegation`')).toBe('migrating-from-auth0-delegation');
    expect(slug('2. Point the app at the new URL')).toBe('2-point-the-app-at-the-new-url');
    expect(slug('Canonical emitter vs xmldom + xml-crypto')).toBe('canonical-emitter-vs-xmldom--xml-crypto');
    expect(slug('Settings of the parts in `TokenDelegation`')).toBe('settings-of-the-parts-in-tokendelegation');
    expect(slug('Per-user items in DynamoDB')).toBe('per-user-items-in-dynamodb');
  });

  test('a broken link is reported: a missing page, a missing anchor, a relative link in the README, another branch', () => {
    expect(problem({ page: 'docs/security.md', line: 1, target: 'no-such-page.md' })).toBe('docs/no-such-page.md is not in the repository');
    expect(problem({ page: 'docs/security.md', line: 1, target: '#no-such-heading' })).toMatch(/no heading of docs\/security.md/);
    expect(problem({ page: 'docs/security.md', line: 1, target: 'key-rotation.md#no-such-heading' })).toMatch(/no heading of docs\/key-rotation.md/);
    expect(problem({ page: 'README.md', line: 1, target: 'docs/security.md' })).toMatch(/a relative link in the README/);
    expect(problem({ page: 'README.md', line: 1, target: `https://github.com/${REPOSITORY}/blob/main/docs/nothing.md` })).toBe('docs/nothing.md is not in the repository');
    expect(problem({ page: 'README.md', line: 1, target: `https://github.com/${REPOSITORY}/blob/dev/docs/security.md` })).toMatch(/branch dev/);
    expect(problem({ page: 'README.md', line: 1, target: `https://github.com/${REPOSITORY}/tree/main/docs/security.md` })).toMatch(/is a file/);
    expect(problem({ page: 'README.md', line: 1, target: `https://github.com/${REPOSITORY}/blob/main/docs/security.md#who-can-sign` })).toBeUndefined();
    expect(problem({ page: 'README.md', line: 1, target: 'https://docs.aws.amazon.com/IAM/latest/UserGuide/' })).toBeUndefined();
  });
});

describe('the README', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

  test('stays a ten-minute read: at most 30,000 bytes', () => {
    expect(Buffer.byteLength(readme)).toBeLessThanOrEqual(30_000);
  });

  test('lists every section in its contents', () => {
    const sections = headingsOf(readme).filter((heading) => heading.level === 2).map((heading) => slug(heading.text));
    const contents = readme.split(/^## Contents$/m)[1]?.split(/^## /m)[0] ?? '';
    const listed = [...contents.matchAll(/\]\(#([^)]+)\)/g)].map((match) => match[1]);
    expect(sections.filter((section) => section !== 'contents')).toEqual(listed);
  });

  test('marks no benchmark goal as not met: the generated docs/benchmarks.md does', () => {
    expect(readme).not.toMatch(/not met/i);
  });

  test('has its pages: every page of docs/ is linked from the README or from a page it links', () => {
    const reached = new Set<string>();
    const queue = ['README.md'];
    while (queue.length > 0) {
      const page = queue.shift()!;
      if (reached.has(page) || !existsSync(join(ROOT, page))) continue;
      reached.add(page);
      for (const { target } of linksOf(page)) {
        const inRepository = REPOSITORY_URL.exec(target);
        const path = inRepository ? inRepository[4] : /^[a-z]+:|^#/i.test(target) ? undefined
          : relative(ROOT, join(ROOT, dirname(page), target.split('#')[0]));
        if (path?.endsWith('.md')) queue.push(path);
      }
    }
    const unreached = pages.filter((page) => page.startsWith('docs/') && !reached.has(page));
    expect(unreached).toEqual([]);
  });
});
