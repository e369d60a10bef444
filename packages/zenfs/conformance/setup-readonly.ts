// SPDX-License-Identifier: LGPL-3.0-or-later
/**
 * ZenFS test-suite setup: our backend alone at "/", over an EROFS image of ZenFS's test
 * data (built by run.ts, path in EROFS_IMAGE). Only what a read-only filesystem can do is
 * claimed; ZenFS's tests skip the rest by these flags.
 */
import { configure } from '@zenfs/core';
import { Erofs } from '@erofs-js/zenfs';

const image = process.env.EROFS_IMAGE;
if (!image) throw new Error('EROFS_IMAGE is not set: run the suite through packages/zenfs/conformance/run.ts');

await configure({ mounts: { '/': { backend: Erofs, path: image } } });
// run.ts counts these lines: proof that each test process really ran over our backend.
console.error(`erofs-zenfs: mounted ${image} at /`);

/** The suite's capability flags: false for everything that writes. */
export const flags = {
  write: false,
  appends: false,
  directories: false,
  symlinks: false,
  links: false,
  rename: false,
  truncate: false,
  streams: false,
  watch: false,
  permissions: false,
  xattr: false,
  times: false,
  tempdir: false,
  lchmod: false,
};
