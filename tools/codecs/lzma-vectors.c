/*
 * MicroLZMA test vectors and native baseline for erofs-js.
 *
 * The streams come from liblzma's own MicroLZMA encoder (the one mkfs.erofs uses), so the
 * TypeScript decoder is tested against the real thing rather than against itself. Inputs
 * come from a small deterministic generator that packages/erofs/src/codecs/lzma.test.ts
 * reimplements, so only the compressed streams are committed.
 *
 * Build:   gcc -O2 -o /tmp/lzma-vectors tools/codecs/lzma-vectors.c -llzma   (liblzma >= 5.3)
 * Vectors: /tmp/lzma-vectors fixtures fixtures/codecs/lzma
 * Bench:   /tmp/lzma-vectors bench KIND|file:PATH SEED SIZE PCLUSTER DICT PRESET OUTFILE SECONDS
 *          (used by tools/bench/lzma.ts: writes the streams it decodes, then times
 *          liblzma's MicroLZMA decoder on them and prints one JSON line)
 * Warm-up: /tmp/lzma-vectors warmup   (the stream embedded in lzma.ts, as base64)
 */
#include <errno.h>
#include <lzma.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* ---- deterministic input generator (mirrored in lzma.test.ts and tools/bench/lzma.ts) ---- */

/* mulberry32: tiny, 32-bit only, easy to reproduce exactly in JS with Math.imul. */
static uint32_t rng_next(uint32_t *s) {
	*s += 0x6D2B79F5u;
	uint32_t t = *s;
	t = (t ^ (t >> 15)) * (t | 1u);
	t ^= t + (t ^ (t >> 7)) * (t | 61u);
	return t ^ (t >> 14);
}

enum { K_ZEROS, K_RANDOM, K_RUNS, K_TEXT, K_BINARY, K_MIXED };
static const char *const KIND_NAMES[] = {"zeros", "random", "runs", "text", "binary", "mixed"};

static const char *const WORDS[64] = {
	"the", "of", "and", "to", "in", "is", "that", "for", "it", "as", "was", "with", "be",
	"by", "on", "not", "he", "this", "are", "or", "his", "from", "at", "which", "but",
	"have", "an", "had", "they", "you", "were", "their", "one", "all", "we", "can", "her",
	"has", "there", "been", "if", "more", "when", "will", "would", "who", "so", "no",
	"inode", "block", "extent", "cluster", "superblock", "directory", "compressed",
	"filesystem", "read", "only", "kernel", "mount", "image", "xattr", "symlink", "device",
};

static void fill(int kind, uint32_t *s, uint8_t *buf, size_t a, size_t b) {
	size_t i = a;
	switch (kind) {
	case K_ZEROS:
		memset(buf + a, 0, b - a);
		break;
	case K_RANDOM:
		for (; i < b; i++) buf[i] = (uint8_t)rng_next(s);
		break;
	case K_RUNS:
		while (i < b) {
			uint32_t r = rng_next(s);
			size_t n = 1 + ((r >> 8) & 63);
			while (n-- > 0 && i < b) buf[i++] = (uint8_t)r;
		}
		break;
	case K_TEXT:
		while (i < b) {
			uint32_t r = rng_next(s);
			const char *w = WORDS[r & 63];
			size_t start = i;
			for (; *w && i < b; w++) buf[i++] = (uint8_t)*w;
			if (((r >> 9) & 15) == 0 && start < i) buf[start] -= 32; /* capitalised */
			if (i < b) buf[i++] = ((r >> 6) & 7) == 0 ? '\n' : ' ';
		}
		break;
	case K_BINARY: {
		/* 16-byte records: counter, hashed counter, 4 random 2-bit bytes, flags word */
		uint32_t c = rng_next(s);
		while (i < b) {
			uint8_t rec[16];
			uint32_t h = c * 2654435761u, f = 0x00010000u | (c & 0xff);
			for (int k = 0; k < 4; k++) {
				rec[k] = (uint8_t)(c >> (8 * k));
				rec[4 + k] = (uint8_t)(h >> (8 * k));
				rec[8 + k] = (uint8_t)(rng_next(s) & 3);
				rec[12 + k] = (uint8_t)(f >> (8 * k));
			}
			for (int k = 0; k < 16 && i < b; k++) buf[i++] = rec[k];
			c++;
		}
		break;
	}
	case K_MIXED:
		while (i < b) {
			uint32_t r = rng_next(s);
			size_t n = 256 + ((r >> 8) & 4095);
			size_t end = i + n < b ? i + n : b;
			uint32_t k = r % 6;
			if (k == 5) {
				/* repeat an earlier stretch: long-distance matches, crosses dict limits */
				if (i == a) {
					fill(K_TEXT, s, buf, i, end);
				} else {
					size_t src = a + rng_next(s) % (uint32_t)(i - a);
					for (; i < end; i++) buf[i] = buf[src++];
				}
			} else {
				fill((int)k, s, buf, i, end);
			}
			i = end;
		}
		break;
	}
}

