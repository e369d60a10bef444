/**
 * The reference run for the browser_wasi_shim adapter test: a Ruby script inside ruby.wasm
 * under Node's own WASI (uvwasi over real host files) with one host directory preopened.
 *
 * It runs in a child process, because Node 20's WASI does not survive ruby.wasm for long:
 * the process dies with SIGSEGV or SIGTRAP inside V8 (gdb: Builtins_CreateArrayLiteralHandler,
 * a corrupted heap) after some thousands of WASI calls — always for a script doing 3000
 * lstat calls, at random for a few hundred — and always for a second VM in the same process.
 * A walk that dies by a signal is run again (up to ATTEMPTS times); any other failure is
 * reported at once. Run as a program, this file reads {dir, mnt, script} as JSON on stdin
 * and writes the script's result to stdout.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { WASI } from 'node:wasi';

const self = fileURLToPath(import.meta.url);
const ATTEMPTS = 8;

/** Runs `script` in ruby.wasm under node:wasi in a child process, with `dir` preopened as `mnt`. */
export function rubyUnderNodeWasi(dir: string, mnt: string, script: string): { out: string; attempts: number } | { crashed: string } {
  for (let attempt = 1; ; attempt++) {
    const r = spawnSync(process.execPath, ['--no-warnings', '--import', 'tsx', self], {
      input: JSON.stringify({ dir, mnt, script }),
      encoding: 'utf8',
      maxBuffer: 64 << 20,
      env: { PATH: process.env.PATH ?? '' },
    });
    if (r.status === 0) return { out: r.stdout, attempts: attempt };
    if (r.signal === null) {
      throw new Error(`reference run failed (attempt ${attempt}, status ${r.status}): ${r.error ?? ''}${r.stderr}`);
    }
    // The reference runtime itself died every time: that says nothing about the adapter,
    // so the caller skips the comparison (the kernel-manifest comparison still runs).
    if (attempt === ATTEMPTS) return { crashed: `node:wasi died by ${r.signal} in all ${ATTEMPTS} attempts` };
  }
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
