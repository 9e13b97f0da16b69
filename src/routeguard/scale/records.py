"""Batch-scoring records: reading inputs, turning records into conversations, verdict rows, shards.

Both scoring engines (local and Ray) share everything here, so they judge the same batches of the
same records with the same code: that is what makes their verdicts identical.

Input records (one per JSONL line or Parquet row):

- a JSON string: a user prompt;
- a list of chat messages (OpenAI shape);
- an object with ``messages`` (a GuardZoo record, or any ``{"id", "messages", "target"?}``) or
  ``text``; ``id`` is kept, ``target`` is honoured, other keys are ignored.

A record without an ``id`` is named ``<file>:<line>`` (JSONL) or ``<file>:<row>`` (Parquet, 1-based).
A record that cannot be judged (bad JSON or UTF-8, no text, unknown target...) yields an *error row*:
``flagged`` true (fail closed), ``unsafe_score`` null and ``error`` set. No record is ever dropped.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

from ..errors import ConfigError, InputError
from ..types import Conversation, Verdict, to_conversation

JSONL_SUFFIXES = (".jsonl", ".ndjson")
PARQUET_SUFFIXES = (".parquet",)
INPUT_SUFFIXES = JSONL_SUFFIXES + PARQUET_SUFFIXES
FORMATS = ("jsonl", "parquet")
#: the columns of every output row, in order
OUTPUT_COLUMNS = ("id", "flagged", "unsafe_score", "categories", "route", "degraded", "error")


@dataclass(frozen=True)
class Item:
    """One input record as read: its fallback id, its JSON text, or why it could not be read."""

    fallback_id: str
    payload: str | None
    error: str | None = None

    def to_list(self) -> list[Any]:
        return [self.fallback_id, self.payload, self.error]


# --- inputs -------------------------------------------------------------------------------------------

def discover(path: str | Path) -> tuple[Path, list[Path]]:
    """The input root and its record files (a file, or every JSONL/Parquet file under a folder, sorted)."""
    root = Path(path)
    if root.is_file():
        if root.suffix.lower() not in INPUT_SUFFIXES:
            raise ConfigError(f"--input {root}: unsupported file type {root.suffix!r}; "
                              f"use {', '.join(INPUT_SUFFIXES)}")
        return root, [root]
    if not root.is_dir():
        raise ConfigError(f"--input {root}: no such file or folder")
    files = sorted(p for p in root.rglob("*")
                   if p.is_file() and p.suffix.lower() in INPUT_SUFFIXES
                   and not any(part.startswith((".", "_")) for part in p.relative_to(root).parts))
    if not files:
        raise ConfigError(f"--input {root}: the folder holds no {'/'.join(INPUT_SUFFIXES)} files")
    return root, files


def _relname(root: Path, f: Path) -> str:
    return f.name if root.is_file() else f.relative_to(root).as_posix()


def count_records(files: Sequence[Path]) -> int:
    """Records in ``files`` (non-blank JSONL lines, Parquet rows), without parsing them."""
    n = 0
    for f in files:
        if f.suffix.lower() in PARQUET_SUFFIXES:
            import pyarrow.parquet as pq

            n += pq.ParquetFile(f).metadata.num_rows
        else:
            with open(f, "rb") as fh:
                n += sum(1 for raw in fh if raw.strip())
    return n


def iter_items(root: Path, files: Sequence[Path]) -> Iterator[Item]:
    """Every record of ``files`` in order, as :class:`Item` (never parsed here, never dropped)."""
    for f in files:
        name = _relname(root, f)
        if f.suffix.lower() in PARQUET_SUFFIXES:
            yield from _parquet_items(f, name)
            continue
        with open(f, "rb") as fh:
            for line, raw in enumerate(fh, 1):
                if not raw.strip():
                    continue
                try:
                    yield Item(f"{name}:{line}", raw.decode("utf-8").strip())
                except UnicodeDecodeError as e:
                    yield Item(f"{name}:{line}", None, f"line {line}: not valid UTF-8 ({e.reason} at byte {e.start})")


def _parquet_items(f: Path, name: str) -> Iterator[Item]:
    try:
        import pyarrow.parquet as pq
    except ImportError as e:  # pragma: no cover - pyarrow comes with the ray/data extras
        raise ConfigError(f"reading {f} needs pyarrow (pip install 'routeguard[data]')") from e
    row = 0
    for batch in pq.ParquetFile(f).iter_batches(batch_size=4096):
        for rec in batch.to_pylist():
            row += 1
            try:
                yield Item(f"{name}:{row}", json.dumps(rec, ensure_ascii=False, default=str))
            except (TypeError, ValueError) as e:
                yield Item(f"{name}:{row}", None, f"row {row}: cannot be represented as JSON ({e})")


def fingerprint_inputs(root: Path, files: Sequence[Path]) -> list[list[Any]]:
    """What the manifest remembers of the input: each file's name and size."""
    return [[_relname(root, f), f.stat().st_size] for f in files]