static uint8_t *generate(int kind, uint32_t seed, size_t len) {
	uint8_t *buf = malloc(len ? len : 1);
	if (!buf) abort();
	uint32_t s = seed;
	fill(kind, &s, buf, 0, len);
	return buf;
}

static int kind_of(const char *name) {
	for (int k = 0; k <= K_MIXED; k++)
		if (!strcmp(name, KIND_NAMES[k])) return k;
	fprintf(stderr, "unknown kind %s\n", name);
	exit(2);
}

/* ---- SHA-256 (FIPS 180-4), for the index only ---- */

static const uint32_t SHA_K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
	0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
	0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
	0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
	0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
	0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
	0xc67178f2,
};
#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha_block(uint32_t h[8], const uint8_t *p) {
	uint32_t w[64];
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
	for (int i = 0; i < 64; i++) {
		uint32_t t1 = hh + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) +
			      SHA_K[i] + w[i];
		uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		hh = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
	}
	h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

static void sha256_hex(const uint8_t *data, size_t len, char out[65]) {
	uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
			 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
	size_t i = 0;
	for (; i + 64 <= len; i += 64) sha_block(h, data + i);
	uint8_t tail[128] = {0};
	size_t rest = len - i;
	memcpy(tail, data + i, rest);
	tail[rest] = 0x80;
	size_t tl = rest + 9 <= 64 ? 64 : 128;
	uint64_t bits = (uint64_t)len * 8;
	for (int k = 0; k < 8; k++) tail[tl - 1 - k] = (uint8_t)(bits >> (8 * k));
	sha_block(h, tail);
	if (tl == 128) sha_block(h, tail + 64);
	for (int k = 0; k < 8; k++) sprintf(out + 8 * k, "%08x", h[k]);
}

/* ---- MicroLZMA via liblzma ---- */

struct params {
	uint32_t preset; /* 0..9, optionally | LZMA_PRESET_EXTREME */
	uint32_t dict;
	int lc, lp, pb;  /* -1: keep the preset's value */
};

/* Encodes as much of src as fits in cap bytes (the way mkfs.erofs fills a pcluster).
 * Returns the compressed size; *used gets the number of input bytes it covers. */
static size_t mlzma_encode(const struct params *p, const uint8_t *src, size_t len, uint8_t *dst,
			   size_t cap, size_t *used) {
	lzma_options_lzma opt;
	if (lzma_lzma_preset(&opt, p->preset)) abort();
	opt.dict_size = p->dict;
	if (p->lc >= 0) opt.lc = (uint32_t)p->lc;
	if (p->lp >= 0) opt.lp = (uint32_t)p->lp;
	if (p->pb >= 0) opt.pb = (uint32_t)p->pb;
	lzma_stream strm = LZMA_STREAM_INIT;
	lzma_ret r = lzma_microlzma_encoder(&strm, &opt);
	if (r != LZMA_OK) {
		fprintf(stderr, "microlzma_encoder init: %d\n", r);
		exit(1);
	}
	strm.next_in = src;
	strm.avail_in = len;
	strm.next_out = dst;
	strm.avail_out = cap;
	r = lzma_code(&strm, LZMA_FINISH);
	if (r != LZMA_STREAM_END) {
		fprintf(stderr, "microlzma encode: %d\n", r);
		exit(1);
	}
	*used = (size_t)strm.total_in;
	size_t out = (size_t)strm.total_out;
	lzma_end(&strm);
	return out;
}

