/**
 * The packages as npm would publish them: `npm pack --dry-run` of each public workspace (scripts off)
 * lists each tarball, and every package must carry its licence, README, metadata
 * (repository with its folder, engines, keywords) and every file its `exports` and `bin`
 * name, and nothing of the tests (test files, test utilities, .tsbuildinfo) or of an older
 * build (a dist file without its source). The README's table of tarball sizes is checked
 * like the bundle table (10%, and 1 KiB); `UPDATE_README=1 npx vitest run
 * tests/publish.test.ts` rewrites it.
 *
 * The tarballs hold dist/: this needs a build (`npm test` runs `tsc -b` first).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, workspacePackages } from './bundle.js';

const README = join(ROOT, 'README.md');
const START = '<!-- pack-sizes:start -->';
const END = '<!-- pack-sizes:end -->';

interface Packed {
  name: string;
  size: number;
  unpackedSize: number;
  entryCount: number;
  files: { path: string; size: number }[];
}

const root = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const workspaces: string[] = root.workspaces;
// A private package (the page, packages/web) is not published.
const packages = workspacePackages().filter((p) => workspaces.includes(`packages/${p.dir}`) && !p.json.private);

function pack(): Packed[] {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts', ...packages.map((p) => `--workspace=packages/${p.dir}`)], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return JSON.parse(out);
}

const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;

function table(rows: Packed[]): string {
  const lines = ['| package | files | tarball | unpacked |', '|---|---:|---:|---:|'];
  for (const r of rows) lines.push(`| \`${r.name}\` | ${r.entryCount} | ${kib(r.size)} | ${kib(r.unpackedSize)} |`);
  return lines.join('\n');
}

describe('npm packages', () => {
  const built = packages.every((p) => existsSync(join(ROOT, 'packages', p.dir, 'dist')));
  const packed = built ? pack() : [];

  it('are built (the tarballs hold dist/)', () => {
    expect(packages.filter((p) => !existsSync(join(ROOT, 'packages', p.dir, 'dist'))).map((p) => `${p.name}: no dist/ (run npx tsc -b)`)).toEqual([]);
  });

  for (const p of packages) {
    describe(p.name, () => {
      it('has its metadata', () => {
        const j = p.json as Record<string, unknown> & { repository?: { url?: string; directory?: string }; engines?: { node?: string }; keywords?: string[] };
        expect(j.license, 'license').toMatch(/^(MIT|LGPL-3\.0-or-later)( AND [\w.-]+)*$/);
        expect(j.repository?.url, 'repository.url').toBe(root.repository.url);
        expect(j.repository?.directory, 'repository.directory').toBe(`packages/${p.dir}`);
        expect(j.engines?.node, 'engines.node').toBe(root.engines.node);
        expect(j.keywords?.length ?? 0, 'keywords').toBeGreaterThanOrEqual(3);
        expect(typeof j.description, 'description').toBe('string');
        expect(j.type, 'type').toBe('module');
      });

      it('packs its licence, README and every exported file, and nothing of the tests', () => {
        const t = packed.find((x) => x.name === p.name);
        expect(t, `${p.name} in npm pack's output`).toBeDefined();
        const files = new Set(t!.files.map((f) => f.path));
        const missing = ['package.json', 'README.md', 'LICENSE'].filter((f) => !files.has(f));
        for (const e of Object.values(p.json.exports ?? {})) {
          for (const target of typeof e === 'string' ? [e] : [e.default, e.types]) if (target && !files.has(target.replace(/^\.\//, ''))) missing.push(target);
        }
        const bins = typeof p.json.bin === 'string' ? [p.json.bin] : Object.values((p.json.bin as Record<string, string> | undefined) ?? {});
        for (const b of bins) if (!files.has(b.replace(/^\.\//, ''))) missing.push(b);
        expect(missing, 'missing from the tarball').toEqual([]);
        const unwanted = [...files].filter((f) => /\.test\.ts$|\.tsbuildinfo$|(^|\/)testutil\.|(^|\/)test\//.test(f));
        expect(unwanted, 'test files in the tarball').toEqual([]);
        // A build output whose source is gone (a moved or deleted module) would ship too.
        const stale = [...files].filter((f) => /^dist\/.*\.js$/.test(f) && !files.has(f.replace(/^dist\//, 'src/').replace(/\.js$/, '.ts')) && !existsSync(join(ROOT, 'packages', p.dir, f.replace(/^dist\//, 'src/').replace(/\.js$/, '.ts'))));
        expect(stale, 'dist files without a source (stale build: rm -rf packages/*/dist && npx tsc -b)').toEqual([]);
      });
    });
  }

  it('the README table holds the tarball sizes', () => {
    const rows = packages.map((p) => packed.find((x) => x.name === p.name)!).filter(Boolean).sort((a, b) => a.name.localeCompare(b.name));
    expect(rows.length).toBe(packages.length);
    console.log(table(rows));
    const text = readFileSync(README, 'utf8');
    const a = text.indexOf(START);
    const b = text.indexOf(END);
    expect(a >= 0 && b > a, `README.md lacks the ${START} ... ${END} block`).toBe(true);
    if (process.env.UPDATE_README) {
      writeFileSync(README, text.slice(0, a + START.length) + '\n' + table(rows) + '\n' + text.slice(b));
      return;
    }
    const have = new Map<string, { size: number; unpacked: number }>();
    for (const m of text.slice(a, b).matchAll(/^\| `([^`]+)` \| \d+ \| ([\d.]+) KiB \| ([\d.]+) KiB \|$/gm)) have.set(m[1], { size: +m[2] * 1024, unpacked: +m[3] * 1024 });
    const off = (x: number, y: number) => Math.abs(x - y) > Math.max(0.1 * y, 1024);
    const stale: string[] = [];
    for (const r of rows) {
      const h = have.get(r.name);
      if (!h) stale.push(`${r.name}: no row`);
      else if (off(r.size, h.size) || off(r.unpackedSize, h.unpacked)) stale.push(`${r.name}: ${kib(r.size)} / ${kib(r.unpackedSize)}, the table says ${kib(h.size)} / ${kib(h.unpacked)}`);
    }
    for (const name of have.keys()) if (!rows.some((r) => r.name === name)) stale.push(`${name}: a row for no package`);
    expect(stale, 'README pack sizes are stale: UPDATE_README=1 npx vitest run tests/publish.test.ts').toEqual([]);
  });
});
