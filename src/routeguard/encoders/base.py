from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Encoder(Protocol):
    """Batch-first text encoder. ``encode`` returns L2-normalised float32 vectors, one row per text."""

    name: str
    dim: int
    max_tokens: int

    def encode(self, texts: list[str]) -> np.ndarray: ...

    def chunk(self, text: str) -> list[str]:
        """Split ``text`` into overlapping windows that each fit ``max_tokens`` (never truncate)."""
        ...