/* Decodes one stream with liblzma; exact = the size is known and trailing checks apply. */
static int mlzma_decode(lzma_stream *strm, const uint8_t *in, size_t in_len, uint8_t *out,
			size_t out_len, uint32_t dict, int exact) {
	if (lzma_microlzma_decoder(strm, in_len, out_len, exact, dict) != LZMA_OK) return -1;
	strm->next_in = in;
	strm->avail_in = in_len;
	strm->next_out = out;
	strm->avail_out = out_len;
	lzma_ret r = lzma_code(strm, LZMA_FINISH);
	return (r == LZMA_STREAM_END && strm->avail_out == 0) ? 0 : -1;
}

/* ---- fixtures ---- */

static FILE *index_f;
static const char *outdir;
static int n_vectors;
static size_t total_bytes;

/* Encodes a whole input (or, with cap > 0, a prefix that fits in cap bytes starting at
 * offset `off` of the generated input), checks liblzma decodes it back, writes it out. */
static size_t emit(const char *name, int kind, uint32_t seed, size_t gen_len, size_t off,
		   size_t cap, const struct params *p) {
	uint8_t *src = generate(kind, seed, gen_len);
	size_t len = gen_len - off;
	size_t room = cap ? cap : len + len / 2 + 64;
	uint8_t *dst = malloc(room);
	size_t used;
	size_t clen = mlzma_encode(p, src + off, len, dst, room, &used);
	if (!cap && used != len) {
		fprintf(stderr, "%s: whole encode covered %zu of %zu\n", name, used, len);
		exit(1);
	}
	uint8_t *back = malloc(used ? used : 1);
	lzma_stream strm = LZMA_STREAM_INIT;
	if (mlzma_decode(&strm, dst, clen, back, used, p->dict, 1) || memcmp(back, src + off, used)) {
		fprintf(stderr, "%s: liblzma round trip failed\n", name);
		exit(1);
	}
	lzma_end(&strm);
	if (dst[0] == 0) { /* EROFS strips leading zeros: a stream may never start with one */
		fprintf(stderr, "%s: stream starts with 0x00\n", name);
		exit(1);
	}
	char path[4096], sha[65];
	snprintf(path, sizeof path, "%s/%s.mlzma", outdir, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(dst, 1, clen, f) != clen || fclose(f)) {
		perror(path);
		exit(1);
	}
	sha256_hex(src + off, used, sha);
	uint8_t props = (uint8_t)~dst[0];
	fprintf(index_f,
		"%s\n    {\"name\": \"%s\", \"file\": \"%s.mlzma\", \"kind\": \"%s\", \"seed\": %u, "
		"\"generatedLength\": %zu, \"offset\": %zu, \"length\": %zu, \"sha256\": \"%s\", "
		"\"compressedLength\": %zu, \"outLimit\": %zu, \"props\": %u, \"lc\": %u, \"lp\": %u, "
		"\"pb\": %u, \"dictSize\": %u, \"preset\": \"%u%s\"}",
		n_vectors ? "," : "", name, name, KIND_NAMES[kind], seed, gen_len, off, used, sha,
		clen, cap, props, props % 9, props / 9 % 5, props / 45, p->dict,
		p->preset & LZMA_PRESET_LEVEL_MASK, (p->preset & LZMA_PRESET_EXTREME) ? "e" : "");
	n_vectors++;
	total_bytes += clen;
	free(src);
	free(dst);
	free(back);
	return used;
}

/* A stream that ends with an end-of-payload marker, which the MicroLZMA encoder never
 * writes: a .lzma file (lzma_alone_encoder marks the end because its header leaves the size
 * unknown) turned into MicroLZMA by dropping the 13-byte header and replacing the stream's
 * 0x00 first byte with the negated properties byte. */
