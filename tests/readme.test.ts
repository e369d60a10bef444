/**
 * The READMEs' code runs: every fenced `ts` and `sh` block of README.md and
 * packages/*\/README.md is extracted, type-checked with the repository's strict settings
 * and run against fixture images, so that a snippet cannot rot.
 *
 * How a block runs:
 *  - `ts`: as its own ES module under tsx (workspace packages mapped to their sources, as
 *    vitest.config.ts maps them), in a fresh folder holding rootfs.erofs (rootfs-18),
 *    data.erofs (rootfs-19-label), meta.erofs + blob.img (basic-18-blobdev), ls.wasm
 *    (toybox ls) and a small tree ./rootfs; relative image paths resolve there. A line
 *    ending in `// throws CODE` (or `// SysError CODE`) must throw an error with that code,
 *    and the block goes on.
 *  - `sh`: lines starting with `$ ` are commands (`npx X` runs the workspace's X), and the
 *    lines after each, up to the next command, are what it prints (stdout and stderr);
 *    a block without `$ ` lines runs as a bash script that must succeed.
 *
 * HTML comments right before a fence steer it, unseen on the rendered page:
 *  - `<!-- snippet: continues -->`: the block continues the file's previous block (one
 *    module; imports merged);
 *  - `<!-- snippet: prelude` + lines of code + `-->`: code run before the block (what the
 *    reader supplies, such as a compiled WebAssembly module);
 *  - `<!-- snippet: typecheck: why -->`: type-checked, not run;
 *  - `<!-- snippet: skip: why -->`: neither.
 *
 * The ts blocks import the workspace's sources, so no build is needed for them; the sh
 * blocks run the built command (npm test builds first).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, exportTarget, sourceOf, workspacePackages } from './bundle.js';
import { FIXTURES } from './fixtures.js';

interface Snippet {
  doc: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: 'ts' | 'sh';
  code: { text: string; line: number }[];
  prelude: string[];
  mode: 'run' | 'typecheck' | 'skip';
  reason?: string;
}

const DOCS = ['README.md', ...readdirSync(join(ROOT, 'packages')).filter((d) => existsSync(join(ROOT, 'packages', d, 'README.md'))).sort().map((d) => `packages/${d}/README.md`)];

/** The `<!-- snippet: ... -->` comments just above line `at` (0-based), nearest last. */
function directivesAbove(lines: string[], at: number): string[] {
  const out: string[] = [];
  let i = at - 1;
  for (;;) {
    while (i >= 0 && lines[i].trim() === '') i--;
    if (i < 0 || !lines[i].trimEnd().endsWith('-->')) break;
    let j = i;
    while (j >= 0 && !lines[j].includes('<!--')) j--;
    if (j < 0) break;
    const body = lines.slice(j, i + 1).join('\n').replace(/^\s*<!--/, '').replace(/-->\s*$/, '');
    if (!/^\s*snippet:/.test(body)) break;
    out.unshift(body.replace(/^\s*snippet:\s*/, ''));
    i = j - 1;
  }
  return out;
}

function extract(doc: string): Snippet[] {
  const lines = readFileSync(join(ROOT, doc), 'utf8').split('\n');
  const out: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^```(\w*)\s*$/.exec(lines[i]);
    if (!m) continue;
    let end = i + 1;
    while (end < lines.length && !/^```\s*$/.test(lines[end])) end++;
    const lang = m[1];
    const code = lines.slice(i + 1, end).map((text, k) => ({ text, line: i + 2 + k }));
    const start = i;
    i = end;
    if (lang !== 'ts' && lang !== 'sh') continue;
    const s: Snippet = { doc, line: start + 1, lang, code, prelude: [], mode: 'run' };
    let continues = false;
    for (const d of directivesAbove(lines, start)) {
      const [head, ...rest] = d.split('\n');
      const word = /^(\w+)/.exec(head)?.[1];
      if (word === 'continues') continues = true;
      else if (word === 'prelude') s.prelude.push(...rest);
      else if (word === 'skip' || word === 'typecheck') {
        s.mode = word;
        s.reason = head.replace(/^\w+:?\s*/, '').trim();
        if (!s.reason) throw new Error(`${doc}:${start + 1}: snippet: ${word} without a reason`);
      } else throw new Error(`${doc}:${start + 1}: unknown snippet directive ${JSON.stringify(head)}`);
    }
    const prev = out[out.length - 1];
    if (continues) {
      if (!prev || prev.lang !== lang) throw new Error(`${doc}:${start + 1}: continues no earlier ${lang} block`);
      prev.code.push(...code);
      prev.prelude.push(...s.prelude);
      continue;
    }
    out.push(s);
  }
  return out;
}

