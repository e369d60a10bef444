/**
 * What tests/readme.test.ts gives the README snippets it runs (imported by each generated
 * snippet module; the snippets themselves never name it).
 */

/**
 * A snippet line ending in `// throws CODE ...` (or `// SysError CODE`) runs as this: it
 * must throw an error whose code is CODE, and the snippet goes on.
 */
export function expectThrow(line: number, fn: () => unknown, code: string): void {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  const got = (thrown as { code?: unknown } | undefined)?.code;
  if (got !== code) throw new Error(`README line ${line}: expected an error with code ${code}, got ${thrown === undefined ? 'no error' : `${String(got)} (${String(thrown)})`}`);
}

/**
 * fetch() of a path ("/rootfs.erofs", "rootfs.erofs") answers with that file of the cwd,
 * as the page's own server would; anything else goes to the real fetch.
 */
export function serveCwdToFetch(): void {
  const real = globalThis.fetch;
  globalThis.fetch = (async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
    if (typeof input === 'string' && !/^[a-z]+:/i.test(input)) {
      const { readFile } = await import('node:fs/promises');
      const path = input.replace(/^\/+/, '');
      return new Response(await readFile(path), { headers: { 'content-type': path.endsWith('.wasm') ? 'application/wasm' : 'application/octet-stream' } });
    }
    return real(input, init);
  }) as typeof fetch;
}
