/*
 * LZ4 block test vectors and benchmark helper, made with the real liblz4.
 * Build: gcc -O2 -o lz4-vectors tools/codecs/lz4-vectors.c -llz4   (needs liblz4-dev)
 *
 *   lz4-vectors vectors OUTDIR ORIGDIR
 *       Compresses deterministic generated inputs with several liblz4 compressors. Writes
 *       OUTDIR/NAME.lz4 (the raw block) and ORIGDIR/NAME.bin (the original), and prints one
 *       tab-separated line per vector:
 *       name kind seed genLength start end compressor compressedSize
 *       lz4-vectors.ts turns that into fixtures/codecs/lz4/index.json.
 *   lz4-vectors compress MODE SIZE IN OUT
 *       Cuts IN into blocks and writes OUT as records of [u32 rawLen][u32 compLen][block]
 *       (little endian). MODE default or hcN: SIZE is the uncompressed block size.
 *       MODE destsize or hcdestN: SIZE is the compressed budget, filled the way mkfs.erofs
 *       fills a pcluster (LZ4_compress_destSize / LZ4_compress_HC_destSize).
 *   lz4-vectors bench FILE MILLISECONDS
 *       Decodes every block of FILE (as written by compress) with LZ4_decompress_safe in a
 *       loop for about MILLISECONDS and prints: MiB/s of decoded output, bytes, passes.
 *
 * The generators below are mirrored in packages/erofs/src/codecs/lz4.test.ts; the two must
 * produce the same bytes (the test checks each against the sha256 in index.json).
 */
#include <lz4.h>
#include <lz4hc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- deterministic generators ---------------------------------------------------- */

/* xorshift32: small, exact in both C and JavaScript (>>> 0), never zero for a nonzero seed. */
static uint32_t rng;
static uint32_t next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 17;
  rng ^= rng << 5;
  return rng;
}

static const char *const WORDS[32] = {
    "the",    "of",      "and",    "to",       "in",        "is",         "file",   "system",
    "block",  "inode",   "compressed", "data", "image",     "read",       "only",   "erofs",
    "lz4",    "cluster", "page",   "kernel",   "offset",    "length",     "match",  "literal",
    "stream", "decoder", "buffer", "output",   "input",     "extent",     "directory", "superblock"};

/* Words from a 32-word vocabulary, separated by spaces, commas and sentence ends. */
static void fill_text(uint8_t *buf, size_t n) {
  size_t pos = 0;
  while (pos < n) {
    const char *w = WORDS[next() >> 27];
    for (size_t i = 0; w[i] && pos < n; i++) buf[pos++] = (uint8_t)w[i];
    uint32_t r = next() >> 28;
    const char *sep = r == 0 ? ".\n" : r == 1 ? ", " : " ";
    for (size_t i = 0; sep[i] && pos < n; i++) buf[pos++] = (uint8_t)sep[i];
  }
}

/* Byte runs, short random stretches, short periodic patterns, far copies (up to 64 KiB back). */
static void fill_runs(uint8_t *buf, size_t n) {
  size_t pos = 0;
  while (pos < n) {
    uint32_t r = next();
    uint32_t kind = r >> 30;
    size_t len = 1 + ((r >> 16) & 0x1ff);
    if (kind == 1) len = 1 + (len & 31);
    if (len > n - pos) len = n - pos;
    if (kind == 0) {
      memset(buf + pos, (int)(r & 0xff), len);
    } else if (kind == 1) {
      for (size_t i = 0; i < len; i++) buf[pos + i] = (uint8_t)(next() >> 24);
    } else if (kind == 2) {
      uint8_t pat[9];
      size_t p = 2 + (r & 7);
      for (size_t i = 0; i < p; i++) pat[i] = (uint8_t)(next() >> 24);
      for (size_t i = 0; i < len; i++) buf[pos + i] = pat[i % p];
    } else {
      size_t d = 1 + (next() & 0xffff);
      if (pos == 0) {
        memset(buf, 0, len);
      } else {
        if (d > pos) d = pos;
        for (size_t i = 0; i < len; i++) buf[pos + i] = buf[pos + i - d];
      }
    }
    pos += len;
  }
}

/* Text and random stretches of up to 1 KiB alternating at random: long literal runs. */
static void fill_mixed(uint8_t *buf, size_t n) {
  size_t pos = 0;
  while (pos < n) {
    uint32_t r = next();
    size_t len = 1 + ((r >> 8) & 1023);
    if (len > n - pos) len = n - pos;
    if (r & 1) {
      fill_text(buf + pos, len);
    } else {
      for (size_t i = 0; i < len; i++) buf[pos + i] = (uint8_t)(next() >> 24);
    }
    pos += len;
  }
}

