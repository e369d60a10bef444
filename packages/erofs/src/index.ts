export { ErofsError, ERRNO, corrupt, unsupported, isErofsError, type ErofsErrorCode } from './errors.js';
export { MemorySource, CountingSource, type ByteSource } from './source.js';
export {
  readSuperblock,
  featureNames,
  superblockChecksum,
  COMPAT,
  INCOMPAT,
  INCOMPAT_KNOWN,
  EROFS_MAGIC,
  SUPERBLOCK_OFFSET,
  type Superblock,
  type DeviceSlot,
  type SuperblockOptions,
} from './superblock.js';
export {
  decodeInode,
  decodeRdev,
  makedev,
  splitDev,
  fileTypeOfMode,
  isDir,
  isReg,
  isSymlink,
  isCompressed,
  DataLayout,
  LAYOUT_NAMES,
  S_IFMT,
  S_IFSOCK,
  S_IFLNK,
  S_IFREG,
  S_IFBLK,
  S_IFDIR,
  S_IFCHR,
  S_IFIFO,
  type Inode,
} from './inode.js';
export { DirBlock, FT, fileTypeToDtype, compareNames, NAME_MAX, DIRENT_SIZE, type DirEntry } from './dirent.js';
export { XATTR_INDEX_PREFIXES, filterSaysAbsent, type Xattr, type LongPrefix } from './xattr.js';
export { ExtentKind, type Extent } from './map/extent.js';
export { Image, SYMLINK_MAX, DEFAULT_IMAGE_CACHE_BYTES, decodeName, splitPath, type ImageOptions } from './image.js';
export { walk, type WalkEntry, type WalkOptions } from './walk.js';
export { METABOX_NID_FLAG, isMetaboxNid, nidToBigInt, nidToIno, formatNid } from './nid.js';
export { crc32c } from './crc32c.js';
export { xxh32 } from './xxhash.js';
export {
  loadCodecs,
  defaultCodecs,
  lz4,
  lz4Decode,
  lz4Wasm,
  lz4Best,
  lz4DecodeWasm,
  lz4WasmAvailable,
  lz4WasmFailure,
  lz4WasmCounts,
  createLzma,
  microLzmaDecode,
  deflate,
  inflateRawInto,
  zstd,
  createZstd,
  zstdWasmReady,
  readZstdFrame,
  ZSTD_MAX_FRAME_OUTPUT,
  type ZstdFrame,
} from './codecs/index.js';
export { Algorithm, ALGORITHM_NAMES, type Codec } from './codecs/codec.js';
export { ExtentCache, readCompressionConfig, type CompressionConfig } from './compression.js';
export { BoundedCache, type BoundedCacheOptions, type CacheStats } from './cache.js';
export { PageCache, CacheDomain, DEFAULT_PAGE_CACHE_BYTES, type CachedRange } from './page-cache.js';
export { CompressedMapper, PCLUSTER_MAX_SIZE, PCLUSTER_MAX_DSIZE, type ZInfo } from './map/compressed.js';
export { FORMAT_SHIFTED, FORMAT_INTERLACED } from './map/extent.js';
export { RangeSource, openRangeSourceWeb, displayUrl, type RangeSourceOptions, type RangeStats, type RemoteIdentity, type BlockStore } from './range-source.js';
