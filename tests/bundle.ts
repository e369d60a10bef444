/**
 * Bundling the workspace's packages for the browser, for the bundle check
 * (tests/bundle.test.ts) and the browser tests (tests/browser.test.ts).
 *
 * Builds read the TypeScript sources, as the tests do (vitest.config.ts), but through the
 * packages' own boundaries: an `@erofs-js/<name>[/<sub>]` import resolves only through
 * that package's `exports` (its dist path mapped back to src), and a `browser` field
 * entry set to false in the importing package's package.json becomes an empty module, as
 * bundlers do for published packages. Everything else (pako, zstddec, @bjorn3/...) is
 * resolved by esbuild from node_modules. A Node built-in (`node:fs`, or `fs` without the
 * prefix) is recorded with the file that imported it and left external, so a check can
 * name every one instead of stopping at the first.
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuildOptions, Plugin } from 'esbuild';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface WorkspacePackage {
  /** The folder under packages/. */
  dir: string;
  name: string;
  json: {
    name: string;
    exports?: Record<string, { default?: string; types?: string } | string>;
    main?: string;
    browser?: Record<string, string | false>;
    sideEffects?: boolean;
    bin?: unknown;
    [k: string]: unknown;
  };
}

/** Every package under packages/ (those not yet in the workspaces list included). */
export function workspacePackages(): WorkspacePackage[] {
  const out: WorkspacePackage[] = [];
  for (const dir of readdirSync(join(ROOT, 'packages')).sort()) {
    const file = join(ROOT, 'packages', dir, 'package.json');
    if (!existsSync(file)) continue;
    const json = JSON.parse(readFileSync(file, 'utf8'));
    out.push({ dir, name: json.name, json });
  }
  return out;
}

/** The source file behind one `exports` target ("./dist/a/b.js" -> <pkg>/src/a/b.ts). */
export function sourceOf(pkg: WorkspacePackage, target: string): string {
  const m = /^\.\/dist\/(.+)\.js$/.exec(target);
  if (!m) throw new Error(`${pkg.name}: export target ${target} is not ./dist/*.js`);
  return join(ROOT, 'packages', pkg.dir, 'src', `${m[1]}.ts`);
}

/** An `exports` entry's default target, or undefined. */
export function exportTarget(pkg: WorkspacePackage, sub: string): string | undefined {
  const e = pkg.json.exports?.[sub];
  if (e === undefined) return sub === '.' ? pkg.json.main : undefined;
  return typeof e === 'string' ? e : e.default;
}

export interface NodeImport {
  /** The built-in as written (node:fs, fs). */
  path: string;
  /** The importing file, relative to the repository root. */
  importer: string;
}

/**
 * The esbuild plugin described in the module comment. `found` collects the Node
 * built-ins the bundle reached.
 */
export function workspacePlugin(found: NodeImport[] = [], peers: 'external' | 'bundle' = 'external'): Plugin {
  const pkgs = workspacePackages();
  const byName = new Map(pkgs.map((p) => [p.name, p]));
  const builtins = new Set(builtinModules.filter((m) => !m.startsWith('_')));
  const ownerOf = (file: string): WorkspacePackage | undefined => {
    const rel = relative(join(ROOT, 'packages'), file);
    if (rel.startsWith('..')) return undefined;
    return pkgs.find((p) => p.dir === rel.split('/')[0]);
  };
  const peersOf = (p: WorkspacePackage): string[] => Object.keys((p.json.peerDependencies as Record<string, string> | undefined) ?? {});
  return {
    name: 'erofs-js-workspace',
    setup(build) {
      build.onResolve({ filter: /^[a-z_@][\w./@:-]*$/ }, (args) => {
        const owner = ownerOf(args.importer);
        // The importing package's browser field: false is an empty module, a string another module.
        const mapped = owner?.json.browser?.[args.path];
        if (mapped === false) return { path: args.path, namespace: 'browser-empty' };
        const spec = typeof mapped === 'string' ? mapped : args.path;
        // A package's peer dependencies are the application's to bring: not in its bundle.
        if (peers === 'external' && owner && peersOf(owner).some((d) => spec === d || spec.startsWith(d + '/'))) return { path: spec, external: true };
        const bare = spec.startsWith('node:') ? spec.slice(5) : spec;
        if (spec.startsWith('node:') || builtins.has(bare.split('/')[0])) {
          found.push({ path: spec, importer: relative(ROOT, args.importer) });
          return { path: spec, external: true };
        }
        if (!spec.startsWith('@erofs-js/')) return spec === args.path ? undefined : build.resolve(spec, { kind: args.kind, resolveDir: args.resolveDir });
        const [scope, name, ...rest] = spec.split('/');
        const pkg = byName.get(`${scope}/${name}`);
        if (!pkg) return { errors: [{ text: `no workspace package ${scope}/${name}` }] };
        const sub = rest.length ? `./${rest.join('/')}` : '.';
        const target = exportTarget(pkg, sub);
        if (!target) return { errors: [{ text: `${pkg.name} does not export ${sub}` }] };
        return { path: sourceOf(pkg, target) };
      });
      build.onLoad({ filter: /.*/, namespace: 'browser-empty' }, () => ({ contents: 'export {};', loader: 'js' }));
    },
  };
}

/**
 * The options every browser build here shares. A package's size leaves its peer
 * dependencies out; a page that runs (`peers: 'bundle'`) has them in.
 */
export function browserBuild(found: NodeImport[] = [], peers: 'external' | 'bundle' = 'external'): BuildOptions {
  return {
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
    plugins: [workspacePlugin(found, peers)],
    absWorkingDir: ROOT,
  };
}

/** A package's browser entries: its exports but "./node" ones; none for a Node-only package. */
export function browserEntries(pkg: WorkspacePackage): { spec: string; file: string }[] {
  const subs = pkg.json.exports ? Object.keys(pkg.json.exports) : pkg.json.main ? ['.'] : [];
  return subs
    .filter((s) => !/(^|\/)node$/.test(s) && !s.endsWith('.json'))
    .map((s) => ({ spec: s === '.' ? pkg.name : `${pkg.name}/${s.slice(2)}`, file: sourceOf(pkg, exportTarget(pkg, s)!) }));
}
