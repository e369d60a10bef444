#!/usr/bin/env python3
"""Zstandard test vectors from the real encoder (the `zstd` CLI; apt-get install zstd).

Writes fixtures/codecs/zstd/*.zst and index.json (output length and sha256 of the decoded
bytes, compressed length, the zstd arguments). Inputs are the deterministic corpora of
deflate-vectors.py. Frames the CLI writes for a file carry Frame_Content_Size and an XXH64
checksum; the vectors also cover frames without either, multi-block frames, raw and RLE
blocks, and a fixed output budget.

    python3 tools/codecs/zstd-vectors.py
"""
import importlib.util
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location('deflate_vectors', os.path.join(HERE, 'deflate-vectors.py'))
dv = importlib.util.module_from_spec(spec)
spec.loader.exec_module(dv)


def zstd_version():
    return subprocess.run(['zstd', '-V'], check=True, capture_output=True, text=True).stdout.strip()


def compress(data, args, stdin=False):
    """Runs the zstd CLI. From a file the CLI knows the size (content size in the header,
    window fitted to it); from stdin it does not."""
    if stdin:
        return subprocess.run(['zstd', '-q', '-c', *args], input=data, check=True, capture_output=True).stdout
    with tempfile.NamedTemporaryFile() as f:
        f.write(data)
        f.flush()
        return subprocess.run(['zstd', '-q', '-c', *args, f.name], check=True, capture_output=True).stdout


def decompress(stream):
    return subprocess.run(['zstd', '-q', '-d', '-c'], input=stream, check=True, capture_output=True).stdout


def fit_budget(data, budget, args):
    lo, hi = 0, len(data)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if len(compress(data[:mid], args)) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return data[:lo], compress(data[:lo], args)


def main():
    version = zstd_version()
    vectors = []

    def add(name, corpus, seed, stream, data, args, stdin=False, **how):
        assert decompress(stream) == data, name
        vectors.append({
            'file': name + '.zst',
            'corpus': corpus,
            'seed': seed,
            'outputLength': len(data),
            'sha256': dv.sha256(data),
            'compressedLength': len(stream),
            'zstd': version,
            'args': ' '.join(args) + (' (stdin)' if stdin else ''),
            **how,
            'stream': stream,
        })

    for corpus, seed, n in [('text', 1, 32768), ('binary', 2, 32768), ('text', 3, 4096), ('binary', 4, 4096)]:
        data = dv.CORPORA[corpus](seed, n)
        for args in (['-1'], ['-3'], ['-19'], ['--ultra', '-22'], ['--fast=5']):
            tag = args[-1].lstrip('-').replace('=', '')
            add(f'{corpus}{n}-{tag}', corpus, seed, compress(data, args), data, args)
        add(f'{corpus}{n}-nocheck', corpus, seed, compress(data, ['-3', '--no-check']), data, ['-3', '--no-check'])
        add(f'{corpus}{n}-stdin', corpus, seed, compress(data, ['-3'], stdin=True), data, ['-3'], stdin=True,
            note='no Frame_Content_Size, window not fitted to the input')

    # Several blocks (a block holds at most 128 KiB), raw blocks, RLE blocks.
    data = dv.text(5, 200000)
    add('text200000-3', 'text', 5, compress(data, ['-3']), data, ['-3'])
    add('text200000-3-stdin', 'text', 5, compress(data, ['-3', '--no-check'], stdin=True), data, ['-3', '--no-check'], stdin=True)
    data = dv.noise(6, 20000)
    add('noise20000-3', 'noise', 6, compress(data, ['-3']), data, ['-3'], note='raw block')
    data = dv.zeros(0, 300000)
    add('zeros300000-3', 'zeros', 0, compress(data, ['-3']), data, ['-3'], note='RLE blocks')
    data = dv.binary(7, 200000)[:150000] + dv.zeros(0, 150000)
    add('mixed300000-19', 'binary+zeros', 7, compress(data, ['-19']), data, ['-19'])
    add('empty-3', 'zeros', 0, compress(b'', ['-3']), b'', ['-3'])

    # Fixed output budget: as much input as fits a 4 KiB / 16 KiB pcluster.
    for corpus, seed, budget, args in [('text', 8, 4096, ['-3']), ('binary', 9, 4096, ['-19']), ('text', 10, 16384, ['-9'])]:
        data, stream = fit_budget(dv.CORPORA[corpus](seed, budget * 8), budget, args)
        add(f'{corpus}-budget{budget}-{args[-1].lstrip("-")}', corpus, seed, stream, data, args, budget=budget)

    outdir = os.path.join(dv.ROOT, 'fixtures', 'codecs', 'zstd')
    index = dv.write_vectors(outdir, vectors)
    total = sum(v['compressedLength'] for v in index)
    print(f'{len(index)} vectors, {total} bytes -> {os.path.relpath(outdir, dv.ROOT)}', file=sys.stderr)


if __name__ == '__main__':
    main()
