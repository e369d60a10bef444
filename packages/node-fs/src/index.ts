/**
 * @erofs-js/node-fs: a Node-fs-shaped synchronous facade over an EROFS mount namespace,
 * for WASI runtimes and other code that takes an `fs` object (@tybys/wasm-util's WASI,
 * @napi-rs/wasm-runtime, wasi-js, ...).
 */
import { HostController, type HostControllerOptions, type ImageRef, type TaskOptions } from '@erofs-js/mount/node';
import { NodeFs, type NodeFsOptions } from './fs.js';

export { NodeFs, type NodeFsOptions, type PathLike, type BufferLike, type Encoding, type StatOptions, type ReaddirOptions } from './fs.js';
export { Stats, BigIntStats, Dirent } from './stats.js';
export { constants, openFlags } from './constants.js';
export { fsError, nodeError, type NodeFsError } from './errors.js';

export interface OpenNodeFsOptions extends NodeFsOptions {
  /** Options of the namespace's host controller (mounts, synthetic directories, ...). */
  controller?: Omit<HostControllerOptions, 'rootfs'>;
  /** The guest task (credentials, cwd, descriptor limit). Descriptors 0-2 are reserved by default. */
  task?: TaskOptions;
}

/**
 * A namespace with `image` as its root and a NodeFs over a task in it. `close()` ends the
 * task and releases the image once nothing uses it.
 */
export async function openNodeFs(image: ImageRef, options: OpenNodeFsOptions = {}): Promise<NodeFs & { host: HostController; close(): void }> {
  const host = await HostController.create({ ...options.controller, rootfs: image });
  const task = host.task({ reservedFds: [0, 1, 2], ...options.task });
  const fs = new NodeFs(task, options);
  return Object.assign(fs, {
    host,
    close(): void {
      task.exit();
      host.close();
    },
  });
}
