/*
 * Decodes LZ4 pclusters with liblz4, the library the kernel's LZ4 decompressor comes from,
 * and compares each with the bytes it must give. Used by tools/mkfs-check.ts on the
 * pclusters written into the builder's images (zero padding already stripped), with the
 * expected bytes taken from the source tree, not from our decoder.
 *
 *   gcc -O2 -o lz4-pclusters tools/lz4-pclusters.c -llz4
 *   lz4-pclusters RECORDS     prints "<records> <bad>"; exit 1 if any is bad
 *   lz4-pclusters -V          prints liblz4's version
 *
 * RECORDS: a sequence of u32 LE stream length, u32 LE decoded length, u32 LE flags (bit 0:
 * the stream may hold more than the decoded length, decode a prefix as the kernel does with
 * LZ4_decompress_safe_partial), the stream, the expected bytes.
 */
#include <lz4.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s RECORDS\n", argv[0]);
    return 2;
  }
  if (strcmp(argv[1], "-V") == 0) {
    printf("%s\n", LZ4_versionString());
    return 0;
  }
  FILE *f = fopen(argv[1], "rb");
  if (!f) {
    perror(argv[1]);
    return 2;
  }
  uint32_t h[3];
  long n = 0, bad = 0;
  while (fread(h, 4, 3, f) == 3) {
    char *in = malloc(h[0] + 1), *want = malloc(h[1] + 1), *out = malloc(h[1] + 1);
    if (!in || !want || !out) return 2;
    if (fread(in, 1, h[0], f) != h[0] || fread(want, 1, h[1], f) != h[1]) {
      fprintf(stderr, "record %ld: short\n", n);
      return 2;
    }
    int r = (h[2] & 1) ? LZ4_decompress_safe_partial(in, out, (int)h[0], (int)h[1], (int)h[1])
                       : LZ4_decompress_safe(in, out, (int)h[0], (int)h[1]);
    if (r != (int)h[1] || memcmp(out, want, h[1]) != 0) {
      if (bad < 5) fprintf(stderr, "record %ld: liblz4 returned %d for %u expected bytes%s\n", n, r, h[1], r == (int)h[1] ? " (different bytes)" : "");
      bad++;
    }
    n++;
    free(in);
    free(want);
    free(out);
  }
  printf("%ld %ld\n", n, bad);
  return bad != 0;
}
