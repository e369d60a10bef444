/**
 * Path resolution across the namespace's mounts: the one Linux walker of @erofs-js/vfs
 * (walker.ts, where the rules are written down), over this layer's Mount and Location.
 * The task root is the walk root: absolute paths and absolute symlink targets start
 * there, ".." stops there, and a path never leaves the namespace.
 *
 * Locations returned are held (their node has a reference): release with release().
 */
import {
  MAX_SYMLINKS,
  PATH_MAX,
  Walker,
  checkPath,
  crossMounts as crossPlaceMounts,
  holdPlace,
  pathBytes,
  releasePlace,
  resolveAt as resolvePlaceAt,
  type Credentials,
  type PathArg,
  type WalkResult as PlaceWalkResult,
} from '@erofs-js/vfs';
import type { Location, Mount } from './namespace.js';

export { PATH_MAX, checkPath, pathBytes, type PathArg };
/** The 40-link limit (Linux's MAXSYMLINKS). */
export const MAXSYMLINKS = MAX_SYMLINKS;

/** One resolution over the namespace's mounts (its symlink budget is shared by every walk it makes). */
export class Resolver extends Walker<Mount> {}

export type WalkResult = PlaceWalkResult<Mount>;

/** Takes a reference on a location's node. */
export function holdLoc(loc: Location): Location {
  return holdPlace(loc);
}

/** Drops the reference a held location carries. */
export function release(loc: Location): void {
  releasePlace(loc);
}

/** While a mount covers the location, moves to the root of the newest one. Consumes and returns a held location. */
export function crossMounts(loc: Location): Location {
  return crossPlaceMounts(loc);
}

export interface ResolveOptions {
  /** Follow a final symlink (default true). */
  follow?: boolean;
  /** The result must be a directory. */
  directory?: boolean;
  /** Where a relative path starts (default: the root). Not consumed. */
  at?: Location;
  /** An empty path names `at` itself (AT_EMPTY_PATH). */
  emptyPath?: boolean;
}

/**
 * Resolves `path` for `creds` with `root` as the task root. The result is held: the
 * caller releases it with release().
 */
export function resolve(root: Location, path: PathArg, creds: Credentials, options: ResolveOptions = {}): Location {
  return resolveAt(root, pathBytes(path), creds, options.at ?? root, options.follow ?? true, options.directory ?? false, options.emptyPath ?? false);
}

/** resolve() with its options spelled out: what the syscall path calls (no options object per call). */
export function resolveAt(root: Location, bytes: Uint8Array, creds: Credentials, at: Location, follow: boolean, directory: boolean, emptyPath: boolean): Location {
  return resolvePlaceAt(root, bytes, creds, at, follow, directory, emptyPath);
}
