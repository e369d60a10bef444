/**
 * The restoring side of tests/mount-checkpoint-tmpfs.test.ts, run as a fresh Node.js process:
 *   node --import tsx tests/mount-checkpoint-tmpfs-child.ts <file.json>
 * The file holds { checkpoint, guest } as JSON. The host allows only the rootfs fixture.
 * Prints one JSON line: { manifest, stats, lines } (the restored tree of /tmp, each
 * tmpfs's accounting, and the transcript of the session's second half). A failed restore
 * prints "restore failed: <reason> <errno>: <message>" and exits 3.
 */
import { readFileSync } from 'node:fs';
import { CheckpointError, HostController, allowImages } from '@erofs-js/mount/node';
import { ROOTFS } from './mount-checkpoint-session.js';
import { manifest, secondHalf, tmpfsStats, type TmpfsGuestState } from './mount-checkpoint-tmpfs-session.js';

const saved = JSON.parse(readFileSync(process.argv[2], 'utf8')) as { checkpoint: unknown; guest: TmpfsGuestState };
let restored;
try {
  restored = await HostController.restore(saved.checkpoint, allowImages([ROOTFS]));
} catch (e) {
  if (!(e instanceof CheckpointError)) throw e;
  console.log(`restore failed: ${e.reason} ${e.message}`);
  process.exit(3);
}
const { controller, tasks } = restored;
try {
  const stats = tmpfsStats(controller);
  const tree = manifest(controller, '/tmp');
  const lines: string[] = [];
  secondHalf(controller, tasks, saved.guest, (l) => lines.push(l));
  console.log(JSON.stringify({ manifest: tree, stats, lines }));
} finally {
  controller.close();
}
