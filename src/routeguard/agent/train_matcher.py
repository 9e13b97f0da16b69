"""Train the (policy, step) matcher shipped as ``routeguard/agent/matcher.npz``.

    python -m routeguard.agent.train_matcher --datasets ../shared/datasets --data guardzoo \\
        --out src/routeguard/agent/matcher.npz

What it learns from (see :mod:`routeguard.agent.pairs`):

* ST-WebAgentBench (train tasks): for every buildable (task, policy) instance, the violating step of a
  constructed violating trajectory (1), the steps of the compliant twin and the other steps (0), and
  the violating step paired with other, unrelated policies of the same task (0). Dev tasks calibrate;
  test tasks are held out for ``benchmarks/agent.py``.
* GuardZoo trajectory records (train split; weak labels skipped): a generic policy per category
  (``pairs.GENERIC_POLICIES``) with the last tool call of an unsafe trajectory of that category (1) or of
  a safe trajectory (0). Weak: the last tool call is not always the harmful one.

Embeddings: the base MiniLM (measured: it matches policies to steps better than the guard's fine-tuned
encoder, dev F1 0.92 vs 0.75), cached under ``<data>/.cache/agent_matcher``. Head: one hidden
layer (64) over ``[p, s, p*s, o, p*o]``, Platt-calibrated and thresholded (best F1) on the dev pairs.
Deterministic for a given seed.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..encoders import base_encoder
from ..encoders.base import Encoder
from ..heads import MLPHead, sigmoid
from ..training.embed_cache import EmbeddingCache
from .matcher import DEFAULT_PATH, STEP_CHARS, PolicyMatcher, pair_features
from .pairs import StepPair, case_pairs, guardzoo_pairs, web_cases


def embed_pairs(pairs: list[StepPair], cache: EmbeddingCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    texts = {p.policy for p in pairs} | {p.step[:STEP_CHARS] for p in pairs} | {p.obs for p in pairs if p.obs}
    cache.ensure(sorted(texts))
    d = cache.encoder.dim
    zero = np.zeros(d, np.float32)
    P = np.stack([cache.get(p.policy) for p in pairs])
    S = np.stack([cache.get(p.step[:STEP_CHARS]) for p in pairs])
    O = np.stack([cache.get(p.obs) if p.obs else zero for p in pairs])
    return P, S, O


def _best_threshold(p: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    best = (0.5, -1.0)
    for t in np.arange(0.1, 0.9001, 0.025):
        pred = p >= t
        f1 = 2 * float((pred & (y > 0)).sum()) / max(1.0, float(pred.sum() + y.sum()))
        if f1 > best[1] + 1e-9:
            best = (round(float(t), 3), f1)
    return best


def build_pairs(datasets_root: str | Path, data: str | Path | None) -> dict[str, list[StepPair]]:
    cases = web_cases(datasets_root)
    pairs = case_pairs(cases)
    out: dict[str, list[StepPair]] = {"train": [], "dev": [], "test": []}
    for p in pairs:
        out[p.split].append(p)
    if data is not None:
        from ..data.build import read_split

        for split in ("train", "dev", "test"):
            out[split].extend(guardzoo_pairs(read_split(data, split), split))
    return out


def train_matcher(datasets_root: str | Path, data: str | Path | None, out: str | Path = DEFAULT_PATH, *,
                  seed: int = 13, hidden: int = 64, epochs: int = 40, encoder: Encoder | None = None,
                  cache_dir: str | Path | None = None) -> dict[str, Any]:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    t0 = time.perf_counter()
    encoder = encoder or base_encoder()
    cache_dir = Path(cache_dir) if cache_dir else (Path(data) / ".cache" / "agent_matcher" if data else None)
    cache = EmbeddingCache(encoder, cache_dir)
    pairs = build_pairs(datasets_root, data)
    tr, dv = pairs["train"], pairs["dev"]
    Xtr = pair_features(*embed_pairs(tr, cache))
    ytr = np.array([p.label for p in tr])
    Xdv = pair_features(*embed_pairs(dv, cache))
    ydv = np.array([p.label for p in dv])
    clf = MLPClassifier(hidden_layer_sizes=(hidden,), alpha=1e-3, batch_size=256, learning_rate_init=1e-3,
                        max_iter=epochs, random_state=seed, early_stopping=False, n_iter_no_change=epochs + 1, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(Xtr, ytr)
    head = MLPHead([(w.astype(np.float32), b.astype(np.float32)) for w, b in zip(clf.coefs_, clf.intercepts_)],
                   ["violation"])
    z = head.logits(Xdv)[:, :1]
    lr = LogisticRegression(C=100.0).fit(z, ydv)
    head.platt_a = np.array([lr.coef_[0, 0]], np.float32)
    head.platt_b = np.array([lr.intercept_[0]], np.float32)
    p_dv = sigmoid(z[:, 0] * head.platt_a[0] + head.platt_b[0])
    thr, f1 = _best_threshold(p_dv, ydv)

    def origin_counts(ps: list[StepPair]) -> dict[str, list[int]]:
        c: dict[str, list[int]] = {}
        for p in ps:
            key = p.origin.split(":")[0] if p.origin.startswith("guardzoo") else p.origin
            c.setdefault(key, [0, 0])[p.label] += 1
        return {k: v for k, v in sorted(c.items())}

    fp = hashlib.sha256(json.dumps([[p.policy, p.step, p.obs, p.label] for p in tr]).encode()).hexdigest()[:16]
    meta = {"trained_on": {"train_pairs": len(tr), "dev_pairs": len(dv), "train_origins [neg, pos]": origin_counts(tr),
                           "pairs_fingerprint": fp, "datasets_root": str(datasets_root), "guardzoo": str(data)},
            "dev_f1": round(f1, 4), "seed": seed, "hidden": hidden, "epochs": epochs, "step_chars": STEP_CHARS,
            "train_seconds": round(time.perf_counter() - t0, 1),
            "command": "python -m routeguard.agent.train_matcher --datasets ../shared/datasets --data guardzoo"}
    m = PolicyMatcher(head, thr, encoder=encoder.name, dim=encoder.dim, meta=meta)
    m.save(out)
    return {"out": str(out), "threshold": thr, **meta}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", default="../shared/datasets", help="shared datasets root (st_webagentbench)")
    ap.add_argument("--data", default="guardzoo", help="GuardZoo build folder ('' to skip GuardZoo pairs)")
    ap.add_argument("--out", default=str(DEFAULT_PATH))
    ap.add_argument("--seed", type=int, default=13)
    a = ap.parse_args(argv)
    rep = train_matcher(a.datasets, a.data or None, a.out, seed=a.seed)
    print(json.dumps(rep, indent=2))


if __name__ == "__main__":  # pragma: no cover
    main()
