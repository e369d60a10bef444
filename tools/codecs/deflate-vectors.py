#!/usr/bin/env python3
"""Raw DEFLATE test vectors from the real zlib (python3's zlib module, wbits=-15 and smaller).

Writes fixtures/codecs/deflate/*.deflate and index.json (output length and sha256 of the
decoded bytes, compressed length, how each stream was made). Deterministic: the inputs
come from a seeded xorshift generator, and the output only changes if zlib's encoder does.

    python3 tools/codecs/deflate-vectors.py

The corpus functions are shared with zstd-vectors.py.
"""
import hashlib
import json
import os
import sys
import zlib

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))

WORDS = (
    'the of and to in is that for it as was with be by on not he this are or his from at which '
    'but have an they you were her all she there would their we him been has when who will more '
    'no if out so said what up its about into than them can only other new some could time these '
    'two may then do first any my now such like our over man me even most made after also did '
    'many before must through back years where much your way well down should because each just '
    'those people how too little state good very make world still own see men work long get here '
    'between both life being under never day same another know while last might us great old '
    'year off come since against go came right used take three'
).split()


class Rng:
    """xorshift32; returns floats in [0, 1)."""

    def __init__(self, seed):
        self.s = (seed & 0xFFFFFFFF) or 1

    def __call__(self):
        s = self.s
        s ^= (s << 13) & 0xFFFFFFFF
        s ^= s >> 17
        s ^= (s << 5) & 0xFFFFFFFF
        self.s = s
        return s / 4294967296.0


def text(seed, n):
    """English-like lines: a skewed word distribution, punctuation, some numbers."""
    r = Rng(seed)
    out = []
    size = 0
    line = 0
    while size < n:
        w = WORDS[int((r() ** 2.2) * len(WORDS))]
        piece = w
        line += len(w) + 1
        if r() < 0.07:
            piece += '.'
        if line > 70:
            piece += '\n'
            line = 0
        else:
            piece += ' '
        if r() < 0.01:
            piece += str(int(r() * 100000)) + ' '
        out.append(piece)
        size += len(piece)
    return ''.join(out).encode()[:n]


def binary(seed, n):
    """Executable-like bytes: fixed-layout records, random runs, back-references, opcode soup."""
    r = Rng(seed)
    b = bytearray(n)
    i = 0
    ops = [0x48, 0x89, 0xE5, 0x8B, 0x45, 0xFC, 0x83, 0xC0, 0x01, 0xC3, 0xE8, 0x00]
    while i < n:
        k = r()
        if k < 0.3:
            ident = int(r() * 1000)
            for j in range(16):
                if i >= n:
                    break
                if j < 4:
                    b[i] = (ident >> (j * 8)) & 255
                elif j < 8:
                    b[i] = 0
                elif j < 12:
                    b[i] = (i >> ((j - 8) * 8)) & 255
                else:
                    b[i] = 0x90
                i += 1
        elif k < 0.5:
            for _ in range(8 + int(r() * 40)):
                if i >= n:
                    break
                b[i] = int(r() * 256)
                i += 1
        elif k < 0.7:
            back = 1 + int(r() * min(i, 4000)) if i else 1
            for _ in range(4 + int(r() * 60)):
                if i >= n:
                    break
                b[i] = b[i - back] if i >= back else 0
                i += 1
        else:
            for _ in range(4 + int(r() * 20)):
                if i >= n:
                    break
                b[i] = ops[int(r() * len(ops))]
                i += 1
    return bytes(b)


def noise(seed, n):
    r = Rng(seed)
    return bytes(int(r() * 256) for _ in range(n))


def zeros(_seed, n):
    return bytes(n)


CORPORA = {'text': text, 'binary': binary, 'noise': noise, 'zeros': zeros}


def raw_deflate(data, level=6, wbits=-15, strategy=zlib.Z_DEFAULT_STRATEGY, memlevel=8):
    c = zlib.compressobj(level, zlib.DEFLATED, wbits, memlevel, strategy)
    return c.compress(data) + c.flush(zlib.Z_FINISH)