static void emit_eopm(const char *name, int kind, uint32_t seed, size_t len,
		      const struct params *p) {
	uint8_t *src = generate(kind, seed, len);
	lzma_options_lzma opt;
	if (lzma_lzma_preset(&opt, p->preset)) abort();
	opt.dict_size = p->dict;
	lzma_stream strm = LZMA_STREAM_INIT;
	size_t cap = len + len / 2 + 64;
	uint8_t *dst = malloc(cap);
	if (lzma_alone_encoder(&strm, &opt) != LZMA_OK) abort();
	strm.next_in = src;
	strm.avail_in = len;
	strm.next_out = dst;
	strm.avail_out = cap;
	if (lzma_code(&strm, LZMA_FINISH) != LZMA_STREAM_END) abort();
	size_t total = (size_t)strm.total_out;
	lzma_end(&strm);
	if (total < 13 + 5 || dst[13] != 0) abort();
	uint8_t props = dst[0];
	uint8_t *ml = dst + 13;
	size_t clen = total - 13;
	ml[0] = (uint8_t)~props;
	char path[4096], sha[65];
	snprintf(path, sizeof path, "%s/%s.mlzma", outdir, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(ml, 1, clen, f) != clen || fclose(f)) {
		perror(path);
		exit(1);
	}
	sha256_hex(src, len, sha);
	fprintf(index_f,
		",\n    {\"name\": \"%s\", \"file\": \"%s.mlzma\", \"kind\": \"%s\", \"seed\": %u, "
		"\"generatedLength\": %zu, \"offset\": 0, \"length\": %zu, \"sha256\": \"%s\", "
		"\"compressedLength\": %zu, \"outLimit\": 0, \"props\": %u, \"lc\": %u, \"lp\": %u, "
		"\"pb\": %u, \"dictSize\": %u, \"preset\": \"%u\", \"endMarker\": true}",
		name, name, KIND_NAMES[kind], seed, len, len, sha, clen, props, props % 9,
		props / 9 % 5, props / 45, p->dict, p->preset);
	n_vectors++;
	total_bytes += clen;
	free(src);
	free(dst);
}

