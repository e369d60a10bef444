// SPDX-License-Identifier: LGPL-3.0-or-later
/**
 * ZenFS test-suite setup: our backend as the read-only lower layer of ZenFS's CopyOnWrite,
 * an InMemory upper layer taking the writes; the way ZenFS runs its whole suite over a
 * read-only store (its own tests/setup/cow.ts). Every read of ZenFS's test data goes
 * through our backend.
 */
import { configureSingle, CopyOnWrite, InMemory } from '@zenfs/core';
import { Erofs } from '@erofs-js/zenfs';

const image = process.env.EROFS_IMAGE;
if (!image) throw new Error('EROFS_IMAGE is not set: run the suite through packages/zenfs/conformance/run.ts');

const readable = await Erofs.create({ path: image });

await configureSingle({ backend: CopyOnWrite, readable, writable: { backend: InMemory, label: 'cow' } });
// run.ts counts these lines: proof that each test process really ran over our backend.
console.error(`erofs-zenfs: mounted ${image} under CopyOnWrite`);
