/**
 * Presigned GET URLs for S3 and S3-compatible stores, made on the host: AWS Signature
 * Version 4 in the query string (the "presigned URL" form), signing only the Host header,
 * so that Range and If-Match can be added to each request freely. The URL expires
 * (default 1 hour); the secret never leaves this process.
 *
 * Reference: AWS S3 API "Authenticating Requests: Using Query Parameters (AWS Signature
 * Version 4)".
 */
import { createHash, createHmac } from 'node:crypto';

export interface S3Config {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** Default us-east-1. */
  region?: string;
  /**
   * An S3-compatible endpoint (http://127.0.0.1:4569, https://minio.example): path-style
   * URLs (endpoint/bucket/key). Without it, AWS virtual-hosted URLs.
   */
  endpoint?: string;
  /** Lifetime of a URL in seconds (default 3600, at most 7 days). */
  expiresSeconds?: number;
}

/** Credentials from the standard environment variables, or undefined. */
export function s3ConfigFromEnv(env: NodeJS.ProcessEnv = process.env): S3Config | undefined {
  if (!env.AWS_ACCESS_KEY_ID || !env.AWS_SECRET_ACCESS_KEY) return undefined;
  return {
    accessKeyId: env.AWS_ACCESS_KEY_ID,
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
    sessionToken: env.AWS_SESSION_TOKEN,
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION,
    endpoint: env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL,
  };
}

/** RFC 3986 encoding as SigV4 wants it (keeps only A-Z a-z 0-9 - _ . ~; "/" kept in paths). */
function enc(s: string, keepSlash = false): string {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
    .replace(keepSlash ? /%2F/g : /$^/, '/');
}

const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

/** A presigned URL (GET unless told) for s3://bucket/key, valid from `now` for cfg.expiresSeconds. */
export function presignS3(cfg: S3Config, bucket: string, key: string, now = new Date(), method = 'GET'): string {
  const region = cfg.region ?? 'us-east-1';
  const host = region === 'us-east-1' ? `${bucket}.s3.amazonaws.com` : `${bucket}.s3.${region}.amazonaws.com`;
  const base = new URL(cfg.endpoint ?? `https://${host}`);
  const path = (cfg.endpoint ? `${base.pathname.replace(/\/$/, '')}/${enc(bucket)}` : '') + '/' + enc(key, true);
  const amzDate = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const scope = `${day}/${region}/s3/aws4_request`;
  const query: [string, string][] = [
    ['X-Amz-Algorithm', 'AWS4-HMAC-SHA256'],
    ['X-Amz-Credential', `${cfg.accessKeyId}/${scope}`],
    ['X-Amz-Date', amzDate],
    ['X-Amz-Expires', String(Math.min(cfg.expiresSeconds ?? 3600, 604800))],
    ['X-Amz-SignedHeaders', 'host'],
  ];
  if (cfg.sessionToken) query.push(['X-Amz-Security-Token', cfg.sessionToken]);
  const qs = query
    .map(([k, v]) => [enc(k), enc(v)])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const canonical = [method, path, qs, `host:${base.host}`, '', 'host', 'UNSIGNED-PAYLOAD'].join('\n');
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonical).digest('hex')].join('\n');
  const kDate = hmac('AWS4' + cfg.secretAccessKey, day);
  const signature = createHmac('sha256', hmac(hmac(hmac(kDate, region), 's3'), 'aws4_request')).update(toSign).digest('hex');
  return `${base.protocol}//${base.host}${path}?${qs}&X-Amz-Signature=${signature}`;
}
