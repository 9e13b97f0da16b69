"""Stubs shared by the judge and explain tests: a tiny keyword RouteGuard (no model files needed)."""
from __future__ import annotations

import hashlib
import re

import numpy as np

from routeguard.experts.base import Expert
from routeguard.guard import RouteGuard
from routeguard.policy import Policy

KEYWORDS = {"bomb": "weapons_drugs_physical_harm", "meth": "weapons_drugs_physical_harm",
            "hack": "cyberattack", "malware": "cyberattack"}


class HashEncoder:
    """Bag of hashed words, L2-normalised: similar wording -> similar vectors."""

    name, dim, max_tokens = "hash-bow", 64, 512

    def encode(self, texts):
        out = np.zeros((len(texts), self.dim), np.float32)
        for i, t in enumerate(texts):
            for w in re.findall(r"\w+", t.lower()):
                out[i, int(hashlib.md5(w.encode()).hexdigest(), 16) % self.dim] += 1.0
        n = np.linalg.norm(out, axis=1, keepdims=True)
        n[n == 0] = 1.0
        return out / n

    def chunk(self, text):
        return [text]


def kw_score(text: str, categories) -> list[float]:
    low = text.lower()
    out = []
    for c in categories:
        hit = any(re.search(rf"\b{k}", low) and (c == "unsafe" or KEYWORDS[k] == c) for k in KEYWORDS)
        out.append(0.9 if hit else 0.5 if "maybe" in low else 0.05)
    return out


class KeywordExpert(Expert):
    def __init__(self, name, outputs):
        self.name, self.outputs = name, tuple(outputs)

    def score(self, batch, which):
        return np.array([kw_score(batch.conversations[i].focus_and_context()[0], self.outputs) for i in which],
                        np.float32).reshape(len(which), len(self.outputs))


def keyword_guard(policy: Policy | None = None) -> RouteGuard:
    experts = {"general": KeywordExpert("general", ["unsafe"]),
               "harm": KeywordExpert("harm", ["weapons_drugs_physical_harm"]),
               "cyber": KeywordExpert("cyber", ["cyberattack"])}
    return RouteGuard(HashEncoder(), experts, router=None, policy=policy or Policy(), meta={"name": "kw"})
