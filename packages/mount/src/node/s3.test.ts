import { describe, expect, it } from 'vitest';
import { presignS3, s3ConfigFromEnv } from './s3.js';

describe('presignS3', () => {
  it('matches the presigned URL of AWS\'s SigV4 query-string example', () => {
    // The documented example: GET examplebucket/test.txt, 2013-05-24, 86400 s, us-east-1.
    const url = presignS3(
      { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', expiresSeconds: 86400 },
      'examplebucket',
      'test.txt',
      new Date(Date.UTC(2013, 4, 24)),
    );
    expect(url).toBe(
      'https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404',
    );
  });

  it('uses path-style URLs on an endpoint and encodes keys', () => {
    const url = presignS3({ accessKeyId: 'A', secretAccessKey: 'S', endpoint: 'http://127.0.0.1:9000', region: 'eu-west-1' }, 'b', 'dir/a b+c.erofs', new Date(0));
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:9000\/b\/dir\/a%20b%2Bc\.erofs\?X-Amz-Algorithm=.*%2Feu-west-1%2Fs3%2F.*&X-Amz-Signature=[0-9a-f]{64}$/);
  });

  it('reads credentials from the environment', () => {
    expect(s3ConfigFromEnv({})).toBeUndefined();
    expect(s3ConfigFromEnv({ AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 's', AWS_REGION: 'r', AWS_ENDPOINT_URL_S3: 'http://e' })).toEqual({ accessKeyId: 'a', secretAccessKey: 's', region: 'r', endpoint: 'http://e', sessionToken: undefined });
  });
});
