"""What every head trainer shares: feature rows of GuardZoo records (through the embedding cache), source
and style balancing, fitting an MLP head, Platt calibration and F1 thresholds. Used by the base training
(:mod:`.train`), modular expansion (:mod:`.expand`) and the operating points (:mod:`.operating_points`).
"""
from __future__ import annotations

import hashlib
import logging
import random
import warnings
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..data.schema import Record
from ..encoders import new_sentences
from ..encoders.base import Encoder
from ..errors import InputError
from ..features import CONTEXT_CHARS, assemble_features
from ..heads import MLPHead
from ..taxonomy import CATEGORIES, OOD_CATEGORIES
from ..types import Conversation, Message
from .config import HeadConfig, SentenceNegatives
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
    row_weight: np.ndarray  # (rows,) share of its record's weight a row carries (1 for a window row)

    def rows_of(self, mask: np.ndarray) -> np.ndarray:
        return np.nonzero(mask[self.owner])[0]


def to_conv(r: Record) -> Conversation:
    return Conversation(messages=[Message.model_validate(m) for m in r.messages], target=r.target)


def prepare(records: list[Record], cache: EmbeddingCache, max_chunks: int, progress: Progress | None = None,
            sentences: SentenceNegatives = SentenceNegatives(), seed: int = 0) -> Prepared:
    """Feature rows of ``records``: one per token window (at most ``max_chunks``), plus the sentence rows of
    ``sentences`` (off by default)."""
    enc = cache.encoder
    kept, chunks, contexts, targets, weights = [], [], [], [], []
    for r in records:
        try:
            focus, ctx = to_conv(r).focus_and_context()
        except (InputError, ValueError) as e:
            log.debug("skipping %s: %s", r.id, e)
            continue
        ch = _windows(enc, focus) if focus.strip() else [focus]
        if len(ch) > max_chunks:               # first chunk + the last ones (harm is often at the end)
            ch = ch[:1] + ch[-(max_chunks - 1):]
        alone = benign_sentences(focus, ch, sentences.k, f"{seed}:{r.id}") if sentences.applies(r, len(ch)) else []
        weights += [1.0] * len(ch) + [sentences.weight / max(1, len(alone))] * len(alone)
        ch = ch + alone
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
    feats, owner = assemble_features(cache.get, enc.dim, chunks, contexts, targets)
    y_cat = np.zeros((len(kept), len(CATEGORIES)), np.float32)
    for i, r in enumerate(kept):
        for c in r.categories:
            if c in CATEGORIES:
                y_cat[i, CATEGORIES.index(c)] = 1
    y_unsafe = np.array([r.label == "unsafe" for r in kept], np.float32)
    known = (y_unsafe == 0) | (y_cat.sum(1) > 0)
    return Prepared(kept, feats, owner, y_cat, y_unsafe, known, np.array(weights, np.float32))


def benign_sentences(focus: str, windows: list[str], k: int, key: str) -> list[str]:
    """Up to ``k`` sentences of ``focus`` that are not already rows (a sample seeded by ``key``), if it
    holds two or more: what the run-time re-read would score alone."""
    parts = new_sentences(focus, windows)
    if len(parts) < 2:
        return []
    if len(parts) > k:
        parts = random.Random(key).sample(parts, k)
    return parts


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


def style_weights(records: list[Record]) -> np.ndarray:
    """Per-record training weights so that neither the writing style nor the judged target predicts the
    label.

    Within each style that has both labels, the benign records are up-weighted until they weigh at least
    as much as the unsafe ones (nothing is down-weighted): a tweet, a forum post or a web sentence is
    then no more likely unsafe than not, whatever the sources' mix. The same is then done per target
    (prompt / response / conversation / trajectory) on those weights: multi-turn attacks far outnumber
    benign multi-turn chat in the sources, and a conversation must not look unsafe for being one. Groups
    with one label keep their weight. Mean weight is normalised to 1.
    """
    w = np.ones(len(records), np.float32)
    safe_mask = np.array([r.label == "safe" for r in records], bool)
    for key in (lambda r: r.style, lambda r: r.target):
        groups: dict[str, list[int]] = defaultdict(list)
        for i, r in enumerate(records):
            groups[key(r)].append(i)
        for idx in groups.values():
            ix = np.array(idx)
            safe_w, unsafe_w = w[ix][safe_mask[ix]].sum(), w[ix][~safe_mask[ix]].sum()
            if safe_w and unsafe_w > safe_w:
                w[ix[safe_mask[ix]]] *= unsafe_w / safe_w
    return w / w.mean() if len(w) else w


def fit_head(x: np.ndarray, y: np.ndarray, outputs: list[str], cfg: HeadConfig, seed: int,
             sample_weight: np.ndarray | None = None) -> MLPHead:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(hidden_layer_sizes=tuple(cfg.hidden), alpha=cfg.alpha, batch_size=cfg.batch_size,
                        learning_rate_init=cfg.learning_rate, max_iter=cfg.epochs, random_state=seed,
                        early_stopping=False, n_iter_no_change=cfg.epochs + 1, tol=0.0)
    yy = y if y.shape[1] > 1 else y[:, 0]
    # all-zero columns (a category absent from training, e.g. under the OOD protocol) still get an output
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(x, yy.astype(int), sample_weight=sample_weight)
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
