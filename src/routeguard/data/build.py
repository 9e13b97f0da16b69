"""``routeguard data build``: load every source, deduplicate, split, and write GuardZoo with its card."""
from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Callable, Iterable

from ..taxonomy import OOD_CATEGORIES
from .dedup import near_duplicate_groups, normalize
from .registry import get_source, source_names
from .report import BuildReport
from .schema import Record, SourceError

log = logging.getLogger(__name__)

#: Whole sources held out in the out-of-domain protocol (they still get train/dev/test splits so the
#: shipped default, trained on everything, can use them). One or more per target type, both labels.
OOD_SOURCES: tuple[str, ...] = (
    "harmful_q_cot_bias", "figstep_safebench", "hatemoji", "surge_toxicity", "gptfuzz", "cosafe",
    "toolemu", "self_instruct_user_oriented", "alpaca_seed_tasks",
)
#: Whole sources (or ``source:subset``) kept out of training *and* calibration in every model, so the
#: false-positive and recall proxies are out of domain: one benign source per style, one over-refusal
#: set, one harmful-prompt source. Their English records form the ``heldout`` split.
HELDOUT_SOURCES: tuple[str, ...] = (
    "tweeteval_benign_tasks",        # tweets (OLID / TweetEval-hate benign tweets stay in training)
    "ag_news_test",                  # news (encyclopedic XQuAD stays in training)
    "aeslc_enron_emails",            # emails (BIPIA's email contexts stay in training)
    "goemotions_reddit",             # forum / Reddit (Stormfront, Wikipedia talk stay in training)
    "nq_open_dev",                   # Q&A (StackOverflow, CLINC, BANKING77 stay in training)
    "dailydialog_test",              # dialogue (SGD, EmpatheticDialogues stay in training)
    "medquad_subset:ninds",          # medical (the CDC and SeniorHealth collections stay in training)
    "humaneval_x",                   # code (Code Alpaca, SVEN fixed functions stay in training)
    "system_prompts_mustvlad",       # system prompts (BigPromptLibrary, awesome-chatgpt-prompts stay)
    "or_bench_hard_1k",              # over-refusal (PHTest, CoCoNot contrast stay in training)
    "harmfulqa_catqa",               # harmful prompts (recall proxy)
    "toxicchat_dev",                 # real user prompts (F1 proxy; ToxicChat's train split trains instead)
)
SPLITS = ("train", "dev", "test")
EXTRA_SPLITS = ("heldout", "multilingual", "eval_only")   # held-out proxies; non-English; licence forbids training


def is_heldout(r: Record) -> bool:
    return r.source in HELDOUT_SOURCES or f"{r.source}:{r.subset}" in HELDOUT_SOURCES


def dedup_text(r: Record) -> str:
    parts = [r.target]
    for m in r.messages:
        parts.append(f"{m.get('role')}: {m.get('content') or ''}")
        for tc in m.get("tool_calls") or []:
            fn = tc.get("function", {})
            parts.append(f"call {fn.get('name')} {fn.get('arguments')}")
    if r.policy:
        parts.append("policy: " + r.policy)
    return "\n".join(parts)


def load_sources(root: Path, names: Iterable[str] | None = None, *, skip_broken: bool = False,
                 progress: Callable[[str, int], None] | None = None) -> tuple[list[Record], Counter, dict[str, str]]:
    records: list[Record] = []
    loaded: Counter = Counter()
    broken: dict[str, str] = {}
    for name in names or source_names():
        src = get_source(name)(root)
        try:
            if not src.path.is_dir():
                raise SourceError(f"{name}: missing dataset folder {src.path}")
            got = list(src.records())
        except (SourceError, OSError, ValueError, KeyError) as e:
            if not skip_broken:
                raise SourceError(f"source {name!r} failed: {e}") from e
            broken[name] = f"{type(e).__name__}: {e}"
            log.warning("skipping broken source %s: %s", name, e)
            got = []
        for r in got:
            if not src.train_allowed:
                r.split = "eval_only"
        records.extend(got)
        loaded[name] = len(got)
        if progress:
            progress(name, len(got))
    return records, loaded, broken


def deduplicate(records: list[Record]) -> tuple[list[Record], list[int], int, int, int]:
    """Drop exact and near duplicates that carry the same label; keep contrastive pairs together.

    Returns (kept records, their near-duplicate group ids, #exact dropped, #near dropped, #label conflicts).
    Exact duplicates with conflicting labels keep the label of the human-labelled copies when some copies
    are weak (file-level or machine labels) and others are not; otherwise the unsafe copy, conservatively
    (categories unioned over the copies that carry the kept label).
    """
    by_key: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        by_key[normalize(dedup_text(r))].append(r)
    merged: list[Record] = []
    conflicts = 0
    for group in by_key.values():
        labels = {r.label for r in group}
        if len(labels) > 1:
            conflicts += 1
            strong = [r for r in group if not r.weak_label]
            if strong and len({r.label for r in strong}) == 1 and len(strong) < len(group):
                group = strong + [r for r in group if r.weak_label and r.label == strong[0].label]
        unsafe = [r for r in group if r.label == "unsafe"]
        keep = unsafe[0] if unsafe else group[0]
        if unsafe:
            keep.categories = sorted({c for r in unsafe for c in r.categories})
            if len(group) > 1:
                keep.original_labels = dict(keep.original_labels, duplicates_in=sorted({r.source for r in group}))
        merged.append(keep)
    exact = len(records) - len(merged)
    keys = [normalize(dedup_text(r)) for r in merged]
    groups = near_duplicate_groups(keys)
    kept, kept_groups, seen = [], [], set()
    for r, g in zip(merged, groups):
        # a record judging another target of the same turns is not a duplicate (conversation views)
        sig = (int(g), r.target, r.label, tuple(r.categories), r.split == "eval_only", r.language)
        if sig in seen:
            continue
        seen.add(sig)
        kept.append(r)
        kept_groups.append(int(g))
    return kept, kept_groups, exact, len(merged) - len(kept), conflicts


