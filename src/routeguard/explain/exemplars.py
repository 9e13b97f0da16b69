"""Provenance: a small index of labelled GuardZoo training examples, for "nearest examples" in critiques.

The index holds, per example, an int8-quantised encoder embedding of the judged text (its first
encoder chunk, as the guard's features see it), and the record's id, source dataset, label, target
and categories — **no text**: dataset text is not redistributed in the package. At explain time the
text is looked up by id in a GuardZoo build folder when one is available (``guardzoo=`` argument,
``ROUTEGUARD_GUARDZOO``, default ``./guardzoo``).

The index depends only on the encoder (not on any trained head), so retraining the guard does not
invalidate it; loading checks the encoder name and dimension.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import random
from collections import defaultdict
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from ..errors import ConfigError

__all__ = ["DEFAULT_GUARDZOO_ENV", "ExemplarIndex", "Neighbour", "build_exemplar_index", "default_guardzoo",
           "default_index_path", "lookup_texts"]

INDEX_FORMAT = 1
DEFAULT_GUARDZOO_ENV = "ROUTEGUARD_GUARDZOO"


def default_index_path() -> Path:
    """The packaged index (``routeguard/models/exemplars.npz``)."""
    return Path(str(resources.files("routeguard") / "models" / "exemplars.npz"))


def default_guardzoo() -> Path:
    return Path(os.environ.get(DEFAULT_GUARDZOO_ENV, "guardzoo"))


@dataclass
class Neighbour:
    id: str
    source: str
    label: str
    categories: list[str]
    target: str
    similarity: float


def _quantise(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scale = np.abs(v).max(axis=1) / 127.0
    scale[scale == 0] = 1.0
    q = np.clip(np.rint(v / scale[:, None]), -127, 127).astype(np.int8)
    return q, scale.astype(np.float32)


class ExemplarIndex:
    """Nearest labelled examples by cosine similarity over int8 embeddings."""

    def __init__(self, vectors: np.ndarray, scale: np.ndarray, ids: np.ndarray, sources: np.ndarray,
                 labels: np.ndarray, categories: np.ndarray, targets: np.ndarray, meta: dict[str, Any]):
        self.q, self.scale = vectors, scale
        self.ids, self.sources, self.labels, self.cats, self.targets = ids, sources, labels, categories, targets
        self.meta = meta
        deq = vectors.astype(np.float32) * scale[:, None]
        norms = np.linalg.norm(deq, axis=1)
        norms[norms == 0] = 1.0
        self._unit = deq / norms[:, None]

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def encoder_name(self) -> str:
        return str(self.meta.get("encoder", {}).get("name", ""))

    @classmethod
    def load(cls, path: str | Path | None = None) -> "ExemplarIndex":
        path = Path(path) if path is not None else default_index_path()
        if not path.is_file():
            raise ConfigError(f"no exemplar index at {path} (build one with routeguard.explain.build_exemplar_index)")
        with np.load(path, allow_pickle=False) as z:
            need = {"vectors", "scale", "ids", "sources", "labels", "categories", "targets", "meta"}
            missing = need - set(z.files)
            if missing:
                raise ConfigError(f"{path}: not an exemplar index (missing {sorted(missing)})")
            meta = json.loads(str(z["meta"]))
            if meta.get("format") != INDEX_FORMAT:
                raise ConfigError(f"{path}: unsupported exemplar index format {meta.get('format')!r}")
            return cls(z["vectors"], z["scale"], z["ids"], z["sources"], z["labels"], z["categories"], z["targets"],
                       meta)

    def check_encoder(self, encoder: Any) -> None:
        enc = self.meta.get("encoder", {})
        if enc.get("name") != encoder.name or int(enc.get("dim", -1)) != encoder.dim:
            raise ConfigError(f"exemplar index was built with encoder {enc.get('name')!r} ({enc.get('dim')}-d); "
                              f"the guard uses {encoder.name!r} ({encoder.dim}-d)")

    def nearest(self, vector: np.ndarray, k: int = 5) -> list[Neighbour]:
        v = np.asarray(vector, np.float32).reshape(-1)
        n = np.linalg.norm(v)
        if n == 0 or len(self) == 0:
            return []
        sims = self._unit @ (v / n)
        top = np.argsort(-sims, kind="stable")[:k]
        return [Neighbour(str(self.ids[i]), str(self.sources[i]), str(self.labels[i]),
                          [c for c in str(self.cats[i]).split(",") if c], str(self.targets[i]), float(sims[i]))
                for i in top]

    def sources_summary(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for s in self.sources:
            out[str(s)] += 1
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def _focus(record: Any) -> str | None:
    from ..training.fitting import to_conv

    try:
        text = to_conv(record).focus_and_context()[0]
    except Exception:  # noqa: BLE001 - malformed records are skipped
        return None
    return text if text.strip() else None


def build_exemplar_index(guardzoo_folder: str | Path, out_file: str | Path, *, per_source: int = 60,
                         min_per_category: int = 30, split: str = "train", encoder: Any = None, seed: int = 0,
                         progress: Callable[[int, int], None] | None = None) -> Path:
    """Sample up to ``per_source`` records of every source of ``split`` (stratified over label and
    category), top up categories with fewer than ``min_per_category`` examples, embed their judged
    text with ``encoder`` (default: the embedded MiniLM) and save the int8 index to ``out_file``."""
    from ..data.build import read_split
    from ..encoders import default_encoder
    from ..taxonomy import CATEGORIES

    folder = Path(guardzoo_folder)
    if not folder.is_dir():
        raise ConfigError(f"no GuardZoo build folder at {folder}")
    if per_source < 1:
        raise ConfigError(f"per_source must be at least 1, got {per_source}")
    try:
        records = read_split(folder, split)
    except FileNotFoundError as e:
        raise ConfigError(str(e)) from None
    rng = random.Random(seed)
    by_src: dict[str, dict[tuple[str, str], list[Any]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        by_src[r.source][(r.label, r.categories[0] if r.categories else "")].append(r)
    chosen: dict[str, Any] = {}
    texts: dict[str, str] = {}

    def take(r: Any) -> bool:
        if r.id in chosen:
            return False
        t = _focus(r)
        if t is None:
            return False
        chosen[r.id], texts[r.id] = r, t
        return True

    for src in sorted(by_src):
        groups = {k: rng.sample(v, len(v)) for k, v in sorted(by_src[src].items())}
        got = 0
        while got < per_source and any(groups.values()):
            for k in list(groups):
                if got >= per_source:
                    break
                while groups[k]:
                    if take(groups[k].pop()):
                        got += 1
                        break
                if not groups[k]:
                    del groups[k]
    count = defaultdict(int)
    for r in chosen.values():
        for c in r.categories:
            count[c] += 1
    for c in CATEGORIES:
        if count[c] >= min_per_category:
            continue
        pool = [r for r in records if c in r.categories and r.id not in chosen]
        for r in rng.sample(pool, len(pool)):
            if count[c] >= min_per_category:
                break
            if take(r):
                for cc in r.categories:
                    count[cc] += 1
    encoder = encoder or default_encoder()
    ids = sorted(chosen)
    first_chunks = []
    for i in ids:
        ch = encoder.chunk(texts[i])
        first_chunks.append(ch[0] if ch else texts[i])
    vecs = []
    step = 256
    for s in range(0, len(first_chunks), step):
        vecs.append(encoder.encode(first_chunks[s:s + step]))
        if progress:
            progress(min(s + step, len(first_chunks)), len(first_chunks))
    v = np.concatenate(vecs) if vecs else np.zeros((0, encoder.dim), np.float32)
    q, scale = _quantise(v)
    card = folder / "card.json"
    meta = {"format": INDEX_FORMAT, "encoder": {"name": encoder.name, "dim": encoder.dim,
                                                "max_tokens": encoder.max_tokens},
            "split": split, "per_source": per_source, "min_per_category": min_per_category, "seed": seed,
            "n": len(ids), "sources": len(by_src),
            "data_card_sha1": hashlib.sha1(card.read_bytes()).hexdigest() if card.is_file() else None,
            "built": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "note": "int8 embeddings + record ids/labels/categories only; no dataset text"}
    out = Path(out_file)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        out, vectors=q, scale=scale, ids=np.array(ids, dtype=str),
        sources=np.array([chosen[i].source for i in ids], dtype=str),
        labels=np.array([chosen[i].label for i in ids], dtype=str),
        categories=np.array([",".join(chosen[i].categories) for i in ids], dtype=str),
        targets=np.array([chosen[i].target for i in ids], dtype=str),
        meta=np.array(json.dumps(meta)))
    return out


def lookup_texts(guardzoo_folder: str | Path | None, ids: Iterable[str], split: str = "train",
                 max_chars: int = 400) -> dict[str, str]:
    """Judged text of the given record ids from a GuardZoo build folder ({} if it is not there)."""
    folder = Path(guardzoo_folder) if guardzoo_folder is not None else default_guardzoo()
    path = folder / f"{split}.jsonl"
    want = set(ids)
    if not want or not path.is_file():
        return {}
    from ..data.schema import Record

    out: dict[str, str] = {}
    prefix = '{"id": "'
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith(prefix):
                end = line.find('"', len(prefix))
                rid = line[len(prefix):end]
                if rid not in want:
                    continue
            try:
                rec = Record.from_dict(json.loads(line))
            except (ValueError, TypeError, KeyError):
                continue
            if rec.id not in want:
                continue
            t = _focus(rec) or ""
            out[rec.id] = t if len(t) <= max_chars else t[:max_chars] + "…"
            if len(out) == len(want):
                break
    return out
