/**
 * The page's parts that do not need a page, for the tests: the chunked Blob source, what
 * the inspector reports of an image, and the terminal's word splitting.
 */
export { ChunkedSource, type ChunkedSourceOptions } from './chunked-source.js';
export { summary, list, details, read, storage, rootEntry, describeError, compressionNames, modeString, printable, type Summary, type Entry, type Details, type Storage, type ExtentView, type XattrView, type ErrorText } from './inspect.js';
export { splitWords, ShellSyntaxError } from './shell.js';
export type { ImageSource, Request, Reply, Output, Call } from './protocol.js';
