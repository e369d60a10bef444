/**
 * Messages between the page and its workers. The page sends a Call; the worker answers
 * with one Reply carrying the same id, after any number of Output messages for a `run`.
 * Two workers run the same script: one answers the inspector's requests, the other runs
 * the terminal's tools, so that a long tool run never delays the tree or the viewer.
 */
import type { ErrorText } from './inspect.js';

/** Where the image comes from: a file the user picked or dropped, or a URL. */
export type ImageSource = { kind: 'file'; file: Blob; name: string } | { kind: 'url'; url: string };

export type Request =
  | { op: 'open'; source: ImageSource }
  | { op: 'list'; nid: number }
  | { op: 'details'; nid: number; name: string }
  | { op: 'read'; nid: number; offset: number; length: number }
  | { op: 'storage'; nid: number }
  | { op: 'run'; line: string };

export interface Call {
  id: number;
  req: Request;
}

export type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: ErrorText };

/** Bytes a tool wrote to stdout (1) or stderr (2), sent as they come. */
export interface Output {
  id: number;
  fd: 1 | 2;
  data: Uint8Array;
}

export function isOutput(m: Reply | Output): m is Output {
  return 'fd' in m;
}
