/**
 * The browser check: every package's browser entry (each `exports` path but "./node")
 * bundles with esbuild for `platform: 'browser'` without reaching a Node built-in, every
 * package says `"sideEffects": false`, and the README's bundle table holds today's sizes.
 *
 * The sizes (raw, minified, minified + gzip -9) are whole bundles: the package with its
 * workspace and npm dependencies, peer dependencies left to the application. The README
 * table is checked, not written: a size more than 10% (and 2 KiB) away from its row fails,
 * naming the command that rewrites the table:
 *
 *   UPDATE_README=1 npx vitest run tests/bundle.test.ts
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { ROOT, browserBuild, browserEntries, workspacePackages, type NodeImport } from './bundle.js';

const README = join(ROOT, 'README.md');
const START = '<!-- bundle-sizes:start -->';
const END = '<!-- bundle-sizes:end -->';

interface Row {
  spec: string;
  raw: number;
  min: number;
  gzip: number;
}

const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;

function table(rows: Row[]): string {
  const lines = ['| entry | raw | minified | minified + gzip |', '|---|---:|---:|---:|'];
  for (const r of rows) lines.push(`| \`${r.spec}\` | ${kib(r.raw)} | ${kib(r.min)} | ${kib(r.gzip)} |`);
  return lines.join('\n');
}

function parseTable(text: string): Map<string, Row> {
  const out = new Map<string, Row>();
  for (const m of text.matchAll(/^\| `([^`]+)` \| ([\d.]+) KiB \| ([\d.]+) KiB \| ([\d.]+) KiB \|$/gm)) {
    out.set(m[1], { spec: m[1], raw: +m[2] * 1024, min: +m[3] * 1024, gzip: +m[4] * 1024 });
  }
  return out;
}

const workspaces: string[] = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).workspaces;
// Libraries only: a private package (the page, packages/web) is an application with its own
// build (tests/web.test.ts bundles it), not an entry others bundle.
const packages = workspacePackages().filter((p) => !p.json.private);
// A folder under packages/ not yet in the workspaces list is still being written: its
// entries are bundled once they exist.
const entries = packages.flatMap((p) =>
  browserEntries(p)
    .filter((e) => workspaces.includes(`packages/${p.dir}`) || existsSync(e.file))
    .map((e) => ({ ...e, pkg: p })),
);

describe('browser bundles', () => {
  it('every package declares "sideEffects": false', () => {
    expect(packages.filter((p) => p.json.sideEffects !== false).map((p) => p.name)).toEqual([]);
  });

  it('the packages with no browser entry are the command only', () => {
    expect(packages.filter((p) => browserEntries(p).length === 0).map((p) => p.name)).toEqual(['@erofs-js/cli']);
  });

  const rows: Row[] = [];
  for (const e of entries) {
    it(`${e.spec} bundles for the browser without Node built-ins`, async () => {
      const found: NodeImport[] = [];
      const raw = await build({ ...browserBuild(found), entryPoints: [e.file] });
      expect(found.map((f) => `${f.importer} imports ${f.path}`)).toEqual([]);
      const min = await build({ ...browserBuild(), entryPoints: [e.file], minify: true });
      const minBytes = min.outputFiles![0].contents;
      rows.push({ spec: e.spec, raw: raw.outputFiles![0].contents.length, min: minBytes.length, gzip: gzipSync(minBytes, { level: 9 }).length });
    });
  }

  it('the README table holds the sizes', () => {
    expect(rows.length).toBe(entries.length);
    rows.sort((a, b) => a.spec.localeCompare(b.spec));
    console.log(table(rows));
    const text = readFileSync(README, 'utf8');
    const a = text.indexOf(START);
    const b = text.indexOf(END);
    expect(a >= 0 && b > a, `README.md lacks the ${START} ... ${END} block`).toBe(true);
    if (process.env.UPDATE_README) {
      writeFileSync(README, text.slice(0, a + START.length) + '\n' + table(rows) + '\n' + text.slice(b));
      return;
    }
    const have = parseTable(text.slice(a, b));
    const stale: string[] = [];
    for (const r of rows) {
      const h = have.get(r.spec);
      const off = (x: number, y: number) => Math.abs(x - y) > Math.max(0.1 * y, 2048);
      if (!h) stale.push(`${r.spec}: no row`);
      else if (off(r.min, h.min) || off(r.gzip, h.gzip)) stale.push(`${r.spec}: ${kib(r.min)} / ${kib(r.gzip)} gzip, the table says ${kib(h.min)} / ${kib(h.gzip)}`);
    }
    for (const spec of have.keys()) if (!rows.some((r) => r.spec === spec)) stale.push(`${spec}: a row for no entry`);
    expect(stale, 'README bundle sizes are stale: UPDATE_README=1 npx vitest run tests/bundle.test.ts').toEqual([]);
  });
});