def assign_splits(records: list[Record], groups: list[int], seed: int = 13,
                  fractions: tuple[float, float] = (0.8, 0.9)) -> None:
    """Train/dev/test stratified by source x primary category x label; near-duplicate groups stay together.

    Within a stratum the groups are ranked by a hash of their smallest record id, not by their position in
    the build: group numbers shift whenever any record is added or dropped anywhere, and ranking by them
    moved thousands of unrelated records between splits (a model trained on one build would then be tested
    on its own training records in the next). With the hash, a change moves only the few groups of the
    strata it touches that sit next to a split boundary."""
    strata: dict[tuple, list[int]] = defaultdict(list)
    first_of: dict[int, Record] = {}
    ident: dict[int, str] = {}
    for r, g in zip(records, groups):
        first_of.setdefault(g, r)
        ident[g] = min(ident.get(g, r.id), r.id)
    for g, r in first_of.items():
        strata[(r.source, r.categories[0] if r.categories else "", r.label)].append(g)
    group_split: dict[int, str] = {}
    for key in sorted(strata):
        gs = sorted(strata[key], key=lambda g: (hashlib.sha1(f"{seed}:{ident[g]}".encode()).digest(), ident[g]))
        n = len(gs)
        for i, g in enumerate(gs):
            q = (i + 0.5) / n
            group_split[g] = "train" if q < fractions[0] else "dev" if q < fractions[1] else "test"
    for r, g in zip(records, groups):
        if r.split == "eval_only":
            continue
        r.split = ("multilingual" if r.language != "en" else "heldout" if is_heldout(r) else group_split[g])
        r.ood_source = r.source in OOD_SOURCES
        r.ood_category = any(c in OOD_CATEGORIES for c in r.categories)


def leakage(records: list[Record], groups: list[int]) -> tuple[int, int]:
    """(#normalised texts found in more than one split, #near-duplicate groups spanning splits)."""
    main = [(r, g) for r, g in zip(records, groups) if r.split in SPLITS]
    by_text: dict[str, set[str]] = defaultdict(set)
    by_group: dict[int, set[str]] = defaultdict(set)
    for r, g in main:
        by_text[normalize(dedup_text(r))].add(r.split)
        by_group[g].add(r.split)
    return (sum(1 for s in by_text.values() if len(s) > 1), sum(1 for s in by_group.values() if len(s) > 1))


def build(root: str | Path, names: Iterable[str] | None = None, *, skip_broken: bool = False, seed: int = 13,
          progress: Callable[[str, int], None] | None = None) -> BuildReport:
    t0 = time.perf_counter()
    records, loaded, broken = load_sources(Path(root), names, skip_broken=skip_broken, progress=progress)
    from .label_fixes import apply_label_fixes

    records, fixes = apply_label_fixes(records)
    kept, groups, exact, near, conflicts = deduplicate(records)
    assign_splits(kept, groups, seed)
    le, ln = leakage(kept, groups)
    return BuildReport(kept, loaded, broken, exact, near, conflicts, le, ln, time.perf_counter() - t0, fixes)


def write(report: BuildReport, out: str | Path, fmt: str = "jsonl") -> Path:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    by_split: dict[str, list[Record]] = defaultdict(list)
    for r in report.records:
        by_split[r.split].append(r)
    for split, recs in by_split.items():
        rows = [r.to_dict() for r in recs]
        if fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            for row in rows:   # nested free-form fields as JSON strings for a stable schema
                row["messages"] = json.dumps(row["messages"], ensure_ascii=False)
                row["original_labels"] = json.dumps(row["original_labels"], ensure_ascii=False)
            pq.write_table(pa.Table.from_pylist(rows), out / f"{split}.parquet")
        else:
            with open(out / f"{split}.jsonl", "w", encoding="utf-8") as f:
                for row in rows:
                    f.write(json.dumps(row, ensure_ascii=False) + "\n")
    from .card import write_card

    write_card(report, out)
    return out


def read_split(folder: str | Path, split: str) -> list[Record]:
    """Read one split of a GuardZoo build (JSONL or Parquet)."""
    folder = Path(folder)
    p = folder / f"{split}.jsonl"
    if p.is_file():
        with open(p, encoding="utf-8") as f:
            return [Record.from_dict(json.loads(line)) for line in f if line.strip()]
    p = folder / f"{split}.parquet"
    if p.is_file():
        import pyarrow.parquet as pq

        rows = pq.read_table(p).to_pylist()
        for row in rows:
            row["messages"] = json.loads(row["messages"])
            row["original_labels"] = json.loads(row["original_labels"])
        return [Record.from_dict(r) for r in rows]
    raise FileNotFoundError(f"no {split}.jsonl or {split}.parquet in {folder}")
