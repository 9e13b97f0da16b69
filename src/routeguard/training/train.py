"""Train the router, the experts, the always-on binary expert and the monolithic baseline.

All heads read the same frozen-encoder features (see :mod:`routeguard.features`) of the same
GuardZoo training records; calibration (Platt) and every threshold are chosen on the dev split only.
"""
from __future__ import annotations

import hashlib
import json
import logging
import random
import time
import warnings
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..data.build import read_split
from ..data.schema import Record
from ..encoders import default_encoder
from ..encoders.base import Encoder
from ..errors import InputError
from ..experts.base import HeadExpert
from ..features import CONTEXT_CHARS, TARGET_ORDER, feature_dim
from ..guard import RouteGuard
from ..heads import MLPHead, sigmoid
from ..policy import Policy
from ..router import Router
from ..taxonomy import CATEGORIES, DOMAINS, OOD_CATEGORIES, categories_of
from ..types import Conversation, Message
from .config import HeadConfig, TrainConfig
from .embed_cache import EmbeddingCache

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]   # (stage, done, total)


@dataclass
class Prepared:
    """Feature rows of a set of records, and their record-level labels."""

    records: list[Record]
    feats: np.ndarray       # (rows, d)
    owner: np.ndarray       # (rows,) record index
    y_cat: np.ndarray       # (records, 15)
    y_unsafe: np.ndarray    # (records,)
    known: np.ndarray       # (records,) safe, or unsafe with at least one of the 15 categories

    def rows_of(self, mask: np.ndarray) -> np.ndarray:
        return np.nonzero(mask[self.owner])[0]


def to_conv(r: Record) -> Conversation:
    return Conversation(messages=[Message.model_validate(m) for m in r.messages], target=r.target)


def prepare(records: list[Record], cache: EmbeddingCache, max_chunks: int,
            progress: Progress | None = None) -> Prepared:
    enc = cache.encoder
    kept, chunks, contexts, targets = [], [], [], []
    for r in records:
        try:
            focus, ctx = to_conv(r).focus_and_context()
        except (InputError, ValueError) as e:
            log.debug("skipping %s: %s", r.id, e)
            continue
        ch = _windows(enc, focus) if focus.strip() else [focus]
        if len(ch) > max_chunks:               # first chunk + the last ones (harm is often at the end)
            ch = ch[:1] + ch[-(max_chunks - 1):]
        kept.append(r)
        chunks.append(ch)
        contexts.append(ctx[-CONTEXT_CHARS:])
        targets.append(r.target)
    texts = [t for ch in chunks for t in ch] + [c for c in contexts if c]
    total = cache.missing_count(texts)
    done = [0]

    def tick(n: int) -> None:
        done[0] += n
        if progress:
            progress("encode", done[0], total)

    cache.ensure(texts, tick)
    d = enc.dim
    rows = sum(len(c) for c in chunks)
    feats = np.zeros((rows, feature_dim(d)), np.float32)
    owner = np.zeros(rows, np.int64)
    r_i = 0
    for i, (ch, ctx, tgt) in enumerate(zip(chunks, contexts, targets)):
        cvec = cache.get(ctx) if ctx else None
        for t in ch:
            feats[r_i, :d] = cache.get(t)
            if cvec is not None:
                feats[r_i, d:2 * d] = cvec
                feats[r_i, -1] = 1.0
            feats[r_i, 2 * d + TARGET_ORDER.index(tgt)] = 1.0
            owner[r_i] = i
            r_i += 1
    y_cat = np.zeros((len(kept), len(CATEGORIES)), np.float32)
    for i, r in enumerate(kept):
        for c in r.categories:
            if c in CATEGORIES:
                y_cat[i, CATEGORIES.index(c)] = 1
    y_unsafe = np.array([r.label == "unsafe" for r in kept], np.float32)
    known = (y_unsafe == 0) | (y_cat.sum(1) > 0)
    return Prepared(kept, feats, owner, y_cat, y_unsafe, known)


def _windows(enc: Encoder, text: str) -> list[str]:
    """Training rows use the token windows only (a record's label is about the whole text, not each
    of its sentences)."""
    try:
        return enc.chunk(text, sentences=False)  # type: ignore[call-arg]
    except TypeError:
        return enc.chunk(text)


