"""Fit the trajectory head (:mod:`routeguard.agent.trajectory_head`) for a trained guard.

    python -m routeguard.agent.train_trajectory --data guardzoo [--model default|FOLDER] [--out PATH]

``routeguard train`` runs it for the routeguard model when the config says ``trajectory_head: true``.

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
from ..errors import ConfigError
from .trajectory_head import FEATURES, FILENAME, SIGNS, TrajectoryHead, trajectory_features

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


def _logistic(Z: np.ndarray, y: np.ndarray, w: np.ndarray, monotone: bool) -> tuple[np.ndarray, float]:
    """Weighted L2 logistic regression (sklearn's objective: C * sum(w * logloss) + |coef|^2 / 2); with
    ``monotone`` each coefficient keeps the sign of :data:`SIGNS` (L-BFGS-B bounds)."""
    from scipy.optimize import minimize

    t = y.astype(np.float64)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        z = Z @ theta[:-1] + theta[-1]
        p = 1.0 / (1.0 + np.exp(-z))
        ll = np.logaddexp(0.0, z) - t * z
        g = C * (w * (p - t))
        grad = np.append(Z.T @ g + theta[:-1], g.sum())
        return float(C * (w * ll).sum() + 0.5 * theta[:-1] @ theta[:-1]), grad

    sign = [SIGNS[f] for f in FEATURES]
    bounds = [((0.0, None) if sg > 0 else (None, 0.0) if sg < 0 else (None, None)) if monotone else (None, None)
              for sg in sign] + [(None, None)]
    res = minimize(loss, np.zeros(Z.shape[1] + 1), jac=True, method="L-BFGS-B", bounds=bounds,
                   options={"maxiter": 5000})
    return res.x[:-1], float(res.x[-1])


def fit_head(X: np.ndarray, y: np.ndarray, sources: Sequence[str], *, model_fingerprint: str,
             meta: dict[str, Any] | None = None, folds: int = 5, monotone: bool = True) -> TrajectoryHead:
    """Logistic regression on standardised features (source-balanced weights; with ``monotone`` a higher
    risk score can only raise P(unsafe) and a refusal only lower it); threshold by out-of-fold F1."""
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(y, bool)
    w = _weights(sources)
    mean, scale = X.mean(0), X.std(0)
    scale[scale < 1e-6] = 1.0
    Z = (X - mean) / scale
    oof = np.zeros(len(y))
    strata = [f"{s}|{int(t)}" for s, t in zip(sources, y)]
    cnt = Counter(strata)
    strata = [s if cnt[s] >= folds else s[-1] for s in strata]      # rare source x label: by label only
    for tr, te in StratifiedKFold(folds, shuffle=True, random_state=SEED).split(Z, strata):
        coef, b = _logistic(Z[tr], y[tr], w[tr], monotone)
        oof[te] = 1.0 / (1.0 + np.exp(-(Z[te] @ coef + b)))
    grid = np.round(np.arange(0.05, 0.951, 0.025), 3)
    f1s = [_f1(y, oof, t) for t in grid]
    best = float(grid[int(np.argmax(f1s))])
    coef, b = _logistic(Z, y, w, monotone)
    meta = dict(meta or {})
    meta.update({"fitted_on": "GuardZoo dev trajectories", "n": int(len(y)), "n_unsafe": int(y.sum()),
                 "sources": dict(Counter(sources)), "cv_folds": folds, "cv_f1_at_threshold": round(max(f1s), 4),
                 "C": C, "monotone": monotone, "seed": SEED})
    return TrajectoryHead(coef, b, mean, scale, best, model_fingerprint=model_fingerprint, meta=meta)


def fit_for_model(model: str | Path, data: str | Path, *, cache_dir: str | Path | None = None,
                  out: str | Path | None = None, ood_protocol: bool = False, log: Any = print) -> Path:
    """Fit the head for the model folder ``model`` (or "default") on ``data``'s dev trajectories and save it
    as ``<model folder>/trajectory_head.json`` (or ``out``). ``ood_protocol`` leaves out the held-out
    sources (for a model trained under GuardZoo's OOD protocol). Returns the path written."""
    from routeguard.data.build import read_split
    from routeguard.guard import RouteGuard
    from routeguard.loading import PACKAGED, packaged_path
    from routeguard.training.embed_cache import CachedEncoder, EmbeddingCache

    from .guard import AgentGuard

    t0 = time.perf_counter()
    folder = packaged_path(str(model)) if str(model) in PACKAGED else Path(model)
    guard = RouteGuard.from_folder(folder)
    cache = Path(cache_dir) if cache_dir else Path(data) / ".cache"
    if cache.is_dir():          # dev texts were encoded by the trainer: read them, encode only the new parts
        guard = guard.replace(encoder=CachedEncoder(EmbeddingCache(guard.encoder, cache)))
    recs = [r for r in read_split(data, "dev") if r.target == "trajectory" and r.label in ("safe", "unsafe")
            and not (ood_protocol and r.ood_source)]
    if not recs:
        raise ConfigError(f"no dev trajectories in {data}: cannot fit the trajectory head")
    ag = AgentGuard(guard, matcher=None, trajectory_head=None)
    X = np.concatenate([trajectory_features(ag, [[Message.model_validate(m) for m in r.messages]
                                                 for r in recs[s:s + 64]])[0] for s in range(0, len(recs), 64)])
    y = np.array([r.label == "unsafe" for r in recs])
    head = fit_head(X, y, [r.source for r in recs], model_fingerprint=guard.weights_fingerprint,
                    meta={"data": str(data), "ood_protocol": ood_protocol, "seconds": round(time.perf_counter() - t0, 1)})
    path = head.save(Path(out) if out else folder / FILENAME)
    coef = ", ".join(f"{f} {c:+.2f}" for f, c in sorted(zip(FEATURES, head.coef), key=lambda x: -abs(x[1]))[:6])
    log(f"trajectory head -> {path}: {len(y)} dev trajectories ({int(y.sum())} unsafe), threshold {head.threshold}, "
        f"out-of-fold F1 {head.meta['cv_f1_at_threshold']}; largest weights: {coef}")
    return path


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="guardzoo", help="GuardZoo build (its .cache is used when present)")
    ap.add_argument("--model", default="default", help="model folder (or 'default') the head is fitted for")
    ap.add_argument("--out", default=None, help="where to write it (default: <model folder>/trajectory_head.json)")
    ap.add_argument("--ood-protocol", action="store_true", help="leave out GuardZoo's held-out sources")
    a = ap.parse_args(argv)
    fit_for_model(a.model, a.data, out=a.out, ood_protocol=a.ood_protocol)


if __name__ == "__main__":  # pragma: no cover
    main()
