/**
 * The restoring side of the checkpoint test, run as a fresh Node.js process:
 *   node --import tsx tests/mount-checkpoint-child.ts <file.json>
 * The file holds { checkpoint, guest } as JSON. The host allows only the fixture images;
 * the restored session's second half prints its transcript on stdout, one line each.
 * A failed restore prints "restore failed: <reason> <errno>: <message>" and exits 3.
 */
import { readFileSync } from 'node:fs';
import { CheckpointError, HostController, allowImages } from '@erofs-js/mount/node';
import { ALLOWED, secondHalf, type GuestState } from './mount-checkpoint-session.js';

const saved = JSON.parse(readFileSync(process.argv[2], 'utf8')) as { checkpoint: unknown; guest: GuestState };
let restored;
try {
  restored = await HostController.restore(saved.checkpoint, allowImages(ALLOWED));
} catch (e) {
  if (!(e instanceof CheckpointError)) throw e;
  console.log(`restore failed: ${e.reason} ${e.message}`);
  process.exit(3);
}
const { controller, tasks } = restored;
try {
  await secondHalf(controller, tasks, saved.guest, (l) => console.log(l));
} finally {
  controller.close();
}
