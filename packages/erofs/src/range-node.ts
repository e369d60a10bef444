/**
 * The Node opener of a RangeSource: the fetch worker runs in a worker_threads Worker (from
 * source text, see range-worker.ts). The worker is unref'd: an open source does not keep
 * the process alive.
 */
import { Worker } from 'node:worker_threads';
import type { DiskCache } from './range-disk.js';
import { openWithWorker, type RangeSource, type RangeSourceOptions, type WorkerHandle } from './range-source.js';
import { rangeWorkerSource } from './range-worker.js';

/**
 * Start code for a worker_threads Worker. A dynamic import, not require: an eval worker is
 * CommonJS or an ES module depending on the flags it inherits. Messages posted before the
 * import resolves wait in the port until the listener is attached.
 */
const NODE_START = "import('node:worker_threads').then(({ parentPort }) => run({ on: (f) => parentPort.on('message', f), post: (m, t) => parentPort.postMessage(m, t || []) }));";

export interface NodeRangeSourceOptions extends RangeSourceOptions {
  /** Blocks kept on disk across restarts, under the memory cache (see DiskCache). */
  diskCache?: DiskCache;
}

/**
 * Opens `url` (http: or https:) as a synchronous ByteSource read with Range requests.
 * Resolves once the object is pinned (size and ETag or Last-Modified) and its first block
 * is in the cache; rejects with ErofsError EIO (the cause in the message) otherwise.
 */
export async function openRangeSource(url: string, options: NodeRangeSourceOptions = {}): Promise<RangeSource> {
  const { diskCache, ...rest } = options;
  if (diskCache) options = { ...rest, blockStore: (identity, blockSize) => diskCache.open(url, identity, blockSize) };
  const worker = new Worker(rangeWorkerSource(NODE_START), { eval: true, execArgv: [] });
  worker.unref();
  const handle: WorkerHandle = {
    post: (m) => worker.postMessage(m),
    next: () =>
      new Promise((resolve, reject) => {
        const onError = (e: Error) => reject(e);
        worker.once('error', onError);
        worker.once('message', (m) => {
          worker.off('error', onError);
          resolve(m);
        });
      }),
    terminate: () => void worker.terminate(),
  };
  return openWithWorker(handle, url, options);
}
