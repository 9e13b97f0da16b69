"""Helpers shared by the GuardZoo source-loader tests (test_sources_*.py): fixture and shared-data
paths, the record shape checks, loading, tallies and the missing-file check."""
from __future__ import annotations

import os
import shutil
from collections import Counter
from pathlib import Path
from typing import Callable

import pytest

from routeguard.data.registry import get_source
from routeguard.data.schema import Record, SourceError
from routeguard.taxonomy import ALL_CATEGORIES

FIXTURES = Path(__file__).parents[1] / "fixtures" / "datasets"


def shared_root(need: str = "") -> Path:
    """ROUTEGUARD_DATA_ROOT or ../shared/datasets; skips the test when it (or its `need` folder) is absent."""
    env = os.environ.get("ROUTEGUARD_DATA_ROOT")
    root = Path(env) if env else Path(__file__).parents[3] / "shared" / "datasets"
    if not (root / need).is_dir():
        pytest.skip(f"shared datasets not found at {root} (set ROUTEGUARD_DATA_ROOT)")
    return root


def chat_record(r: Record) -> None:
    """Shape of a plain chat record: non-blank text turns ending as its target needs."""
    assert r.messages and all(isinstance(m.get("content"), str) and m["content"].strip() for m in r.messages)
    roles = [m["role"] for m in r.messages]
    if r.target == "prompt":
        assert roles[-1] == "user"
    elif r.target == "response":
        assert roles[-2:] == ["user", "assistant"]
    elif r.target == "conversation":     # the whole exchange, ending on either side
        assert len(roles) > 1 and roles[-1] in ("user", "assistant")


def check_shape(name: str, recs: list[Record], check: Callable[[Record], None] = chat_record,
                allow_empty: bool = False) -> None:
    """What every source's records share (unique ids, source, label, known categories), then `check` per record."""
    assert allow_empty or recs, name
    ids = [r.id for r in recs]
    assert len(ids) == len(set(ids)), f"{name}: duplicate ids"
    for r in recs:
        assert r.source == name and r.id.startswith(name + ":")
        assert r.label in ("safe", "unsafe") and all(c in ALL_CATEGORIES for c in r.categories)
        assert r.label == "unsafe" or not r.categories
        check(r)


def load(name: str, root: Path = FIXTURES, **shape) -> list[Record]:
    recs = list(get_source(name)(root).records())
    check_shape(name, recs, **shape)
    return recs


def cats(recs: list[Record]) -> Counter:
    return Counter(c for r in recs for c in r.categories)


def counts(recs: list[Record]) -> tuple[Counter, Counter, Counter]:
    """(labels, targets, categories)."""
    return Counter(r.label for r in recs), Counter(r.target for r in recs), cats(recs)


def copy_fixture(name: str, tmp_path: Path) -> Path:
    """Copies the source's fixture folder under tmp_path; returns the copy."""
    d = get_source(name).directory
    shutil.copytree(FIXTURES / d, tmp_path / d)
    return tmp_path / d


def assert_missing_raises(name: str, rel: str, tmp_path: Path, stem_ok: bool = False) -> None:
    """Removing rel (a file or folder) from a fixture copy fails the source with an error naming it
    (or, with stem_ok, its stem)."""
    victim = copy_fixture(name, tmp_path) / rel
    assert victim.exists(), victim
    if victim.is_dir():
        shutil.rmtree(victim)
    else:
        victim.unlink()
    with pytest.raises(SourceError) as e:
        list(get_source(name)(tmp_path).records())
    assert victim.name in str(e.value) or (stem_ok and victim.stem in str(e.value)), str(e.value)
