/**
 * The reference run for the browser_wasi_shim adapter test: a Ruby script inside ruby.wasm
 * under Node's own WASI (uvwasi, real host files) with one host directory preopened.
 *
 * It runs in a child process. In Node 20, a second ruby.wasm VM driven by node:wasi in the
 * same process (after any other ruby.wasm VM) dies with a segmentation fault inside Node,
 * so each reference walk gets a process of its own. Run as a program, this file reads
 * {dir, mnt, script} as JSON on stdin and writes the script's result to stdout.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { WASI } from 'node:wasi';

const self = fileURLToPath(import.meta.url);

/** Runs `script` in ruby.wasm under node:wasi in a child process, with `dir` preopened as `mnt`. */
export function rubyUnderNodeWasi(dir: string, mnt: string, script: string): string {
  const r = spawnSync(process.execPath, ['--no-warnings', '--import', 'tsx', self], {
    input: JSON.stringify({ dir, mnt, script }),
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    env: { PATH: process.env.PATH ?? '' },
  });
  if (r.status !== 0) throw new Error(`reference run failed (status ${r.status}, signal ${r.signal}): ${r.error ?? ''}${r.stderr}`);
  return r.stdout;
}

async function main(): Promise<void> {
  const { dir, mnt, script } = JSON.parse(readFileSync(0, 'utf8')) as { dir: string; mnt: string; script: string };
  const { loadRubyModule, runRuby } = await import('./ruby.js');
  const out = await runRuby(await loadRubyModule(), new WASI({ version: 'preview1', preopens: { [mnt]: dir }, returnOnExit: true }), script);
  process.stdout.write(out);
}

if (process.argv[1] === self) {
  main().catch((e) => {
    process.stderr.write(String(e?.stack ?? e) + '\n');
    process.exit(1);
  });
}