/** `// throws EROFS ...` lines into expectThrow calls (see the module comment). */
function assertThrows(code: { text: string; line: number }[]): string[] {
  return code.map(({ text, line }) => {
    const m = /^(\s*)(.*?);?\s*\/\/\s*(?:throws(?:\s+SysError)?|SysError)\s+(E[A-Z0-9]+)\b.*$/.exec(text);
    if (!m) return text;
    return `${m[1]}__expectThrow(${line}, () => { ${m[2]}; }, '${m[3]}');`;
  });
}

/**
 * One module from a block: its import statements (and the prelude's) merged per module
 * specifier, then the prelude, then the code.
 */
function moduleSource(s: Snippet): string {
  const lines = [...s.prelude, ...assertThrows(s.code)];
  const named = new Map<string, Set<string>>();
  const other = new Set<string>();
  const body: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^import\s/.test(lines[i])) {
      body.push(lines[i]);
      continue;
    }
    let stmt = lines[i];
    while (!/;\s*(\/\/.*)?$/.test(stmt) && i + 1 < lines.length) stmt += ' ' + lines[++i].trim();
    stmt = stmt.replace(/\/\/.*$/, '').trim();
    const m = /^import\s+(type\s+)?\{([^}]*)\}\s+from\s+(['"][^'"]+['"]);$/.exec(stmt);
    if (!m) {
      other.add(stmt);
      continue;
    }
    const set = named.get(m[3]) ?? new Set<string>();
    for (const part of m[2].split(',').map((p) => p.trim()).filter(Boolean)) set.add(m[1] && !part.startsWith('type ') ? `type ${part}` : part);
    named.set(m[3], set);
  }
  const imports = [...named].map(([from, set]) => {
    // A name imported both as a type and as a value needs only the value.
    const values = new Set([...set].filter((p) => !p.startsWith('type ')));
    const parts = [...set].filter((p) => !p.startsWith('type ') || !values.has(p.slice(5)));
    return `import { ${parts.join(', ')} } from ${from};`;
  });
  return [
    `import { expectThrow as __expectThrow, serveCwdToFetch as __serveCwdToFetch } from '../readme-env.js';`,
    ...other,
    ...imports,
    'void __serveCwdToFetch;',
    ...body,
    'export {};',
    '',
  ].join('\n');
}

const GEN = join(ROOT, 'tests/.snippets');
const snippets = DOCS.flatMap(extract);
const fileOf = (s: Snippet) => join(GEN, `${s.doc.replace(/\//g, '_').replace(/\.md$/, '')}-${s.line}.mts`);

/** tsx and tsc see the workspace packages through their exports, mapped to the sources. */
function tsconfig(files: string[]): object {
  const paths: Record<string, string[]> = {};
  for (const p of workspacePackages()) {
    for (const sub of Object.keys(p.json.exports ?? { '.': '' })) {
      const target = exportTarget(p, sub);
      if (!target) continue;
      paths[sub === '.' ? p.name : `${p.name}/${sub.slice(2)}`] = [relative(GEN, sourceOf(p, target))];
    }
  }
  return {
    extends: '../../tsconfig.base.json',
    compilerOptions: { composite: false, declaration: false, declarationMap: false, sourceMap: false, noEmit: true, lib: ['ES2022', 'DOM'], types: ['node'], paths },
    files: files.map((f) => relative(GEN, f)),
  };
}

let cwd: string;

