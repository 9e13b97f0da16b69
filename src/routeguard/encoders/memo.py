"""An encoder wrapper that remembers vectors, so several guards sharing one encoder (RouteGuard and
its monolithic baseline in an evaluation) encode each text once. Bounded; not for serving latency."""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from .base import Encoder


class MemoEncoder:
    def __init__(self, inner: Encoder, max_items: int = 500_000):
        self.inner, self.max_items = inner, max_items
        self.name, self.dim, self.max_tokens = inner.name, inner.dim, inner.max_tokens
        self._memo: OrderedDict[str, np.ndarray] = OrderedDict()

    def encode(self, texts: list[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self._memo))
        if missing:
            for t, v in zip(missing, self.inner.encode(missing)):
                self._memo[t] = v
            while len(self._memo) > self.max_items:
                self._memo.popitem(last=False)
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return np.stack([self._memo[t] for t in texts])

    def chunk(self, text: str) -> list[str]:
        return self.inner.chunk(text)
