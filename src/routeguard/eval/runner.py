"""Run guards over GuardZoo splits (or any unified JSONL) and collect every metric in one dict.

    from routeguard.eval import create_guard, load_datasets, run
    data = load_datasets("guardzoo", splits=["test", "ood"])
    results = run([create_guard("routeguard"), create_guard("monolith")], data)

The results dict is JSON-able and is all the report needs (``report.write_reports(results, out)``).
"""
from __future__ import annotations

import datetime as _dt
import json
import platform
import random
import time
from collections import Counter
from dataclasses import fields
from pathlib import Path
from typing import Any, Callable, Sequence

from ..data.schema import Record
from ..errors import ConfigError, InputError
from .guards import EvalGuard, Prediction
from .metrics import evaluate

__all__ = ["OOD", "load_datasets", "predict_all", "predictions_writer", "read_records", "run", "select_ood",
           "subsample"]

#: Pseudo-split: records of held-out sources or categories across train/dev/test.
OOD = "ood"
OOD_FROM = ("train", "dev", "test")
RESULTS_FORMAT = 1

Progress = Callable[[str, str, int, int], None]            # (guard, dataset, done, total)
PredictionSink = Callable[[str, str, Sequence[Record], Sequence[Prediction]], None]


#: the fields a full GuardZoo record must have; a line lacking any is read as a minimal record
_FULL = ("id", "source", "language", "target", "messages", "label")
_LABELS = {"safe": "safe", "unsafe": "unsafe", False: "safe", True: "unsafe", 0: "safe", 1: "unsafe"}


def record_from_dict(d: dict[str, Any], default_id: str, default_source: str) -> Record:
    """A Record from a full GuardZoo record, or from a minimal one: ``messages`` (OpenAI chat) or
    ``text`` (one user prompt), ``label`` (safe/unsafe, true/false or 1/0), optional ``target``
    (inferred from the messages when absent), ``categories``, ``id``, ``source``, ``language``.
    Other fields of a minimal record are kept in ``original_labels``. Raises ValueError."""
    if not isinstance(d, dict):
        raise ValueError(f"a record is a JSON object, not {type(d).__name__}")
    if all(k in d for k in _FULL):
        return Record.from_dict(d)
    from ..types import to_conversation

    known = {f.name for f in fields(Record)} | {"text"}
    if ("messages" in d) == ("text" in d):
        raise ValueError("give exactly one of 'messages' (a conversation) or 'text' (a prompt)")
    if "label" not in d:
        raise ValueError("missing 'label' (safe or unsafe)")
    label = d["label"]
    if isinstance(label, str):
        label = label.strip().lower()
    if not isinstance(label, (str, bool, int)) or label not in _LABELS:
        raise ValueError(f"label {d['label']!r}: use safe/unsafe, true/false or 1/0")
    if "text" in d:
        if not isinstance(d["text"], str) or not d["text"].strip():
            raise ValueError("'text' must be a non-empty string")
        messages = [{"role": "user", "content": d["text"]}]
    else:
        messages = d["messages"]
    try:
        conv = to_conversation(messages, d.get("target"))
        target = conv.resolved_target
        conv.focus_and_context()
    except InputError as e:
        raise ValueError(str(e)) from None
    extra = {k: v for k, v in d.items() if k not in known}
    original = d.get("original_labels") or {}
    if not isinstance(original, dict):
        raise ValueError("'original_labels' must be an object")
    categories = d.get("categories") or []
    if not isinstance(categories, list):
        raise ValueError("'categories' must be a list of category names")
    return Record(id=str(d.get("id") or default_id), source=str(d.get("source") or default_source),
                  language=str(d.get("language") or "und"), target=target,
                  messages=list(messages), label=_LABELS[label],
                  categories=categories, original_labels={**original, **extra},
                  **{k: d[k] for k in ("license", "policy", "subset", "style") if k in d})


