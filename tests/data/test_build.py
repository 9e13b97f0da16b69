import copy
import json
import shutil
from pathlib import Path

import pytest

from routeguard.data.build import OOD_SOURCES, build, deduplicate, is_heldout, read_split, write
from routeguard.data.dedup import near_duplicate_groups, normalize
from routeguard.data.schema import Record, SourceError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "datasets"


def rec(i, text, label="unsafe", cats=("hate_harassment",), source="s"):
    return Record(id=f"{source}:{i}", source=source, language="en", target="prompt",
                  messages=[{"role": "user", "content": text}], label=label,
                  categories=list(cats) if label == "unsafe" else [])


def test_normalize_and_near_duplicates():
    assert normalize("  Hello,   WORLD!! ") == "hello world"
    base = "the quick brown fox jumps over the lazy dog near the old river bank today"
    texts = [normalize(base), normalize(base + " again"), normalize("completely different sentence about cooking pasta well")]
    g = near_duplicate_groups(texts, threshold=0.7)
    assert g[0] == g[1] and g[2] != g[0]


def test_dedup_exact_conflicts_keep_unsafe_and_union_categories():
    rs = [rec(0, "Same text!", "safe", source="a"), rec(1, "same text", cats=("hate_harassment",), source="b"),
          rec(2, "SAME TEXT", cats=("self_harm",), source="c"), rec(3, "other text entirely")]
    kept, groups, exact, near, conflicts = deduplicate(rs)
    assert exact == 2 and conflicts == 1 and len(kept) == 2
    merged = next(r for r in kept if normalize(r.messages[0]["content"]) == "same text")
    assert merged.label == "unsafe" and merged.categories == ["hate_harassment", "self_harm"]
    assert merged.original_labels["duplicates_in"] == ["a", "b", "c"]


def test_dedup_keeps_a_view_of_another_target():
    from routeguard.data.schema import conversation_view

    turns = [{"role": "user", "content": "you are useless and I hate talking to you, stupid bot"},
             {"role": "assistant", "content": "I'm sorry to hear that."},
             {"role": "user", "content": "shut up you worthless pile of code"}]
    r = Record(id="s:1", source="s", language="en", target="prompt", messages=turns, label="unsafe",
               categories=["hate_harassment"])
    near = Record(id="s:2", source="s", language="en", target="prompt", messages=turns[:2] + [
        {"role": "user", "content": "shut up you worthless pile of code now"}], label="unsafe",
        categories=["hate_harassment"])
    kept, groups, exact, n_near, _ = deduplicate([r, conversation_view(r), near])
    assert sorted(x.id for x in kept) == ["s:1", "s:1:conversation"] and n_near == 1
    assert len(set(groups)) == 1      # one near-duplicate group: the view lands in its record's split


def test_build_over_fixtures_splits_without_leakage(tmp_path):
    report = build(FIXTURES, skip_broken=True)
    assert report.records, "fixtures should yield records"
    splits = {r.split for r in report.records}
    assert splits <= {"train", "dev", "test", "heldout", "multilingual", "eval_only"}
    assert "train" in splits and "heldout" in splits
    # held-out proxy sources (whole sources, or source:subset) never reach train/dev/test
    for r in report.records:
        if r.language == "en" and r.split != "eval_only":
            assert (r.split == "heldout") == is_heldout(r), r.id
    assert any(r.source == "medquad_subset" and r.split != "heldout" for r in report.records)   # other collections train
    assert report.leakage_exact == 0 and report.leakage_near == 0
    assert all(r.language == "en" for r in report.records if r.split in ("train", "dev", "test"))
    assert all(r.ood_source == (r.source in OOD_SOURCES) for r in report.records if r.split in ("train", "dev", "test"))
    out = write(report, tmp_path / "gz")
    card = (out / "CARD.md").read_text()
    for section in ("## Splits", "## Styles", "## Unsafe records per category and split", "## Deduplication and leakage",
                    "## Sources", "## Crosswalks and caveats"):
        assert section in card
    stats = json.loads((out / "card.json").read_text())
    assert stats["total"] == len(report.records)
    again = read_split(out, "train")
    assert {r.id for r in again} == {r.id for r in report.records if r.split == "train"}


def test_build_is_deterministic():
    a = build(FIXTURES, skip_broken=True)
    b = build(FIXTURES, skip_broken=True)
    assert [(r.id, r.split) for r in a.records] == [(r.id, r.split) for r in b.records]


def test_broken_source_names_the_file_and_skip_broken_continues(tmp_path):
    root = tmp_path / "root"
    shutil.copytree(FIXTURES / "strongreject", root / "strongreject")
    shutil.copytree(FIXTURES / "surge_toxicity", root / "surge_toxicity")
    victim = next((root / "surge_toxicity").rglob("*.csv"))
    victim.write_bytes(b"\xff\xfe broken \x00 bytes")
    with pytest.raises(SourceError) as e:
        build(root, ["strongreject", "surge_toxicity"])
    assert victim.name in str(e.value)
    report = build(root, ["strongreject", "surge_toxicity"], skip_broken=True)
    assert "surge_toxicity" in report.broken and victim.name in report.broken["surge_toxicity"]
    assert any(r.source == "strongreject" for r in report.records)


def test_missing_source_folder_is_reported(tmp_path):
    with pytest.raises(SourceError, match="missing"):
        build(tmp_path, ["strongreject"])


def test_weak_copies_do_not_override_human_labels():
    """An exact duplicate labelled unsafe only by a weak (file-level) source keeps the human label."""
    rs = [rec(0, "some tweet text", label="safe", source="human"), rec(1, "some tweet text", cats=("hate_harassment",), source="weak")]
    rs[1].weak_label = True
    kept, _, exact, _, conflicts = deduplicate(rs)
    assert exact == 1 and conflicts == 1 and [r.label for r in kept] == ["safe"]
    rs[0].weak_label = True      # both weak: conservatively unsafe
    kept, *_ = deduplicate(rs)
    assert [r.label for r in kept] == ["unsafe"]


def test_splits_of_a_source_do_not_move_when_another_source_is_added():
    base = build(FIXTURES, names=["hatecheck", "strongreject"], skip_broken=True)
    more = build(FIXTURES, names=["aart", "hatecheck", "strongreject"], skip_broken=True)
    split = {r.id: r.split for r in more.records}
    assert all(split[r.id] == r.split for r in base.records if r.id in split)


def test_dropping_records_moves_no_other_split():
    """Group numbers are positions in the build, so they shift when any record is dropped; the splits of
    records elsewhere must not (a model trained on one build would be tested on its own training data)."""
    from routeguard.data.build import assign_splits
    benign = [rec(i, f"benign {i}", label="safe", source="b") for i in range(300)]
    harmful = [rec(i, f"harmful {i}", source="h") for i in range(300)]

    def splits(records):
        fresh = [copy.copy(r) for r in records]
        assign_splits(fresh, list(range(len(fresh))))
        return {r.id: r.split for r in fresh}

    full = splits(benign + harmful)
    assert {"train", "dev", "test"} <= set(full.values())
    fewer_benign = splits(benign[100:] + harmful)          # every harmful group number shifts by 100
    assert all(fewer_benign[r.id] == full[r.id] for r in harmful)
    # inside the stratum that lost records only groups next to a split boundary may move
    moved = sum(fewer_benign[r.id] != full[r.id] for r in benign[100:])
    assert moved <= 100 * 0.1 + 4, moved
