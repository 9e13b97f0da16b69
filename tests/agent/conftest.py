"""A tiny RouteGuard with a deterministic fake encoder, so agent-guard tests run without the packaged model."""
from __future__ import annotations

import hashlib
import re

import numpy as np
import pytest

from routeguard.experts.base import Expert, HeadExpert
from routeguard.features import feature_dim
from routeguard.guard import RouteGuard
from routeguard.heads import MLPHead
from routeguard.policy import Policy

DIM = 32


class HashEncoder:
    """Bag-of-words hashing 'encoder': similar texts get similar unit vectors. Counts its calls."""

    name, dim, max_tokens = "test/hash", DIM, 64

    def __init__(self) -> None:
        self.calls = 0
        self.texts = 0
        self.seen: list[str] = []

    def encode(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        self.texts += len(texts)
        self.seen.extend(texts)
        out = np.zeros((len(texts), DIM), np.float32)
        for i, t in enumerate(texts):
            for w in re.findall(r"\w+", t.lower()):
                out[i, int(hashlib.md5(w.encode()).hexdigest(), 16) % DIM] += 1.0
            out[i] /= max(1e-6, float(np.linalg.norm(out[i])))
        return out

    def chunk(self, text: str) -> list[str]:
        ws = text.split(" ")
        return [" ".join(ws[i:i + 60]) for i in range(0, max(1, len(ws)), 50)] or [text]


class KeywordExpert(Expert):
    """Scores ``hi`` when a chunk of the judged text matches ``pattern``, else ``lo``."""

    def __init__(self, name: str, output: str, pattern: str, hi: float, lo: float):
        self.name, self.outputs, self.pattern, self.hi, self.lo = name, (output,), re.compile(pattern, re.I), hi, lo

    def score(self, batch, which):
        out = np.full((len(which), 1), self.lo, np.float32)
        for j, i in enumerate(which):
            if any(self.pattern.search(batch.chunks[r]) for r in np.nonzero(batch.owner == i)[0]):
                out[j, 0] = self.hi
        return out


def tiny_guard(with_attack: bool = True) -> RouteGuard:
    rng = np.random.default_rng(0)
    d = feature_dim(DIM)
    agent = HeadExpert("agent", MLPHead([(rng.normal(0, 0.01, (d, 1)).astype(np.float32),
                                          np.full(1, -3.0, np.float32))], ["agent_safety"]))
    experts: dict[str, Expert] = {"general": KeywordExpert("general", "unsafe", r"rm -rf|password", 0.9, 0.1),
                                  "agent": agent}
    if with_attack:
        experts["attack"] = KeywordExpert("attack", "prompt_attack", r"<information>|ignore (all )?previous instructions",
                                          0.95, 0.05)
    return RouteGuard(HashEncoder(), experts, None, Policy(thresholds={"prompt_attack": 0.5}), always_on=("general",))


@pytest.fixture
def small_guard() -> RouteGuard:
    return tiny_guard()
