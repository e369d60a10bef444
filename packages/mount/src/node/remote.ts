/**
 * Images that live elsewhere: `{ url, headers? }` image refs opened as RangeSources (HTTP
 * Range requests from a worker thread, see @erofs-js/erofs range-source.ts). Node-only,
 * host side.
 *
 * `s3://bucket/key` is turned here into a presigned HTTPS (or endpoint) URL with the
 * host's credentials (s3.ts); the credentials and any request headers stay in this
 * process: what is recorded (mountinfo, checkpoints) is the image's name, the URL without
 * query or user info, and its pinned identity.
 */
import { displayUrl, type RangeSource, type RemoteIdentity } from '@erofs-js/erofs';
import { openRangeSource, type NodeRangeSourceOptions } from '@erofs-js/erofs/node';
import { SysError, toSysError } from '@erofs-js/vfs';
import { isRemoteRef, type RemoteImageRef } from '../image-ref.js';
import { presignS3, s3ConfigFromEnv, type S3Config } from './s3.js';

export { isRemoteRef, type RemoteImageRef };

export interface RemoteOptions extends NodeRangeSourceOptions {
  /** Credentials and endpoint for s3:// URLs (default: from AWS_* environment variables). */
  s3?: S3Config;
}

/** Opens a remote image; errors are SysErrors (EINVAL for a bad URL, EIO with the cause otherwise). */
export async function openRemoteImage(ref: RemoteImageRef, options: RemoteOptions = {}): Promise<{ source: RangeSource; name: string; remote: RemoteIdentity }> {
  let url = ref.url;
  let name = ref.name;
  const s3 = /^s3:\/\/([^/]+)\/(.+)$/.exec(url);
  if (s3) {
    name ??= url;
    const cfg = options.s3 ?? s3ConfigFromEnv();
    if (!cfg) throw new SysError('EINVAL', `${url}: no S3 credentials on the host (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)`);
    url = presignS3(cfg, s3[1], s3[2]);
  } else if (!/^https?:\/\/[^/]/i.test(url)) {
    throw new SysError('EINVAL', 'an image URL must be http://, https:// or s3://bucket/key');
  }
  name ??= displayUrl(url);
  try {
    const source = await openRangeSource(url, { ...options, headers: ref.headers, name });
    return { source, name, remote: source.identity };
  } catch (e) {
    throw toSysError(e);
  }
}

/**
 * The image of an RPC mount request: `image` (a host path) or `url` with optional
 * `headers` ("Name: value" strings), exactly one of the two (EINVAL otherwise).
 */
export function imageFromRpc(p: { image?: unknown; url?: unknown; headers?: unknown }): string | RemoteImageRef {
  if ((p.image === undefined) === (p.url === undefined)) throw new SysError('EINVAL', 'a mount names exactly one of image (a host path) and url');
  if (p.url === undefined) return p.image as string;
  const headers: Record<string, string> = {};
  for (const h of (p.headers as string[] | undefined) ?? []) {
    const i = h.indexOf(':');
    if (i <= 0) throw new SysError('EINVAL', 'a header is "Name: value"');
    headers[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim();
  }
  return { url: p.url as string, headers };
}
