/**
 * @erofs-js/mount: the portable core (namespace, Task, Syscalls, checkpoints, the
 * controller over image references that need no host). It imports nothing from node:*;
 * the Node host (host files and descriptors, the JSON-RPC server and client, erofs-host
 * and erofsctl) is @erofs-js/mount/node.
 */
export { SyntheticFs, SynthDir, SynthFile, RAMFS_MAGIC, type SyntheticFsOptions } from './synthetic.js';
export { type Node, type MountedFs, type OpenFile } from './node.js';
export { ProcFs, ProcNode, ProcFile, PROC_SUPER_MAGIC } from './procfs.js';
export {
  Mount,
  MountNamespace,
  FIRST_ANON_DEV,
  latin1ToUtf8,
  utf8ToLatin1,
  type Location,
  type MountFlags,
  type MountSpec,
  type MountPolicy,
  type MountRecord,
  type MountState,
  type ImageOrigin,
  type NamespaceOptions,
} from './namespace.js';
export {
  resolve,
  release,
  holdLoc,
  crossMounts,
  checkPath,
  pathBytes,
  Resolver,
  PATH_MAX,
  MAXSYMLINKS,
  type PathArg,
  type ResolveOptions,
  type WalkResult,
} from './resolve.js';
export * from './task.js';
export {
  Syscalls,
  SYSCALL_NAMES,
  encodeStat,
  encodeStatx,
  encodeStatfs,
  decodeStat,
  devString,
  errnoResult,
  SIZEOF_STAT,
  SIZEOF_STATX,
  SIZEOF_STATFS,
} from './syscalls.js';
export { mountinfo, mountinfoBytes, mountinfoFor, mountinfoLine, mangle, unmangle, parseMountinfoLine, type MountinfoEntry } from './mountinfo.js';
export {
  HostController,
  CancelledError,
  EROFS_SUPER_OPTIONS,
  openPortable,
  portableOpener,
  type ImageOpener,
  type ImageRef,
  type RemoteImageRef,
  type HostMountOptions,
  type HostControllerOptions,
  type MountRequest,
  type TmpfsMountRequest,
  type FilesystemMountRequest,
  type OverlayMountRequest,
  type OverlayLayers,
  type OverlayUpper,
  type AttachOptions,
  type TmpfsAtStart,
  type UnmountRequest,
  type UnmountResult,
  type PrefetchResult,
} from './controller.js';
export {
  saveNamespace,
  restoreNamespace,
  parseCheckpoint,
  imageIdentity,
  identityDiff,
  allowImages,
  CheckpointError,
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  CHECKPOINT_LIMITS,
  type Checkpoint,
  type CheckpointFailure,
  type MountCheckpoint,
  type DescriptionCheckpoint,
  type TaskCheckpoint,
  type LocationCheckpoint,
  type ImageIdentity,
  type RemoteCheckpoint,
  type CacheOptions,
  type ImageRequest,
  type FsRequest,
  type TmpfsCheckpoint,
  type OverlayCheckpoint,
  type TmpfsContentCheckpoint,
  type BytesCheckpoint,
  type TmpfsValue,
  type RestoreHost,
  type Restored,
} from './checkpoint.js';
export * as rpcSchema from './rpc/schema.js';