def fit_budget(data, budget, **kw):
    """Longest prefix of data whose stream fits in `budget` bytes (erofs-utils fills a
    fixed-size pcluster the same way: as much input as the output budget takes)."""
    lo, hi = 0, len(data)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if len(raw_deflate(data[:mid], **kw)) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return data[:lo], raw_deflate(data[:lo], **kw)


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def write_vectors(outdir, vectors):
    os.makedirs(outdir, exist_ok=True)
    for f in os.listdir(outdir):
        os.remove(os.path.join(outdir, f))
    index = []
    for v in vectors:
        with open(os.path.join(outdir, v['file']), 'wb') as fh:
            fh.write(v.pop('stream'))
        index.append(v)
    with open(os.path.join(outdir, 'index.json'), 'w') as fh:
        json.dump(index, fh, indent=1)
        fh.write('\n')
    return index


def main():
    vectors = []

    def add(name, corpus, seed, n, stream, data, **how):
        assert zlib.decompress(stream, -15) == data, name
        vectors.append({
            'file': name + '.deflate',
            'corpus': corpus,
            'seed': seed,
            'inputLength': n,
            'outputLength': len(data),
            'sha256': sha256(data),
            'compressedLength': len(stream),
            'zlib': zlib.ZLIB_VERSION,
            **how,
            'stream': stream,
        })

    for corpus, seed, n in [('text', 1, 32768), ('binary', 2, 32768), ('text', 3, 4096), ('binary', 4, 4096)]:
        data = CORPORA[corpus](seed, n)
        for level in (1, 6, 9):
            add(f'{corpus}{n}-l{level}', corpus, seed, n, raw_deflate(data, level), data, level=level)
        for sname, strat in (('fixed', zlib.Z_FIXED), ('huffman', zlib.Z_HUFFMAN_ONLY), ('rle', zlib.Z_RLE)):
            add(f'{corpus}{n}-{sname}', corpus, seed, n, raw_deflate(data, 6, strategy=strat), data, level=6, strategy=sname)
        add(f'{corpus}{n}-w9', corpus, seed, n, raw_deflate(data, 9, wbits=-9), data, level=9, wbits=-9)
        add(f'{corpus}{n}-mem1', corpus, seed, n, raw_deflate(data, 9, memlevel=1), data, level=9, memlevel=1)

    # Stored blocks: level 0 over 40 KB gives several non-final stored blocks, so the first
    # byte is 0x00; erofs-utils sets bit 3 of it (a padding bit) so that zero-padding
    # stripping cannot eat it. Both forms must decode the same.
    data = text(5, 40000)
    stored = raw_deflate(data, 0)
    assert stored[0] == 0
    add('text40000-stored', 'text', 5, 40000, stored, data, level=0)
    add('text40000-stored-bit3', 'text', 5, 40000, bytes([stored[0] | 8]) + stored[1:], data, level=0, note='first byte | 0x08 as erofs-utils writes it')
    data = noise(6, 20000)
    add('noise20000-l9', 'noise', 6, 20000, raw_deflate(data, 9), data, level=9)
    data = zeros(0, 1 << 20)
    add('zeros1048576-l9', 'zeros', 0, 1 << 20, raw_deflate(data, 9), data, level=9)
    add('empty-l6', 'zeros', 0, 0, raw_deflate(b'', 6), b'', level=6)

    # Fixed output budget: a 4 KiB / 16 KiB pcluster filled with as much input as fits.
    for corpus, seed, budget, level in [('text', 7, 4096, 6), ('binary', 8, 4096, 9), ('text', 9, 16384, 9), ('noise', 10, 4096, 6)]:
        full = CORPORA[corpus](seed, budget * 8)
        data, stream = fit_budget(full, budget, level=level)
        add(f'{corpus}-budget{budget}-l{level}', corpus, seed, len(data), stream, data, level=level, budget=budget)

    outdir = os.path.join(ROOT, 'fixtures', 'codecs', 'deflate')
    index = write_vectors(outdir, vectors)
    total = sum(v['compressedLength'] for v in index)
    print(f'{len(index)} vectors, {total} bytes -> {os.path.relpath(outdir, ROOT)}', file=sys.stderr)


if __name__ == '__main__':
    main()
