import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

// Tests run against the TypeScript sources, not dist/, so a stale build cannot hide a bug.
const src = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^@erofs-js\/erofs\/node$/, replacement: src('./packages/erofs/src/node.ts') },
      { find: /^@erofs-js\/erofs$/, replacement: src('./packages/erofs/src/index.ts') },
      { find: /^@erofs-js\/vfs$/, replacement: src('./packages/vfs/src/index.ts') },
      { find: /^@erofs-js\/tmpfs$/, replacement: src('./packages/tmpfs/src/index.ts') },
      { find: /^@erofs-js\/overlay$/, replacement: src('./packages/overlay/src/index.ts') },
      { find: /^@erofs-js\/mount\/node$/, replacement: src('./packages/mount/src/node/index.ts') },
      { find: /^@erofs-js\/mount$/, replacement: src('./packages/mount/src/index.ts') },
      { find: /^@erofs-js\/mkfs\/node$/, replacement: src('./packages/mkfs/src/fromdir.ts') },
      { find: /^@erofs-js\/mkfs$/, replacement: src('./packages/mkfs/src/index.ts') },
      { find: /^@erofs-js\/node-fs$/, replacement: src('./packages/node-fs/src/index.ts') },
      { find: /^@erofs-js\/browser-wasi-shim$/, replacement: src('./packages/browser-wasi-shim/src/index.ts') },
      { find: /^@erofs-js\/zenfs$/, replacement: src('./packages/zenfs/src/index.ts') },
      { find: /^@erofs-js\/web$/, replacement: src('./packages/web/src/index.ts') },
    ],
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'tests/**/*.test.ts'],
    testTimeout: 60_000,
    // Compiles the WebAssembly Zstandard decoder once per test file.
    setupFiles: ['tests/setup.ts'],
  },
});
