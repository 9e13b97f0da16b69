"""The learned (policy, step) matcher: P(this agent step violates this policy).

Input: MiniLM embeddings of the policy text ``p``, of the step (the assistant message's text and tool
calls, ``s``) and of the observation just before it (the last tool result, clipped; ``o``, zeros if
none). Features ``[p, s, p*s, o, p*o]`` feed a one-hidden-layer MLP with Platt calibration (the same
numpy :class:`~routeguard.heads.MLPHead` the experts use). Weights live in ``matcher.npz`` next to this
file; :mod:`routeguard.agent.train_matcher` reproduces them.

The matcher answers "is this step an instance of what the policy forbids"; conditions ("without asking
the user", "before B") are the deterministic rules' job.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ..heads import MLPHead

DEFAULT_PATH = Path(__file__).with_name("matcher.npz")
STEP_CHARS = 1000   # the matcher reads at most this much of a step (training and inference)
FORMAT = 1


def pair_features(p: np.ndarray, s: np.ndarray, o: np.ndarray) -> np.ndarray:
    """(n, 5d) features from (n, d) policy, step and observation embeddings."""
    return np.concatenate([p, s, p * s, o, p * o], axis=1).astype(np.float32)


class PolicyMatcher:
    def __init__(self, head: MLPHead, threshold: float, *, encoder: str, dim: int, meta: dict | None = None):
        if not 0.0 <= threshold <= 1.0:
            raise ConfigError(f"matcher threshold must be in [0, 1], got {threshold}")
        self.head, self.threshold, self.encoder, self.dim = head, float(threshold), encoder, int(dim)
        self.meta = meta or {}

    def score(self, p: np.ndarray, s: np.ndarray, o: np.ndarray) -> np.ndarray:
        """Calibrated P(violation) per row."""
        if p.shape[1] != self.dim:
            raise ConfigError(f"matcher expects {self.dim}-d embeddings, got {p.shape[1]}")
        if len(p) == 0:
            return np.zeros(0, np.float32)
        return self.head.predict_proba(pair_features(p, s, o))[:, 0]

    # -- persistence -------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        path = Path(path)
        arrays = {k: (v.astype(np.float16) if k.endswith(".W0") else v.astype(np.float32))
                  for k, v in self.head.to_arrays("matcher").items()}
        cfg = {"format": FORMAT, "threshold": self.threshold, "encoder": self.encoder, "dim": self.dim,
               "features": "p,s,p*s,o,p*o", "meta": self.meta}
        np.savez_compressed(path, config=np.array(json.dumps(cfg)), **arrays)
        return path

    @classmethod
    def load(cls, path: str | Path | None = None) -> "PolicyMatcher":
        path = Path(path) if path else DEFAULT_PATH
        if not path.is_file():
            raise ConfigError(f"no policy matcher at {path} (train one: python -m routeguard.agent.train_matcher)")
        with np.load(path) as z:
            arrays = {k: z[k] for k in z.files}
        try:
            cfg = json.loads(str(arrays.pop("config")))
        except (KeyError, json.JSONDecodeError) as e:
            raise ConfigError(f"{path}: not a policy matcher file ({e})") from None
        if cfg.get("format") != FORMAT:
            raise ConfigError(f"{path}: unsupported matcher format {cfg.get('format')!r}")
        head = MLPHead.from_arrays({k: v.astype(np.float32) for k, v in arrays.items()}, "matcher", ["violation"])
        return cls(head, cfg["threshold"], encoder=cfg["encoder"], dim=cfg["dim"], meta=cfg.get("meta", {}))
