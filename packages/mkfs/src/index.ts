export {
  file,
  dir,
  symlink,
  device,
  fifo,
  socket,
  nameBytes,
  compareBytes,
  type TreeNode,
  type NodeType,
  type NodeMeta,
  type FileNode,
  type DirNode,
  type SymlinkNode,
  type DeviceNode,
  type SpecialNode,
  type XattrMap,
} from './tree.js';
export { buildImage, buildImageTo, BuildError, type BuildOptions, type ImageSink } from './builder.js';
export { InodeTable, treeSource, type BuildSource, type ContentSource, type InodeMeta } from './table.js';
export { lz4Compress, lz4CompressFill, lz4Bound, type Lz4FillResult } from './lz4.js';
export { TarReader, TarError, type TarEntry, type TarHandler, type TarReaderOptions } from './tar.js';
export {
  tarSource,
  TarApplier,
  TarTree,
  MemoryStore,
  webGunzip,
  chunksOf,
  maybeGunzip,
  type DataStore,
  type Gunzip,
  type TarInput,
  type TarOptions,
  type TarSource,
} from './fromtar.js';
