"""Normalised exact and near-duplicate detection (MinHash + LSH over word 3-gram shingles)."""
from __future__ import annotations

import re
import unicodedata
import zlib
from collections import defaultdict

import numpy as np

_WS = re.compile(r"\s+")
_PUNCT = re.compile(r"[^\w\s]", re.UNICODE)
_PRIME = (1 << 61) - 1


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    return _WS.sub(" ", _PUNCT.sub(" ", text)).strip()


def shingles(norm: str, n: int = 3) -> list[int]:
    toks = norm.split()
    if len(toks) < n:
        return [zlib.crc32(norm.encode())] if norm else [0]
    return list({zlib.crc32(" ".join(toks[i:i + n]).encode()) for i in range(len(toks) - n + 1)})


def minhash(texts_norm: list[str], num_perm: int = 64, seed: int = 0) -> np.ndarray:
    """(len(texts), num_perm) uint64 MinHash signatures, vectorised over all shingles at once."""
    rng = np.random.default_rng(seed)
    a = rng.integers(1, 1 << 31, num_perm, dtype=np.uint64)
    b = rng.integers(0, 1 << 31, num_perm, dtype=np.uint64)
    sh = [shingles(t) for t in texts_norm]
    lens = np.array([len(s) for s in sh])
    flat = np.fromiter((h for s in sh for h in s), dtype=np.uint64, count=int(lens.sum()))
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
    sig = np.empty((len(texts_norm), num_perm), np.uint64)
    for j in range(num_perm):
        hv = (a[j] * flat + b[j]) % np.uint64(_PRIME)
        sig[:, j] = np.minimum.reduceat(hv, starts)
    return sig


def near_duplicate_groups(texts_norm: list[str], threshold: float = 0.8, num_perm: int = 64,
                          bands: int = 16) -> np.ndarray:
    """Union-find group id per text; texts whose estimated Jaccard >= threshold share a group."""
    n = len(texts_norm)
    parent = np.arange(n)

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    if n == 0:
        return parent
    sig = minhash(texts_norm, num_perm)
    rows = num_perm // bands
    for band in range(bands):
        buckets: dict[bytes, list[int]] = defaultdict(list)
        chunk = np.ascontiguousarray(sig[:, band * rows:(band + 1) * rows])
        for i in range(n):
            buckets[chunk[i].tobytes()].append(i)
        for members in buckets.values():
            if len(members) < 2:
                continue
            first = members[0]
            for m in members[1:]:
                if np.mean(sig[first] == sig[m]) >= threshold:
                    ra, rb = find(first), find(m)
                    if ra != rb:
                        parent[rb] = ra
    return np.array([find(i) for i in range(n)])
