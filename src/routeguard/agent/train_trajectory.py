"""Fit the trajectory head (:mod:`routeguard.agent.trajectory_head`) for a trained guard.

    python -m routeguard.agent.train_trajectory --data guardzoo [--model default] [--out PATH]

Stacking protocol: the guard's experts were trained on GuardZoo's train split, so the head is fitted on
the **dev** trajectories (their scores there are honest), with each source weighted equally (one large
source - AgentDojo's 300+ safe runs - must not set the boundary for all), and its threshold is the one
that maximises out-of-fold F1 under 5-fold cross-validation on those dev records. Test, eval_only
(AgentHarm-derived ASSEBench, licence-barred from training) and held-out sources are never read here.
Deterministic (seed 13); a few minutes on 2 CPUs (faster with GuardZoo's embedding cache).
"""
from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..types import Message
from .trajectory_head import DEFAULT_PATH, FEATURES, TrajectoryHead, guard_fingerprint, trajectory_features

SEED = 13
C = 1.0


def _weights(sources: Sequence[str]) -> np.ndarray:
    n = Counter(sources)
    w = np.array([1.0 / n[s] for s in sources])
    return w * len(w) / w.sum()


def _f1(y: np.ndarray, p: np.ndarray, t: float) -> float:
    f = p >= t
    tp = float((f & y).sum())
    return 2 * tp / max(1.0, float(f.sum() + y.sum()))


def fit_head(X: np.ndarray, y: np.ndarray, sources: Sequence[str], *, model_fingerprint: str,
             meta: dict[str, Any] | None = None, folds: int = 5) -> TrajectoryHead:
    """Logistic regression on standardised features (source-balanced weights); threshold by CV F1."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(y, bool)
    w = _weights(sources)
    mean, scale = X.mean(0), X.std(0)
    scale[scale < 1e-6] = 1.0
    Z = (X - mean) / scale
    oof = np.zeros(len(y))
    strata = [f"{s}|{int(t)}" for s, t in zip(sources, y)]
    cnt = Counter(strata)
    strata = [s if cnt[s] >= folds else f"rare|{s[-1]}" for s in strata]
    for tr, te in StratifiedKFold(folds, shuffle=True, random_state=SEED).split(Z, strata):
        m = LogisticRegression(C=C, max_iter=2000).fit(Z[tr], y[tr], sample_weight=w[tr])
        oof[te] = m.predict_proba(Z[te])[:, 1]
    grid = np.round(np.arange(0.05, 0.951, 0.025), 3)
    f1s = [_f1(y, oof, t) for t in grid]
    best = float(grid[int(np.argmax(f1s))])
    m = LogisticRegression(C=C, max_iter=2000).fit(Z, y, sample_weight=w)
    meta = dict(meta or {})
    meta.update({"fitted_on": "GuardZoo dev trajectories", "n": int(len(y)), "n_unsafe": int(y.sum()),
                 "sources": dict(Counter(sources)), "cv_folds": folds, "cv_f1_at_threshold": round(max(f1s), 4),
                 "C": C, "seed": SEED})
    return TrajectoryHead(m.coef_[0], float(m.intercept_[0]), mean, scale, best, model_fingerprint=model_fingerprint,
                          meta=meta)


def main(argv: Sequence[str] | None = None) -> None:
    import routeguard
    from routeguard.data.build import read_split
    from routeguard.guard import RouteGuard
    from routeguard.training.embed_cache import CachedEncoder, EmbeddingCache

    from .guard import AgentGuard

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="guardzoo", help="GuardZoo build (its .cache is used when present)")
    ap.add_argument("--model", default="default", help="the guard the head is fitted for")
    ap.add_argument("--out", default=str(DEFAULT_PATH))
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    guard = routeguard.load(a.model)
    cache_dir = Path(a.data) / ".cache"
    if cache_dir.is_dir():
        guard = RouteGuard(CachedEncoder(EmbeddingCache(guard.encoder, cache_dir)), guard.experts, guard.router,
                           guard.policy, always_on=guard.always_on, meta=guard.meta)
    recs = [r for r in read_split(a.data, "dev") if r.target == "trajectory" and r.label in ("safe", "unsafe")]
    if not recs:
        raise SystemExit(f"no dev trajectories in {a.data}")
    ag = AgentGuard(guard, matcher=None, trajectory_head=None)
    X = np.concatenate([trajectory_features(ag, [[Message.model_validate(m) for m in r.messages] for r in recs[s:s + 64]])[0]
                        for s in range(0, len(recs), 64)])
    y = np.array([r.label == "unsafe" for r in recs])
    head = fit_head(X, y, [r.source for r in recs], model_fingerprint=guard_fingerprint(guard),
                    meta={"model": a.model, "data": str(a.data), "seconds": round(time.perf_counter() - t0, 1)})
    head.save(a.out)
    coef = ", ".join(f"{f} {c:+.2f}" for f, c in sorted(zip(FEATURES, head.coef), key=lambda x: -abs(x[1])))
    print(f"trajectory head -> {a.out}: {len(y)} dev trajectories ({int(y.sum())} unsafe), threshold {head.threshold}, "
          f"CV F1 {head.meta['cv_f1_at_threshold']}; weights: {coef}")


if __name__ == "__main__":  # pragma: no cover
    main()