static void generate(const char *kind, uint32_t seed, uint8_t *buf, size_t n) {
  rng = seed;
  if (!strcmp(kind, "zeros")) memset(buf, 0, n);
  else if (!strcmp(kind, "random")) for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)(next() >> 24);
  else if (!strcmp(kind, "text")) fill_text(buf, n);
  else if (!strcmp(kind, "runs")) fill_runs(buf, n);
  else if (!strcmp(kind, "mixed")) fill_mixed(buf, n);
  else { fprintf(stderr, "unknown kind %s\n", kind); exit(2); }
}

/* ---- helpers ------------------------------------------------------------------------ */

static void write_file(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f)) { perror(path); exit(1); }
}

static uint8_t *read_file(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) { perror(path); exit(1); }
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *buf = malloc(len ? (size_t)len : 1);
  if ((size_t)len != fread(buf, 1, (size_t)len, f)) { perror(path); exit(1); }
  fclose(f);
  *n = (size_t)len;
  return buf;
}

static void put32(uint8_t *p, uint32_t v) { p[0] = v; p[1] = v >> 8; p[2] = v >> 16; p[3] = v >> 24; }
static uint32_t get32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }

/* Compresses src[0..n) with the named compressor. For the destSize kinds `n` is in/out:
 * given the input available, it returns the bytes consumed. Returns the block size. */
static int compress_one(const char *comp, const uint8_t *src, int *n, uint8_t *dst, int cap, int budget) {
  static LZ4_streamHC_t hc;
  if (!strcmp(comp, "default")) return LZ4_compress_default((const char *)src, (char *)dst, *n, cap);
  if (!strcmp(comp, "fast8")) return LZ4_compress_fast((const char *)src, (char *)dst, *n, cap, 8);
  if (!strcmp(comp, "destsize")) return LZ4_compress_destSize((const char *)src, (char *)dst, n, budget);
  if (!strncmp(comp, "hcdest", 6)) {
    return LZ4_compress_HC_destSize(&hc, (const char *)src, (char *)dst, n, budget, atoi(comp + 6));
  }
  if (!strncmp(comp, "hc", 2)) return LZ4_compress_HC((const char *)src, (char *)dst, *n, cap, atoi(comp + 2));
  fprintf(stderr, "unknown compressor %s\n", comp);
  exit(2);
}

/* ---- vectors ------------------------------------------------------------------------ */

static const char *outdir, *origdir;

static void emit(const char *name, const char *kind, uint32_t seed, size_t genLen, size_t start,
                 size_t end, const char *comp, const uint8_t *block, int blockLen, const uint8_t *orig) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.lz4", outdir, name);
  write_file(path, block, (size_t)blockLen);
  snprintf(path, sizeof path, "%s/%s.bin", origdir, name);
  write_file(path, orig, end - start);
  printf("%s\t%s\t%u\t%zu\t%zu\t%zu\t%s\t%d\n", name, kind, seed, genLen, start, end, comp, blockLen);
}

/* One whole-input vector per compressor. */
static void whole(const char *kind, uint32_t seed, size_t n, const char *const *comps) {
  uint8_t *src = malloc(n + 1);
  int cap = LZ4_compressBound((int)n);
  uint8_t *dst = malloc((size_t)cap + 1);
  generate(kind, seed, src, n);
  for (; *comps; comps++) {
    int len = (int)n;
    int c = compress_one(*comps, src, &len, dst, cap, 0);
    if (c <= 0) { fprintf(stderr, "%s %s %zu failed\n", *comps, kind, n); exit(1); }
    char name[256];
    snprintf(name, sizeof name, "%s-%zu-%s", kind, n, *comps);
    emit(name, kind, seed, n, 0, n, *comps, dst, c, src);
  }
  free(src);
  free(dst);
}

/* Successive pclusters of at most `budget` compressed bytes, as mkfs.erofs cuts a file. */
static void pclusters(const char *kind, uint32_t seed, size_t n, const char *comp, int budget, int count) {
  uint8_t *src = malloc(n);
  uint8_t *dst = malloc((size_t)budget);
  generate(kind, seed, src, n);
  size_t pos = 0;
  for (int i = 0; i < count && pos < n; i++) {
    int len = (int)(n - pos);
    int c = compress_one(comp, src + pos, &len, dst, budget, budget);
    if (c <= 0 || len <= 0) { fprintf(stderr, "%s %s failed\n", comp, kind); exit(1); }
    char name[256];
    snprintf(name, sizeof name, "%s-%zu-%s-b%d-p%d", kind, n, comp, budget, i);
    emit(name, kind, seed, n, pos, pos + (size_t)len, comp, dst, c, src + pos);
    pos += (size_t)len;
  }
  free(src);
  free(dst);
}