# --- records -> conversations -------------------------------------------------------------------------

def _clean_message(m: Any) -> Any:
    # Parquet structs carry every field, absent ones as None: drop those so defaults apply
    return {k: v for k, v in m.items() if v is not None} if isinstance(m, dict) else m


def parse_item(item: Item) -> tuple[str, Conversation | None, str | None]:
    """(record id, conversation, None) or (record id, None, why it cannot be judged)."""
    rid = item.fallback_id
    if item.error is not None or item.payload is None:
        return rid, None, item.error or "empty record"
    try:
        obj = json.loads(item.payload)
    except json.JSONDecodeError as e:
        return rid, None, f"not valid JSON ({e.msg} at column {e.colno})"
    target = None
    if isinstance(obj, dict):
        if obj.get("id") is not None:
            rid = str(obj["id"])
        if obj.get("messages") is not None:
            msgs = obj["messages"]
            x: Any = [_clean_message(m) for m in msgs] if isinstance(msgs, list) else msgs
        elif isinstance(obj.get("text"), str):
            x = obj["text"]
        else:
            return rid, None, "record has neither 'messages' nor a 'text' string"
        target = obj.get("target")
    elif isinstance(obj, (str, list)):
        x = obj
    else:
        return rid, None, f"a record must be a string, a list of messages or an object, not {type(obj).__name__}"
    try:
        conv = to_conversation(x, target)
        conv.focus_and_context()
    except InputError as e:
        return rid, None, str(e)
    return rid, conv, None


def verdict_row(rid: str, v: Verdict) -> dict[str, Any]:
    return {"id": rid, "flagged": bool(v.flagged), "unsafe_score": float(v.unsafe_score),
            "categories": list(v.flagged_categories), "route": list(v.route.experts),
            "degraded": bool(v.degraded), "error": None}


def error_row(rid: str, error: str, degraded: bool = False) -> dict[str, Any]:
    """Fail closed: a record that could not be judged is flagged, with no score."""
    return {"id": rid, "flagged": True, "unsafe_score": None, "categories": [], "route": [],
            "degraded": degraded, "error": error}


def single_threaded_blas() -> Any:
    """A context in which numpy's BLAS runs on one thread.

    The router and expert heads are numpy matmuls, and OpenBLAS splits a product differently with
    another thread count, which moves scores in the last float bits. Ray gives each actor
    ``OMP_NUM_THREADS=num_cpus``; pinning BLAS to one thread in every engine makes their scores
    bit-identical (the heads are a small part of the cost; onnxruntime's thread count does not
    change the embeddings)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        from contextlib import nullcontext

        return nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def score_items(guard: Any, items: Sequence[Item]) -> list[dict[str, Any]]:
    """Judge one batch of records with one ``check_batch`` call; one output row per record, in order."""
    parsed = [parse_item(it) for it in items]
    convs = [c for _, c, _ in parsed if c is not None]
    results: list[Any] = []
    guard_error: str | None = None
    if convs:
        try:
            with single_threaded_blas():
                results = list(guard.check_batch(convs))
        except Exception as e:  # noqa: BLE001 - the batch's records become error rows, never "safe"
            guard_error = f"the guard failed: {type(e).__name__}: {e}"
    rows, k = [], 0
    for rid, conv, err in parsed:
        if conv is None:
            rows.append(error_row(rid, err or "cannot be judged"))
            continue
        if guard_error is not None:
            rows.append(error_row(rid, guard_error, degraded=True))
        else:
            r = results[k]
            rows.append(verdict_row(rid, r) if isinstance(r, Verdict) else error_row(rid, str(r.error)))
        k += 1
    return rows


# --- shards -------------------------------------------------------------------------------------------

def shard_name(index: int, fmt: str) -> str:
    return f"part-{index:05d}.{fmt}"


def done_name(index: int) -> str:
    return f"part-{index:05d}.done"


def shard_finished(out: Path, index: int, fmt: str) -> bool:
    """A shard is finished when both its output file and its done-marker exist."""
    return (out / shard_name(index, fmt)).is_file() and (out / done_name(index)).is_file()


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _parquet_bytes(rows: Sequence[dict[str, Any]]) -> bytes:
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([("id", pa.string()), ("flagged", pa.bool_()), ("unsafe_score", pa.float64()),
                        ("categories", pa.list_(pa.string())), ("route", pa.list_(pa.string())),
                        ("degraded", pa.bool_()), ("error", pa.string())])
    table = pa.Table.from_pylist([{c: r[c] for c in OUTPUT_COLUMNS} for r in rows], schema=schema)
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def write_shard(out: Path, index: int, fmt: str, rows: Sequence[dict[str, Any]], info: dict[str, Any]) -> Path:
    """Write the shard's rows, then its done-marker (each atomically, marker last)."""
    path = out / shard_name(index, fmt)
    if fmt == "parquet":
        data = _parquet_bytes(rows)
    else:
        data = "".join(json.dumps({c: r[c] for c in OUTPUT_COLUMNS}, ensure_ascii=False) + "\n"
                       for r in rows).encode("utf-8")
    _atomic_write(path, data)
    marker = {"records": len(rows), "flagged": sum(bool(r["flagged"]) for r in rows),
              "errors": sum(r["error"] is not None for r in rows), **info}
    _atomic_write(out / done_name(index), json.dumps(marker).encode())
    return path


