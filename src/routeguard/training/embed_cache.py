"""A persistent text -> embedding cache so retraining does not re-encode GuardZoo."""
from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Callable

import numpy as np

from ..encoders.base import Encoder


def _key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()


class EmbeddingCache:
    def __init__(self, encoder: Encoder, folder: Path | None):
        self.encoder = encoder
        self.path = (folder / f"emb-{encoder.name.replace('/', '_')}-{encoder.max_tokens}.npz") if folder else None
        self._vec: dict[str, np.ndarray] = {}
        if self.path and self.path.is_file():
            with np.load(self.path) as z:
                self._vec = dict(zip(z["keys"].tolist(), z["vectors"]))

    def ensure(self, texts: list[str], progress: Callable[[int], None] | None = None, block: int = 2048,
               save: bool = True, checkpoint_s: float = 300.0) -> None:
        """Encode the texts not cached yet. With ``save``, the cache is written at the end and every
        ``checkpoint_s`` seconds on the way, so an interrupted run resumes where it stopped."""
        missing = list({_key(t): t for t in texts if _key(t) not in self._vec}.items())
        last = time.monotonic()
        for s in range(0, len(missing), block):
            part = missing[s:s + block]
            for (k, _), v in zip(part, self.encoder.encode([t for _, t in part])):
                self._vec[k] = v
            if progress:
                progress(len(part))
            if save and self.path and time.monotonic() - last > checkpoint_s and s + block < len(missing):
                self.save()
                last = time.monotonic()
        if missing and self.path and save:
            self.save()

    def save(self) -> None:
        if self.path is None or not self._vec:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = np.array(list(self._vec))
        tmp = self.path.with_name(self.path.stem + ".tmp.npz")
        np.savez(tmp, keys=keys, vectors=np.stack([self._vec[k] for k in keys]))
        tmp.replace(self.path)              # atomic: a crash mid-write never leaves a broken cache

    def missing_count(self, texts: list[str]) -> int:
        return len({_key(t) for t in texts} - self._vec.keys())

    def get(self, text: str) -> np.ndarray:
        return self._vec[_key(text)]


class CachedEncoder:
    """An :class:`Encoder` that reads vectors from an :class:`EmbeddingCache` (read-only: new texts are
    encoded and remembered in memory, never written back). Used to evaluate on already-encoded data."""

    def __init__(self, cache: EmbeddingCache):
        self.cache = cache
        e = cache.encoder
        self.name, self.dim, self.max_tokens = e.name, e.dim, e.max_tokens

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        self.cache.ensure(texts, save=False)
        return np.stack([self.cache.get(t) for t in texts])

    def chunk(self, text: str, **options) -> list[str]:
        return self.cache.encoder.chunk(text, **options)

    def __getattr__(self, name: str):
        # span pooling (``encode_with_spans``) needs the token states: only the real encoder has them, so
        # a guard judging dev through this cache takes the same per-sentence triage path as at run time
        if name == "encode_with_spans" and hasattr(self.cache.encoder, name):
            return getattr(self.cache.encoder, name)
        raise AttributeError(name)
