"""``routeguard score``: batch-score a corpus into resumable shards, locally or on a Ray cluster.

The input's records are numbered in order and cut into shards of ``shard_size`` records; each shard
is cut into batches of ``batch_size`` records, and each batch is judged by one ``check_batch`` call.
Both engines judge exactly these batches with the same code (:func:`records.score_items`), so their
verdicts are identical. A shard is written (rows, then a done-marker) as soon as it is complete; a
re-run skips finished shards. ``_manifest.json`` pins what the folder was made from (input files,
shard size, format, model fingerprint): resuming with anything else is refused, never mixed.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from ..errors import ConfigError
from .records import (FORMATS, Item, ModelSpec, count_records, discover, fingerprint_inputs, iter_items,
                      score_items, shard_finished, write_shard)

ENGINES = ("local", "ray")
MANIFEST = "_manifest.json"
MANIFEST_VERSION = 1
#: Progress callback: (records done, records to do).
Progress = Callable[[int, int], None]


@dataclass
class ShardWork:
    index: int
    batches: list[list[Item]]

    @property
    def size(self) -> int:
        return sum(len(b) for b in self.batches)


@dataclass
class ScoreReport:
    """What a ``score`` run did. ``records_per_s`` counts records judged in this run over its wall time
    (model loading and, for Ray, cluster start-up included)."""

    engine: str
    output: str
    records: int                 # in the input
    shards: int                  # in the input
    shards_skipped: int          # finished by an earlier run
    scored: int                  # records judged by this run
    flagged: int                 # of those, flagged (errors included: fail closed)
    errors: int                  # of those, error rows
    seconds: float
    workers: int = 1
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def records_per_s(self) -> float:
        return self.scored / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "records_per_s": round(self.records_per_s, 1)}


def _check_manifest(out: Path, manifest: dict[str, Any]) -> None:
    path = out / MANIFEST
    if path.is_file():
        try:
            old = json.loads(path.read_text())
        except json.JSONDecodeError as e:
            raise ConfigError(f"{path} is not valid JSON ({e}); use a new --output folder") from None
        for key in ("version", "inputs", "records", "shard_size", "format", "model_fingerprint"):
            if old.get(key) != manifest[key]:
                raise ConfigError(
                    f"--output {out} was written with {key}={old.get(key)!r}, this run has {key}={manifest[key]!r}; "
                    "resume with the same input, --shard-size, --format and model, or use a new --output folder")
        return
    if out.is_dir() and any(out.glob("part-*")):
        raise ConfigError(f"--output {out} holds shards but no {MANIFEST}; use a new --output folder")
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(manifest, indent=2))


def plan_shards(items: Iterator[Item], shard_size: int, batch_size: int, skip: Callable[[int], bool]
                ) -> Iterator[ShardWork]:
    """Cut the record stream into shards of batches; finished shards are read past, not yielded."""
    index, buf = 0, []
    for it in items:
        buf.append(it)
        if len(buf) == shard_size:
            if not skip(index):
                yield ShardWork(index, [buf[s:s + batch_size] for s in range(0, len(buf), batch_size)])
            index, buf = index + 1, []
    if buf and not skip(index):
        yield ShardWork(index, [buf[s:s + batch_size] for s in range(0, len(buf), batch_size)])


class LocalEngine:
    """Judge every batch in this process."""

    name = "local"

    def __init__(self, spec: ModelSpec, threads: int | None = None):
        self.guard = spec.load(threads)
        self.workers = 1

    def run(self, shards: Iterator[ShardWork], progress: Callable[[int], None]
            ) -> Iterator[tuple[int, list[dict[str, Any]]]]:
        for sw in shards:
            rows: list[dict[str, Any]] = []
            for batch in sw.batches:
                rows.extend(score_items(self.guard, batch))
                progress(len(batch))
            yield sw.index, rows

    def close(self) -> None:
        pass


def score(input: str | Path, output: str | Path, *, engine: str = "local", model: str | Path = "default",
          batch_size: int = 256, shard_size: int = 10_000, fmt: str = "jsonl", address: str | None = None,
          workers: int | None = None, cpus_per_worker: float = 1.0, window_records: int = 100_000,
          progress: Progress | None = None) -> ScoreReport:
    """Score every record of ``input`` (a JSONL/Parquet file or a folder of them) into shards under
    ``output``. See :mod:`routeguard.scale.score` for the contract; returns a :class:`ScoreReport`."""
    t0 = time.perf_counter()
    if engine not in ENGINES:
        raise ConfigError(f"--engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if fmt not in FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    for name, v in (("--batch-size", batch_size), ("--shard-size", shard_size)):
        if v < 1:
            raise ConfigError(f"{name} must be at least 1, got {v}")
    if engine == "local" and (address is not None or workers is not None):
        raise ConfigError("--address and --workers need --engine ray")
    if workers is not None and workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")
    root, files = discover(input)
    out = Path(output)
    if out.resolve() in (f.resolve() for f in files) or out.resolve() == root.resolve():
        raise ConfigError(f"--output {out} must not be the input")
    files = [f for f in files if out.resolve() not in f.resolve().parents]   # never read our own shards
    if not files:
        raise ConfigError(f"--input {root}: no input files outside --output {out}")
    spec = ModelSpec.resolve(model)
    n = count_records(files)
    n_shards = -(-n // shard_size)
    manifest = {"version": MANIFEST_VERSION, "input": str(root.resolve()), "inputs": fingerprint_inputs(root, files),
                "records": n, "shard_size": shard_size, "format": fmt, "model": spec.model,
                "model_fingerprint": spec.fingerprint}
    _check_manifest(out, manifest)
    finished = {i for i in range(n_shards) if shard_finished(out, i, fmt)}
    todo = sum(min(shard_size, n - i * shard_size) for i in range(n_shards) if i not in finished)
    done = 0

    def tick(k: int) -> None:
        nonlocal done
        done += k
        if progress is not None:
            progress(done, todo)

    if progress is not None:
        progress(0, todo)
    scored = flagged = errors = 0
    eng: Any = None
    if todo:
        if engine == "local":
            eng = LocalEngine(spec)
        else:
            from .ray_engine import RayEngine

            eng = RayEngine(spec, address=address, workers=workers or 2, cpus_per_worker=cpus_per_worker,
                            window_records=window_records)
        try:
            shards = plan_shards(iter_items(root, files), shard_size, batch_size, lambda i: i in finished)
            for index, rows in eng.run(shards, tick):
                write_shard(out, index, fmt, rows, {"engine": engine})
                scored += len(rows)
                flagged += sum(bool(r["flagged"]) for r in rows)
                errors += sum(r["error"] is not None for r in rows)
        finally:
            eng.close()
    return ScoreReport(engine=engine, output=str(out), records=n, shards=n_shards, shards_skipped=len(finished),
                       scored=scored, flagged=flagged, errors=errors, seconds=time.perf_counter() - t0,
                       workers=getattr(eng, "workers", 1) if eng is not None else (workers or 1),
                       extra={"batch_size": batch_size, "shard_size": shard_size, "format": fmt,
                              "model": spec.model, "model_fingerprint": spec.fingerprint})


def compare_outputs(a: str | Path, b: str | Path) -> dict[str, Any]:
    """Row-by-row comparison of two score folders: equal iff every row is identical (scores exactly)."""
    from .records import read_rows

    ra, rb = read_rows(Path(a)), read_rows(Path(b))
    diff = [i for i, (x, y) in enumerate(zip(ra, rb)) if x != y]
    return {"rows_a": len(ra), "rows_b": len(rb), "different_rows": len(diff) + abs(len(ra) - len(rb)),
            "first_differences": [(ra[i], rb[i]) for i in diff[:3]], "identical": ra == rb}


__all__ = ["ENGINES", "LocalEngine", "ScoreReport", "compare_outputs", "score"]