def read_rows(out: Path) -> list[dict[str, Any]]:
    """Every output row of a score folder, shard by shard (for tests and comparisons)."""
    rows: list[dict[str, Any]] = []
    for p in sorted(out.glob("part-*.*")):
        if p.suffix == ".jsonl":
            rows.extend(json.loads(line) for line in p.read_text(encoding="utf-8").splitlines() if line)
        elif p.suffix == ".parquet":
            import pyarrow.parquet as pq

            rows.extend(pq.read_table(p).to_pylist())
    return rows


# --- the model a worker loads -------------------------------------------------------------------------

#: Where a model's own encoder folder travels inside a :class:`ModelSpec`.
ENCODER_DIR = "encoder"


@dataclass(frozen=True)
class ModelSpec:
    """The model's files, shipped by value: every worker loads exactly the driver's model, also on
    cluster nodes that do not have the folder (or have another version of the packaged one)."""

    model: str
    files: tuple[tuple[str, bytes], ...] = ()
    fingerprint: str = ""

    @classmethod
    def resolve(cls, model: str | Path) -> "ModelSpec":
        from ..loading import PACKAGED, packaged_path

        name = str(model)
        folder = packaged_path(name) if name in PACKAGED else Path(name)
        files = []
        for fn in ("model.json", "weights.npz"):
            p = folder / fn
            if not p.is_file():
                raise ConfigError(f"no model at {folder} (needs model.json and weights.npz); "
                                  "pass --model 'default', 'monolith' or a model folder")
            files.append((fn, p.read_bytes()))
        from ..guard import ATTACHMENTS

        files += [(fn, (folder / fn).read_bytes()) for fn in ATTACHMENTS if (folder / fn).is_file()]
        rel = json.loads(dict(files)["model.json"]).get("encoder", {}).get("folder")
        if rel:                        # a fine-tuned encoder beside the model (the default's ../encoder)
            enc = (folder / rel).resolve()
            if not (enc / "tokenizer.json").is_file():
                raise ConfigError(f"model {folder} names encoder folder {rel!r}, which has no tokenizer.json")
            files += [(f"{ENCODER_DIR}/{q.relative_to(enc).as_posix()}", q.read_bytes())
                      for q in sorted(enc.rglob("*")) if q.is_file()]
        h = hashlib.sha256()
        for fn, data in files:
            h.update(fn.encode() + b"\0" + data)
        return cls(name, tuple(files), h.hexdigest()[:16])

    def materialize(self, root: Path) -> Path:
        """Write the files under ``root`` and return the model folder (its encoder, if any, beside it)."""
        model = root / "model"
        for fn, data in self.files:
            if fn.startswith(ENCODER_DIR + "/"):
                path = root / fn
            else:
                path = model / fn
                if fn == "model.json":
                    cfg = json.loads(data)
                    if cfg.get("encoder", {}).get("folder"):
                        cfg["encoder"]["folder"] = f"../{ENCODER_DIR}"
                        data = json.dumps(cfg).encode()
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        return model

    def load(self, threads: int | None = None) -> Any:
        """Load the guard in this process with its own encoder (``threads``: its threads, see
        :class:`routeguard.encoders.OnnxEncoder`)."""
        import tempfile

        from ..guard import RouteGuard

        with tempfile.TemporaryDirectory(prefix="routeguard-model-") as d:
            return RouteGuard.from_folder(self.materialize(Path(d))).with_encoder_options(threads=threads)
