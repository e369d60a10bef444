export { main } from './main.js';
export { manifest, manifestRecord, readdirRecords, typeName, sha256Of, type ManifestRecord } from './manifest.js';
export { fsck, type FsckReport } from './fsck.js';
export { extract, type ExtractReport } from './extract.js';
export { openImage, prepareCodecs } from './open.js';