static void fixtures(void) {
	char path[4096];
	mkdir(outdir, 0755);
	snprintf(path, sizeof path, "%s/index.json", outdir);
	index_f = fopen(path, "w");
	if (!index_f) {
		perror(path);
		exit(1);
	}
	fprintf(index_f, "{\n  \"generator\": \"tools/codecs/lzma-vectors.c\",\n"
			 "  \"liblzma\": \"%s\",\n  \"vectors\": [",
		lzma_version_string());

	const struct params def = {6, 1u << 20, -1, -1, -1};
	char name[256];

	/* Sizes 1 .. 1 MiB, every kind, preset 6 with lc3 lp0 pb2 (mkfs.erofs' defaults). */
	static const size_t sizes[] = {1, 2, 3, 5, 17, 100, 1000, 4095, 4096, 4097, 16384, 65536};
	for (int k = 0; k <= K_MIXED; k++)
		for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
			if (k == K_RANDOM && sizes[i] > 16384) continue; /* incompressible: keep it small */
			snprintf(name, sizeof name, "%s-%zu", KIND_NAMES[k], sizes[i]);
			emit(name, k, 1000 + (uint32_t)i, sizes[i], 0, 0, &def);
		}
	emit("zeros-1m", K_ZEROS, 7, 1u << 20, 0, 0, &def);
	emit("runs-1m", K_RUNS, 9, 1u << 20, 0, 0, &def);

	/* Presets: hash-chain (0-3) and binary-tree (4-9) match finders, nice_len, extreme. */
	static const uint32_t presets[] = {0, 1, 3, 6 | LZMA_PRESET_EXTREME, 9,
					   9 | LZMA_PRESET_EXTREME};
	for (size_t i = 0; i < sizeof presets / sizeof *presets; i++) {
		struct params p = {presets[i], 1u << 20, -1, -1, -1};
		const char *e = (presets[i] & LZMA_PRESET_EXTREME) ? "e" : "";
		snprintf(name, sizeof name, "preset%u%s-mixed-32k", presets[i] & 15, e);
		emit(name, K_MIXED, 20 + (uint32_t)i, 32768, 0, 0, &p);
		snprintf(name, sizeof name, "preset%u%s-text-16k", presets[i] & 15, e);
		emit(name, K_TEXT, 30 + (uint32_t)i, 16384, 0, 0, &p);
	}

	/* lc/lp/pb: every lc+lp <= 4 corner liblzma accepts, pb 0..4. */
	static const int lclppb[][3] = {{0, 0, 0}, {0, 4, 4}, {4, 0, 0}, {1, 3, 1}, {2, 2, 3},
					{3, 1, 4}, {0, 0, 4}, {4, 0, 2}, {0, 2, 2}, {3, 0, 0}};
	for (size_t i = 0; i < sizeof lclppb / sizeof *lclppb; i++) {
		struct params p = {6, 1u << 20, lclppb[i][0], lclppb[i][1], lclppb[i][2]};
		snprintf(name, sizeof name, "lc%dlp%dpb%d-binary-16k", p.lc, p.lp, p.pb);
		emit(name, K_BINARY, 40 + (uint32_t)i, 16384, 0, 0, &p);
		snprintf(name, sizeof name, "lc%dlp%dpb%d-mixed-16k", p.lc, p.lp, p.pb);
		emit(name, K_MIXED, 50 + (uint32_t)i, 16384, 0, 0, &p);
	}

	/* Dictionary sizes 4 KiB .. 8 MiB over input larger than the small dictionaries. */
	static const uint32_t dicts[] = {4096, 8192, 32768, 1u << 20, 8u << 20};
	for (size_t i = 0; i < sizeof dicts / sizeof *dicts; i++) {
		struct params p = {6, dicts[i], -1, -1, -1};
		snprintf(name, sizeof name, "dict%u-mixed-64k", dicts[i]);
		emit(name, K_MIXED, 60, 65536, 0, 0, &p);
	}

	/* mkfs.erofs style: consecutive pclusters, each filled up to a fixed compressed size
	 * (dictionary 8 x pcluster as mkfs.erofs picks by default, capped at 8 MiB). */
	static const size_t pclusters[] = {4096, 16384, 65536};
	static const int pkinds[] = {K_TEXT, K_MIXED, K_RANDOM, K_BINARY};
	for (size_t i = 0; i < sizeof pclusters / sizeof *pclusters; i++)
		for (size_t j = 0; j < sizeof pkinds / sizeof *pkinds; j++) {
			size_t pc = pclusters[i];
			if ((pkinds[j] == K_RANDOM && pc > 4096) || (pkinds[j] == K_BINARY && pc > 16384))
				continue;
			struct params p = {6, (uint32_t)(pc * 8), -1, -1, -1};
			size_t gen = pc * 24, off = 0;
			int count = pc == 4096 ? 3 : pc == 16384 ? 2 : 1;
			for (int n = 0; n < count && off < gen; n++) {
				snprintf(name, sizeof name, "pcluster%zu-%s-%d", pc, KIND_NAMES[pkinds[j]], n);
				off += emit(name, pkinds[j], 70 + (uint32_t)j, gen, off, pc, &p);
			}
		}
	/* A pcluster of preset 9e with non-default lc/lp/pb, and a tiny destsize. */
	{
		struct params p = {9 | LZMA_PRESET_EXTREME, 131072, 1, 2, 0};
		emit("pcluster16384-p9e-lc1lp2pb0-mixed", K_MIXED, 90, 16384 * 24, 0, 16384, &p);
		struct params q = {6, 4096, -1, -1, -1};
		emit("pcluster64-text", K_TEXT, 91, 4096, 0, 64, &q);
	}

	emit_eopm("eopm-text-1000", K_TEXT, 92, 1000, &def);
	emit_eopm("eopm-mixed-16384", K_MIXED, 93, 16384, &def);
	emit_eopm("eopm-zeros-1", K_ZEROS, 94, 1, &def);

	fprintf(index_f, "\n  ]\n}\n");
	fclose(index_f);
	fprintf(stderr, "%d vectors, %zu bytes of streams\n", n_vectors, total_bytes);
}

/* ---- native baseline ---- */

/* CPU time of this process: steadier than wall time on a shared machine. */
static double now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void put32(FILE *f, uint32_t v) {
	uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
	fwrite(b, 1, 4, f);
}

/* Container for tools/bench/lzma.ts: u32 count, then per stream u32 clen, u32 ulen, bytes
 * (little endian). */
