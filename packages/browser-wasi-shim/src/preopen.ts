/**
 * A preopened directory for the shim's WASI: a directory of a mount namespace, given to
 * the guest under a name of the host's choosing.
 */
import { wasi } from '@bjorn3/browser_wasi_shim';
import { O_DIRECTORY, O_PATH, O_RDONLY, ROOT, SysError, capMask, credentials, type Credentials } from '@erofs-js/vfs';

const CAP_SYS_CHROOT = 18;
/** Root with CAP_SYS_CHROOT, for setting up the preopen's Task only. */
const SETUP = credentials(0, 0, [], ROOT.caps | capMask(CAP_SYS_CHROOT));
import { Task, type MountNamespace } from '@erofs-js/mount';
import { ErofsFd } from './fd.js';

export interface PreopenOptions {
  /** The directory of the namespace the guest gets (default "/"). */
  path?: string;
  /** The guest's credentials for permission checks (default root). */
  creds?: Credentials;
  /** Most descriptors the guest may hold open below this preopen at once (default 4096). */
  maxFds?: number;
}

/**
 * The preopen: fd_prestat_get names it; path calls on it (and on every descriptor opened
 * below it) resolve inside it. It runs a Task of its own whose root is the preopened
 * directory, so ".." at the top and absolute symlink targets stay inside, as in a chroot.
 */
export class ErofsPreopenDirectory extends ErofsFd {
  readonly prestatName: string;

  private constructor(task: Task, fd: number, filetype: number, name: string) {
    super(task, fd, filetype, 0);
    this.prestatName = name;
  }

  /**
   * Opens `options.path` of `ns` as a preopen the guest sees as `name` (e.g. "/", "/mnt").
   * Throws SysError (ENOENT, ENOTDIR, EACCES, ...) when the directory cannot be opened.
   */
  static open(ns: MountNamespace, name: string, options: PreopenOptions = {}): ErofsPreopenDirectory {
    // Set up as root (chroot needs CAP_SYS_CHROOT), then act with the guest's credentials.
    const task = new Task(ns, { creds: SETUP, maxFds: options.maxFds ?? 4096 });
    try {
      task.chroot(options.path ?? '/');
      task.chdir('/');
      task.creds = options.creds ?? ROOT;
      let fd: number;
      try {
        fd = task.open('/', O_RDONLY | O_DIRECTORY);
      } catch (e) {
        // A directory the guest may search but not list is still a working preopen.
        if (!(e instanceof SysError && e.code === 'EACCES')) throw e;
        fd = task.open('/', O_PATH | O_DIRECTORY);
      }
      task.fstat(fd);
      return new ErofsPreopenDirectory(task, fd, wasi.FILETYPE_DIRECTORY, name);
    } catch (e) {
      task.exit();
      throw e;
    }
  }

  override fd_prestat_get(): { ret: number; prestat: wasi.Prestat | null } {
    return { ret: wasi.ERRNO_SUCCESS, prestat: wasi.Prestat.dir(this.prestatName) };
  }

  /** Closes every descriptor the guest still holds below this preopen (after the guest is done). */
  dispose(): void {
    this.task.exit();
  }
}
