export { main } from './main.js';
export { manifest, manifestRecord, readdirRecords, pathOrder, typeName, sha256Of, hashContent, type ManifestRecord, type ReaddirRecord } from './manifest.js';
export { fsck, type FsckReport } from './fsck.js';
export { extract, type ExtractReport } from './extract.js';
export { openImage, prepareCodecs } from './open.js';