static void bench(int argc, char **argv) {
	if (argc != 10) {
		fprintf(stderr, "bench KIND|file:PATH SEED SIZE PCLUSTER DICT PRESET OUTFILE SECONDS\n");
		exit(2);
	}
	uint32_t seed = (uint32_t)strtoul(argv[3], 0, 0);
	size_t size = strtoul(argv[4], 0, 0), pc = strtoul(argv[5], 0, 0);
	struct params p = {(uint32_t)strtoul(argv[7], 0, 0), (uint32_t)strtoul(argv[6], 0, 0),
			   -1, -1, -1};
	double seconds = atof(argv[9]);
	uint8_t *src;
	if (!strncmp(argv[2], "file:", 5)) {
		/* real data (the first SIZE bytes of a file) instead of the generator */
		FILE *in = fopen(argv[2] + 5, "rb");
		src = malloc(size ? size : 1);
		if (!in || fread(src, 1, size, in) != size) {
			fprintf(stderr, "%s: cannot read %zu bytes\n", argv[2] + 5, size);
			exit(1);
		}
		fclose(in);
	} else {
		src = generate(kind_of(argv[2]), seed, size);
	}
	size_t cap = pc ? pc : size + size / 2 + 64;
	size_t max_streams = pc ? size : 1, n = 0, off = 0, total_c = 0;
	uint8_t **streams = calloc(max_streams, sizeof *streams);
	size_t *clens = calloc(max_streams, sizeof *clens), *ulens = calloc(max_streams, sizeof *ulens);
	while (off < size) {
		uint8_t *dst = malloc(cap);
		size_t used, clen = mlzma_encode(&p, src + off, size - off, dst, cap, &used);
		streams[n] = dst;
		clens[n] = clen;
		ulens[n] = used;
		total_c += clen;
		off += used;
		n++;
	}
	FILE *f = fopen(argv[8], "wb");
	put32(f, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		put32(f, (uint32_t)clens[i]);
		put32(f, (uint32_t)ulens[i]);
		fwrite(streams[i], 1, clens[i], f);
	}
	fclose(f);

	uint8_t *out = malloc(size);
	lzma_stream strm = LZMA_STREAM_INIT;
	/* One pass to check, then time whole passes until `seconds` elapse. */
	for (size_t i = 0, o = 0; i < n; o += ulens[i++])
		if (mlzma_decode(&strm, streams[i], clens[i], out + o, ulens[i], p.dict, 1) ||
		    memcmp(out + o, src + o, ulens[i])) {
			fprintf(stderr, "native decode mismatch\n");
			exit(1);
		}
	double t0 = now(), t;
	long passes = 0;
	do {
		for (size_t i = 0, o = 0; i < n; o += ulens[i++])
			mlzma_decode(&strm, streams[i], clens[i], out + o, ulens[i], p.dict, 1);
		passes++;
		t = now() - t0;
	} while (t < seconds);
	lzma_end(&strm);
	printf("{\"streams\": %zu, \"compressed\": %zu, \"size\": %zu, \"passes\": %ld, "
	       "\"seconds\": %.6f, \"mibps\": %.2f}\n",
	       n, total_c, size, passes, t, (double)size * passes / t / 1048576.0);
}

/* The stream embedded in packages/erofs/src/codecs/lzma.ts to warm the decoder up: 1536
 * bytes of "mixed" data, seed 3, preset 6, 4 KiB dictionary. Chosen (by scanning seeds and
 * sizes) as the smallest stream that takes every path of the decoder: matched literals,
 * short rep, rep0-3, all three length trees, all three distance codings, both copy loops.
 * Prints it as base64. */
static void warmup(void) {
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const struct params p = {6, 4096, -1, -1, -1};
	uint8_t *src = generate(K_MIXED, 3, 1536), dst[4096];
	size_t used, n = mlzma_encode(&p, src, 1536, dst, sizeof dst, &used);
	if (used != 1536) abort();
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)dst[i] << 16 | (i + 1 < n ? dst[i + 1] << 8 : 0) | (i + 2 < n ? dst[i + 2] : 0);
		putchar(b64[v >> 18]);
		putchar(b64[v >> 12 & 63]);
		putchar(i + 1 < n ? b64[v >> 6 & 63] : '=');
		putchar(i + 2 < n ? b64[v & 63] : '=');
	}
	printf("\n%zu bytes\n", n);
	free(src);
}

int main(int argc, char **argv) {
	if (argc == 2 && !strcmp(argv[1], "warmup")) {
		warmup();
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "fixtures")) {
		outdir = argv[2];
		fixtures();
		return 0;
	}
	if (argc >= 2 && !strcmp(argv[1], "bench")) {
		bench(argc, argv);
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "version")) {
		puts(lzma_version_string());
		return 0;
	}
	fprintf(stderr, "usage: %s fixtures OUTDIR | bench ... | warmup | version\n", argv[0]);
	return 2;
}