def cap_sources(records: list[Record], cap: int, seed: int) -> list[Record]:
    """At most ``cap`` records per source (deterministic sample), so big sources do not dominate."""
    by_src: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        by_src[r.source].append(r)
    out = []
    rng = random.Random(seed)
    for src in sorted(by_src):
        rs = by_src[src]
        if len(rs) > cap:
            unsafe = [r for r in rs if r.label == "unsafe"]
            safe = [r for r in rs if r.label == "safe"]
            # keep the label mix, but never drop below half the cap of the rarer label
            n_u = min(len(unsafe), max(cap // 2, round(cap * len(unsafe) / len(rs))))
            n_s = min(len(safe), cap - n_u)
            rs = rng.sample(unsafe, n_u) + rng.sample(safe, n_s)
        out.extend(rs)
    return out


def fit_head(x: np.ndarray, y: np.ndarray, outputs: list[str], cfg: HeadConfig, seed: int) -> MLPHead:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(hidden_layer_sizes=tuple(cfg.hidden), alpha=cfg.alpha, batch_size=cfg.batch_size,
                        learning_rate_init=cfg.learning_rate, max_iter=cfg.epochs, random_state=seed,
                        early_stopping=False, n_iter_no_change=cfg.epochs + 1, tol=0.0)
    yy = y if y.shape[1] > 1 else y[:, 0]
    # all-zero columns (a category absent from training, e.g. under the OOD protocol) still get an output
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(x, yy.astype(int))
    layers = [(w.astype(np.float32), b.astype(np.float32)) for w, b in zip(clf.coefs_, clf.intercepts_)]
    return MLPHead(layers, outputs)


def record_logits(head: MLPHead, p: Prepared) -> np.ndarray:
    """Max-over-chunks raw logits per record."""
    z = head.logits(p.feats)
    out = np.full((len(p.records), z.shape[1]), -np.inf, np.float32)
    np.maximum.at(out, p.owner, z)
    return out


def calibrate(head: MLPHead, dev: Prepared, y: np.ndarray, mask: np.ndarray) -> None:
    """Platt scaling per output on dev records (in place)."""
    from sklearn.linear_model import LogisticRegression

    z = record_logits(head, dev)[mask]
    y = y[mask]
    a = np.ones(z.shape[1], np.float32)
    b = np.zeros(z.shape[1], np.float32)
    for j in range(z.shape[1]):
        if 0 < y[:, j].sum() < len(y):
            lr = LogisticRegression(C=100.0).fit(z[:, j:j + 1], y[:, j])
            a[j], b[j] = float(lr.coef_[0, 0]), float(lr.intercept_[0])
    head.platt_a, head.platt_b = a, b


def best_threshold(p: np.ndarray, y: np.ndarray, lo: float = 0.1, hi: float = 0.9) -> tuple[float, float]:
    """Threshold in [lo, hi] maximising F1 on dev; (threshold, f1)."""
    if y.sum() < 5:
        return 0.5, float("nan")
    best = (0.5, -1.0)
    for t in np.arange(lo, hi + 1e-9, 0.025):
        pred = p >= t
        tp = float((pred & (y > 0)).sum())
        f1 = 2 * tp / max(1.0, pred.sum() + y.sum())
        if f1 > best[1] + 1e-9:
            best = (round(float(t), 3), f1)
    return best


def data_fingerprint(folder: Path) -> str:
    h = hashlib.sha256()
    for split in ("train", "dev", "test"):
        for ext in ("jsonl", "parquet"):
            p = folder / f"{split}.{ext}"
            if p.is_file():
                h.update(p.name.encode())
                with open(p, "rb") as f:
                    for block in iter(lambda: f.read(1 << 20), b""):
                        h.update(block)
    return h.hexdigest()[:16]


def _select(records: list[Record], ood: bool, exclude: list[str] = ()) -> list[Record]:
    drop = set(exclude)
    records = [r for r in records if r.source not in drop and f"{r.source}:{r.subset}" not in drop
               and not (r.weak_label and f"{r.source}:weak" in drop)]
    if not ood:
        return records
    return [r for r in records if not r.ood_source and not any(c in OOD_CATEGORIES for c in r.categories)]


def train(cfg: TrainConfig, encoder: Encoder | None = None, progress: Progress | None = None) -> dict[str, Path]:
    """Train the configured models; returns {model name: saved folder}."""
    t0 = time.perf_counter()
    np.random.seed(cfg.seed)
    encoder = encoder or default_encoder()
    if cfg.datasets_root is not None and not any((cfg.data / f"train.{x}").is_file() for x in ("jsonl", "parquet")):
        from ..data.build import build, write

        log.info("no GuardZoo build in %s: building it from %s", cfg.data, cfg.datasets_root)
        write(build(cfg.datasets_root, progress=(lambda n, k: progress(f"load {n}", k, k)) if progress else None),
              cfg.data)
    cache = EmbeddingCache(encoder, cfg.cache_dir or (cfg.data / ".cache"))
    train_recs = cap_sources(_select(read_split(cfg.data, "train"), cfg.ood_protocol, cfg.exclude), cfg.source_cap, cfg.seed)
    dev_recs = _select(read_split(cfg.data, "dev"), cfg.ood_protocol, cfg.exclude)
    tr = prepare(train_recs, cache, cfg.max_chunks, progress)
    dv = prepare(dev_recs, cache, cfg.max_chunks, progress)
    log.info("train records %d (rows %d), dev %d", len(tr.records), len(tr.feats), len(dv.records))
    heads_cfg = cfg.head
    # label-dropout free, deterministic: every head sees the same rows it is defined on
    stage = [0]
    n_heads = 1 + (len(DOMAINS) + 1 if "routeguard" in cfg.models else 0) + (1 if "monolith" in cfg.models else 0)

    def fit(name: str, x: np.ndarray, y: np.ndarray, outputs: list[str]) -> MLPHead:
        if progress:
            progress(f"fit {name}", stage[0], n_heads)
        h = fit_head(x, y, outputs, heads_cfg, cfg.seed)
        stage[0] += 1
        return h

    # 1. always-on binary expert: every record (including unsafe records of unknown category)
    general = fit("general", tr.feats, tr.y_unsafe[tr.owner][:, None], ["unsafe"])
    calibrate(general, dv, dv.y_unsafe[:, None], np.ones(len(dv.records), bool))
    p_dev_unsafe = sigmoid(record_logits(general, dv)[:, 0] * general.platt_a[0] + general.platt_b[0])
    t_unsafe, f1_unsafe = best_threshold(p_dev_unsafe, dv.y_unsafe)

    rows_k = tr.rows_of(tr.known)
    x_k = tr.feats[rows_k]
    yc_k = tr.y_cat[tr.owner[rows_k]]
    dev_known = dv.known
    fingerprint = data_fingerprint(cfg.data)
    meta_common: dict[str, Any] = {
        "trained_on": str(cfg.data), "data_fingerprint": fingerprint, "seed": cfg.seed,
        "ood_protocol": cfg.ood_protocol, "train_records": len(tr.records), "train_rows": int(len(tr.feats)),
        "dev_records": len(dv.records), "encoder": encoder.name, "config": json.loads(cfg.model_dump_json()),
    }
    saved: dict[str, Path] = {}

    dev_cat_f1: dict[str, float] = {}
    dev_decision_f1 = [float("nan")]

    def thresholds_for(heads: list[MLPHead]) -> tuple[dict[str, float], float]:
        """Per-category thresholds (dev F1), then the category gate maximising dev binary F1."""
        th, flags = {}, np.zeros(len(dv.records), bool)
        for h in heads:
            p = sigmoid(record_logits(h, dv) * h.platt_a + h.platt_b)
            for j, c in enumerate(h.outputs):
                if c in CATEGORIES:
                    th[c], dev_cat_f1[c] = best_threshold(p[dev_known, j], dv.y_cat[dev_known, CATEGORIES.index(c)])
                    flags |= p[:, j] >= th[c]
        y = dv.y_unsafe > 0
        best = (0.0, -1.0)
        for gate in (0.0, t_unsafe / 4, t_unsafe / 2, 3 * t_unsafe / 4, t_unsafe):
            pred = (p_dev_unsafe >= t_unsafe) | (flags & (p_dev_unsafe >= gate))
            f1 = 2 * float((pred & y).sum()) / max(1.0, float(pred.sum() + y.sum()))
            if f1 > best[1] + 1e-4:
                best = (round(float(gate), 4), f1)
        dev_decision_f1[0] = best[1]
        return th, best[0]

    if "routeguard" in cfg.models:
        # 2. router: domains + safe, on records whose categories are known
        y_dom = np.zeros((len(tr.records), len(DOMAINS) + 1), np.float32)
        for j, d in enumerate(DOMAINS):
            idx = [CATEGORIES.index(c) for c in categories_of(d) if c in CATEGORIES]
            y_dom[:, j] = tr.y_cat[:, idx].max(1)
        y_dom[:, -1] = 1 - tr.y_unsafe
        router_head = fit("router", x_k, y_dom[tr.owner[rows_k]], list(DOMAINS) + ["safe"])
        dv_dom = np.zeros((len(dv.records), len(DOMAINS) + 1), np.float32)
        for j, d in enumerate(DOMAINS):
            idx = [CATEGORIES.index(c) for c in categories_of(d) if c in CATEGORIES]
            dv_dom[:, j] = dv.y_cat[:, idx].max(1)
        dv_dom[:, -1] = 1 - dv.y_unsafe
        calibrate(router_head, dv, dv_dom, dev_known)
        # 3. one expert per domain over its categories; it sees every known record (others' are negatives)
        experts: dict[str, HeadExpert] = {"general": HeadExpert("general", general)}
        for d in DOMAINS:
            cats = [c for c in categories_of(d) if c in CATEGORIES]
            idx = [CATEGORIES.index(c) for c in cats]
            h = fit(f"expert {d}", x_k, yc_k[:, idx], cats)
            calibrate(h, dv, dv.y_cat[:, idx], dev_known)
            experts[d] = HeadExpert(d, h)
        th, gate = thresholds_for([e.head for n, e in experts.items() if n != "general"])
        router = Router(router_head)
        route_t = choose_route_threshold(router, experts, dv, cfg.router_recall)
        policy = Policy(thresholds=th, unsafe_threshold=t_unsafe, category_gate=gate, route_threshold=route_t)
        guard = RouteGuard(encoder, experts, router, policy, meta=dict(
            meta_common, name="routeguard", dev_category_f1=_rounded(dev_cat_f1), dev_decision_f1=round(dev_decision_f1[0], 4)))
        saved["routeguard"] = guard.save(cfg.out / "routeguard")
    if "monolith" in cfg.models:
        h = fit("monolith", x_k, yc_k, list(CATEGORIES))
        calibrate(h, dv, dv.y_cat, dev_known)
        th, gate = thresholds_for([h])
        policy = Policy(thresholds=th, unsafe_threshold=t_unsafe, category_gate=gate)
        guard = RouteGuard(encoder, {"general": HeadExpert("general", general), "monolith": HeadExpert("monolith", h)},
                           None, policy, meta=dict(meta_common, name="monolith", dev_category_f1=_rounded(dev_cat_f1),
                                                   dev_decision_f1=round(dev_decision_f1[0], 4)))
        saved["monolith"] = guard.save(cfg.out / "monolith")
    log.info("trained in %.0f s (dev binary F1 %.3f at %.3f)", time.perf_counter() - t0, f1_unsafe, t_unsafe)
    from .model_card import write_model_card

    if "routeguard" in saved:
        from .expand import expand

        for ex in cfg.expansions:
            if progress:
                progress(f"expand {ex.expert}", 0, 1)
            expand(saved["routeguard"], ex.expert, ex.categories, cfg.data, saved["routeguard"], head=cfg.head,
                   seed=cfg.seed, source_cap=cfg.source_cap, max_chunks=cfg.max_chunks, exclude=cfg.exclude,
                   cache_dir=cfg.cache_dir)
        if cfg.trajectory_head:      # after the expansions: the head reads the final experts' scores
            from ..agent.train_trajectory import fit_for_model

            if progress:
                progress("trajectory head", 0, 1)
            fit_for_model(saved["routeguard"], cfg.data, cache_dir=cfg.cache_dir, ood_protocol=cfg.ood_protocol,
                          log=log.info)

    for folder in saved.values():
        m = json.loads((folder / "model.json").read_text())
        m["meta"]["train_seconds"] = round(time.perf_counter() - t0, 1)
        m["meta"]["dev_binary_f1"] = round(f1_unsafe, 4)
        (folder / "model.json").write_text(json.dumps(m, indent=2))
        write_model_card(folder)
    return saved


def _rounded(d: dict[str, float]) -> dict[str, float | None]:
    return {k: (None if v != v else round(v, 4)) for k, v in d.items()}


def choose_route_threshold(router: Router, experts: dict[str, HeadExpert], dv: Prepared, target: float) -> float:
    """Largest route threshold whose dev router recall (unsafe records reaching all their domains) >= target."""
    from ..features import EncodedBatch

    batch = EncodedBatch([None] * len(dv.records), dv.feats, dv.owner, [], np.ones(len(dv.records)))  # type: ignore[list-item]
    scores = router.scores(batch)
    need = [(i, {d for d in DOMAINS if any(c in categories_of(d) for c in r.categories)})
            for i, r in enumerate(dv.records) if r.label == "unsafe" and r.categories]
    need = [(i, ds) for i, ds in need if ds]
    best = 0.05
    for t in np.arange(0.05, 0.6, 0.025):
        routes, _ = router.route(scores, Policy(route_threshold=float(t)))
        rec = np.mean([ds <= set(routes[i]) for i, ds in need]) if need else 1.0
        if rec >= target:
            best = round(float(t), 3)
    return best