beforeAll(() => {
  rmSync(GEN, { recursive: true, force: true });
  mkdirSync(GEN, { recursive: true });
  for (const s of snippets) if (s.lang === 'ts' && s.mode !== 'skip') writeFileSync(fileOf(s), moduleSource(s));
  writeFileSync(join(GEN, 'tsconfig.json'), JSON.stringify(tsconfig(snippets.filter((s) => s.lang === 'ts' && s.mode !== 'skip').map(fileOf)), null, 2));
  cwd = mkdtempSync(join(tmpdir(), 'erofs-readme-'));
  const copies: Record<string, string> = {
    'rootfs.erofs': 'rootfs-18.erofs',
    'data.erofs': 'rootfs-19-label.erofs',
    'meta.erofs': 'basic-18-blobdev.erofs',
    'blob.img': 'basic-18-blobdev.blob',
    'ls.wasm': 'guests/ls.wasm',
  };
  for (const [to, from] of Object.entries(copies)) copyFileSync(join(FIXTURES, from), join(cwd, to));
  mkdirSync(join(cwd, 'rootfs/etc'), { recursive: true });
  writeFileSync(join(cwd, 'rootfs/etc/hostname'), 'box\n');
});

afterAll(() => {
  if (cwd) rmSync(cwd, { recursive: true, force: true });
});

describe('README snippets', () => {
  it('every block says how it runs, and few are left out', () => {
    expect(snippets.filter((s) => s.lang === 'ts').length).toBeGreaterThanOrEqual(15);
    const notRun = snippets.filter((s) => s.mode !== 'run');
    for (const s of notRun) console.log(`${s.doc}:${s.line}: ${s.mode}: ${s.reason}`);
    expect(notRun.length).toBeLessThanOrEqual(5);
  });

  it('the ts blocks type-check under strict tsc', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(GEN, 'tsconfig.json')], { cwd: ROOT, encoding: 'utf8' });
    // Errors in the generated modules, named by their README line.
    const out = (r.stdout + r.stderr).replace(/tests\/\.snippets\/(\S+?)-(\d+)\.mts\((\d+),\d+\)/g, (_m, doc: string, line: string) => `${doc.replace(/_/g, '/')}.md (block at line ${line})`);
    expect(out.trim()).toBe('');
    expect(r.status).toBe(0);
  }, 120_000);

  for (const s of snippets) {
    const title = `${s.doc}:${s.line} (${s.lang})`;
    // Blocks not run are listed, with their reasons, by the first test (and the type-checked
    // ones are in the tsc run): no skipped test stands for them.
    if (s.mode !== 'run') continue;
    if (s.lang === 'ts') {
      it(`${title} runs`, () => {
        const r = spawnSync(process.execPath, ['--import', pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href, '--no-warnings', fileOf(s)], {
          cwd,
          encoding: 'utf8',
          timeout: 60_000,
          env: { ...process.env, TSX_TSCONFIG_PATH: join(GEN, 'tsconfig.json') },
        });
        expect(r.stderr, `${title}: stderr`).toBe('');
        expect(r.status, `${title}: exit status (stdout: ${r.stdout})`).toBe(0);
      }, 90_000);
    } else {
      it(`${title} prints what it shows`, () => {
        const env = { ...process.env, PATH: `${join(ROOT, 'node_modules/.bin')}:${process.env.PATH}` };
        const code = s.code.map((c) => c.text);
        if (!code.some((l) => l.startsWith('$ '))) {
          execFileSync('bash', ['-euo', 'pipefail', '-c', code.join('\n')], { cwd, env, stdio: 'pipe' });
          return;
        }
        for (let i = 0; i < code.length; ) {
          const cmd = code[i++].slice(2).replace(/^npx /, '');
          const want: string[] = [];
          while (i < code.length && !code[i].startsWith('$ ')) want.push(code[i++]);
          const r = spawnSync('bash', ['-c', cmd], { cwd, env, encoding: 'utf8', timeout: 60_000 });
          expect((r.stdout + r.stderr).trimEnd(), `$ ${cmd}`).toBe(want.join('\n').trimEnd());
        }
      }, 90_000);
    }
  }
});