def read_records(path: str | Path) -> list[Record]:
    """Records from a JSONL file: full GuardZoo records or minimal ones (:func:`record_from_dict`);
    errors name the file and line."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"no records file at {path}")
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                out.append(record_from_dict(json.loads(line), f"{path.stem}-{n}", path.stem))
            except (json.JSONDecodeError, TypeError, ValueError, KeyError) as e:
                raise ConfigError(f"{path} line {n}: not a record ({e}); a minimal record is "
                                  '{"text" or "messages", "label"[, "target", "categories", "id"]}') from None
    if not out:
        raise ConfigError(f"{path} holds no records")
    return out


def _read_split(folder: Path, split: str) -> list[Record]:
    from ..data.build import read_split

    try:
        return read_split(folder, split)
    except FileNotFoundError as e:
        have = sorted(p.stem for p in folder.glob("*.jsonl")) + sorted(p.stem for p in folder.glob("*.parquet"))
        raise ConfigError(f"{e}; splits there: {', '.join(have) or 'none'} (or '{OOD}')") from None


def select_ood(folder: str | Path) -> list[Record]:
    """Records flagged ``ood_source`` or ``ood_category`` across the train/dev/test splits.

    Only meaningful for a model trained with the out-of-domain protocol (these records held out)."""
    folder = Path(folder)
    out: list[Record] = []
    found = 0
    for split in OOD_FROM:
        try:
            recs = _read_split(folder, split)
        except ConfigError:
            continue
        found += 1
        out.extend(r for r in recs if r.ood_source or r.ood_category)
    if not found:
        raise ConfigError(f"{folder}: none of {', '.join(OOD_FROM)} found, so no '{OOD}' selection")
    return out


def subsample(records: list[Record], limit: int | None, seed: int = 0) -> list[Record]:
    """At most ``limit`` records, a deterministic random sample kept in file order."""
    if limit is None or len(records) <= limit:
        return records
    if limit < 1:
        raise ConfigError(f"limit must be at least 1, got {limit}")
    keep = sorted(random.Random(seed).sample(range(len(records)), limit))
    return [records[i] for i in keep]


def load_datasets(data: str | Path | None = None, splits: Sequence[str] = ("test",),
                  files: Sequence[str | Path] = (), *, limit: int | None = None,
                  seed: int = 0) -> dict[str, list[Record]]:
    """Named record sets: each split of the build folder ``data`` (``ood`` included) and each file."""
    out: dict[str, list[Record]] = {}
    if data is not None:
        folder = Path(data)
        if not folder.is_dir():
            raise ConfigError(f"no GuardZoo build folder at {folder}")
        for s in splits:
            recs = select_ood(folder) if s == OOD else _read_split(folder, s)
            out[s] = subsample(recs, limit, seed)
    for f in files:
        name = Path(f).stem
        while name in out:
            name += "'"
        out[name] = subsample(read_records(f), limit, seed)
    if not out:
        raise ConfigError("nothing to evaluate: give a build folder with splits, or a records file")
    for name, recs in out.items():
        if not recs:
            raise ConfigError(f"dataset {name!r} holds no records")
    return out


def _describe(records: Sequence[Record]) -> dict[str, Any]:
    return {"n": len(records), "n_unsafe": sum(r.label == "unsafe" for r in records),
            "sources": dict(Counter(r.source for r in records).most_common()),
            "languages": dict(Counter(r.language for r in records).most_common()),
            "targets": dict(Counter(r.target for r in records).most_common())}


def predict_all(guard: EvalGuard, records: Sequence[Record], *, batch_size: int = 64,
                on_batch: Callable[[int], None] | None = None) -> list[Prediction]:
    """The guard's predictions for every record, batch by batch. A batch that raises, or returns the
    wrong number of predictions, becomes error predictions (flagged), and the run goes on."""
    preds: list[Prediction] = []
    for s in range(0, len(records), batch_size):
        part = list(records[s:s + batch_size])
        t0 = time.perf_counter()
        try:
            got = guard.predict(part)
            if len(got) != len(part):
                raise RuntimeError(f"guard {guard.name} returned {len(got)} predictions for {len(part)} records")
            if not all(isinstance(p, Prediction) for p in got):
                raise TypeError(f"guard {guard.name} returned something other than Prediction objects")
        except Exception as e:  # noqa: BLE001 - a failing guard must not stop the run, nor pass as safe
            ms = (time.perf_counter() - t0) * 1000 / len(part)
            got = [Prediction.failed(f"{type(e).__name__}: {e}", ms) for _ in part]
        preds.extend(got)
        if on_batch:
            on_batch(len(part))
    return preds


def run(guards: Sequence[EvalGuard], datasets: dict[str, list[Record]], *, batch_size: int = 64,
        progress: Progress | None = None, on_predictions: PredictionSink | None = None,
        meta: dict[str, Any] | None = None, warmup: bool = True) -> dict[str, Any]:
    """Every guard over every dataset; returns the JSON-able results dict.

    With ``warmup`` each guard first judges one record untimed (lazy loading, first-call costs)."""
    if batch_size < 1:
        raise ConfigError(f"batch_size must be at least 1, got {batch_size}")
    if not guards:
        raise ConfigError("no guard to evaluate")
    names: list[str] = []
    for g in guards:
        base, k = g.name, 2
        while g.name in names:
            g.name = f"{base}#{k}"
            k += 1
        names.append(g.name)
    from .. import __version__

    results: dict[str, Any] = {
        "format": RESULTS_FORMAT,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "routeguard_version": __version__,
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "processor": platform.processor() or platform.machine()},
        "settings": {"batch_size": batch_size, "warmup": warmup, **(meta or {})},
        "datasets": {name: _describe(recs) for name, recs in datasets.items()},
        "guards": {g.name: g.info() for g in guards},
        "results": {g.name: {} for g in guards},
    }
    for g in guards:
        if warmup:
            first = next((recs[:1] for recs in datasets.values() if recs), [])
            try:
                g.predict(list(first))
            except Exception:  # noqa: BLE001 - the timed run reports the failure per record
                pass
        for dname, recs in datasets.items():
            done = [0]

            def tick(n: int, g: EvalGuard = g, dname: str = dname, total: int = len(recs)) -> None:
                done[0] += n
                if progress:
                    progress(g.name, dname, done[0], total)

            t0 = time.perf_counter()
            preds = predict_all(g, recs, batch_size=batch_size, on_batch=tick)
            wall = time.perf_counter() - t0
            m = evaluate(recs, preds, guard_categories=g.categories, routed=g.routed)
            m["wall_s"] = wall
            m["throughput_rps"] = len(recs) / wall if wall > 0 else None
            results["results"][g.name][dname] = m
            if on_predictions:
                on_predictions(g.name, dname, recs, preds)
    return results


def predictions_writer(folder: str | Path) -> PredictionSink:
    """A sink for :func:`run` that writes ``<folder>/<guard>__<dataset>.jsonl`` (one line per record:
    id, source, label, categories and the guard's prediction) for error analysis."""
    import re

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)

    def sink(guard: str, dataset: str, records: Sequence[Record], preds: Sequence[Prediction]) -> None:
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{guard}__{dataset}")
        with open(folder / f"{safe}.jsonl", "w", encoding="utf-8") as f:
            for r, p in zip(records, preds):
                row = {"id": r.id, "source": r.source, "language": r.language, "target": r.target,
                       "label": r.label, "categories": r.categories, **p.to_dict()}
                if r.original_labels:
                    row["original_labels"] = r.original_labels
                f.write(json.dumps(row, ensure_ascii=False) + "\n")

    return sink
