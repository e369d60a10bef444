// Runs before every test file: the Zstandard decoder is WebAssembly and compiles asynchronously.
import { loadCodecs } from '@erofs-js/erofs';

await loadCodecs();