static int cmd_vectors(void) {
  static const char *const all[] = {"default", "fast8", "hc3", "hc9", "hc12", NULL};
  static const char *const two[] = {"default", "hc9", NULL};
  static const char *const one[] = {"default", NULL};
  static const char *const kinds[] = {"zeros", "random", "text", "runs", "mixed"};
  static const size_t small[] = {0, 1, 4, 5, 12, 13, 15, 16, 17, 19, 64, 255, 256, 270, 4095, 4096, 4097};
  for (size_t k = 0; k < 5; k++) {
    uint32_t seed = 0x9e3779b9u ^ (uint32_t)(k + 1);
    /* Random data compresses to one literal run whatever the compressor: two suffice. */
    int rnd = !strcmp(kinds[k], "random");
    for (size_t i = 0; i < sizeof small / sizeof small[0]; i++) {
      whole(kinds[k], seed, small[i], rnd && small[i] > 256 ? two : all);
    }
    whole(kinds[k], seed, 12288, rnd ? one : all);
    whole(kinds[k], seed, 65536, rnd ? one : !strcmp(kinds[k], "zeros") ? all : two);
  }
  /* 1 MiB only where it compresses well, to keep the fixtures small. */
  whole("zeros", 0x9e3779b9u ^ 1, 1 << 20, all);
  whole("runs", 0x9e3779b9u ^ 4, 1 << 20, one);
  /* pcluster-style: fill a 4 KiB compressed budget, several pclusters in a row. */
  for (size_t k = 0; k < 5; k++) {
    uint32_t seed = 0x9e3779b9u ^ (uint32_t)(k + 1);
    pclusters(kinds[k], seed, 256 << 10, "destsize", 4096, 3);
    pclusters(kinds[k], seed, 256 << 10, "hcdest9", 4096, 2);
  }
  pclusters("text", 0x9e3779b9u ^ 3, 256 << 10, "hcdest12", 4096, 1);
  pclusters("mixed", 0x9e3779b9u ^ 5, 256 << 10, "destsize", 16384, 1);
  return 0;
}

/* ---- benchmark helpers ------------------------------------------------------------ */

static int cmd_compress(const char *mode, int size, const char *in, const char *out) {
  size_t n;
  uint8_t *src = read_file(in, &n);
  int dest = !strcmp(mode, "destsize") || !strncmp(mode, "hcdest", 6);
  int cap = LZ4_compressBound(dest ? 1 << 24 : size);
  uint8_t *dst = malloc((size_t)cap + 8);
  FILE *f = fopen(out, "wb");
  if (!f) { perror(out); return 1; }
  for (size_t pos = 0; pos < n;) {
    int len = dest ? (int)(n - pos < (1u << 24) ? n - pos : 1u << 24) : (int)(n - pos < (size_t)size ? n - pos : (size_t)size);
    int c = compress_one(mode, src + pos, &len, dst + 8, cap, size);
    if (c <= 0 || len <= 0) { fprintf(stderr, "compress failed at %zu\n", pos); return 1; }
    put32(dst, (uint32_t)len);
    put32(dst + 4, (uint32_t)c);
    fwrite(dst, 1, (size_t)c + 8, f);
    pos += (size_t)len;
  }
  fclose(f);
  return 0;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t); /* CPU time, as the JS side measures */
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmd_bench(const char *path, int ms) {
  size_t n;
  uint8_t *buf = read_file(path, &n);
  uint8_t *out = malloc(1 << 24);
  size_t total = 0;
  for (size_t p = 0; p + 8 <= n; p += 8 + get32(buf + p + 4)) total += get32(buf + p);
  long passes = 0;
  double t0 = now(), t;
  do {
    for (size_t p = 0; p + 8 <= n; p += 8 + get32(buf + p + 4)) {
      int raw = (int)get32(buf + p), c = (int)get32(buf + p + 4);
      if (LZ4_decompress_safe((const char *)buf + p + 8, (char *)out, c, raw) != raw) {
        fprintf(stderr, "decode failed at %zu\n", p);
        return 1;
      }
    }
    passes++;
    t = now() - t0;
  } while (t * 1000 < ms);
  printf("%.1f\t%zu\t%ld\n", (double)total * passes / t / 1048576, total, passes);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 4 && !strcmp(argv[1], "vectors")) {
    outdir = argv[2];
    origdir = argv[3];
    return cmd_vectors();
  }
  if (argc == 6 && !strcmp(argv[1], "compress")) return cmd_compress(argv[2], atoi(argv[3]), argv[4], argv[5]);
  if (argc == 4 && !strcmp(argv[1], "bench")) return cmd_bench(argv[2], atoi(argv[3]));
  fprintf(stderr, "usage: lz4-vectors vectors OUTDIR ORIGDIR | compress MODE SIZE IN OUT | bench FILE MS\n");
  return 2;
}
