"""Tests for the toxicity_hate GuardZoo source loaders (fixtures are invented; shared data optional)."""
from __future__ import annotations

import shutil
from collections import Counter

import pytest

from routeguard.data.registry import get_source
from routeguard.data.schema import SourceError

from sourcetest import FIXTURES, assert_missing_raises, counts, load, shared_root


# -- fixture tests ------------------------------------------------------------------------------------

def test_hatecheck():
    recs = load("hatecheck")
    labels, targets, cats = counts(recs)
    assert len(recs) == 4 and labels == Counter(safe=2, unsafe=2)     # target_group_nh dropped
    assert targets == Counter(prompt=4) and cats == Counter(hate_harassment=2)
    funcs = {r.original_labels["functionality"]: r.label for r in recs}
    assert funcs == {"derog_neg_emote_h": "unsafe", "ident_pos_nh": "safe",
                     "target_indiv_nh": "unsafe", "counter_quote_nh": "safe"}


def test_hatemoji():
    recs = load("hatemoji")
    labels, _, cats = counts(recs)
    assert len(recs) == 6 and labels == Counter(safe=3, unsafe=3)
    assert cats == Counter(hate_harassment=3)
    assert {r.subset for r in recs} == {"build_train", "build_validation", "build_test", "check"}


def test_tweeteval():
    recs = load("tweeteval_hate_offensive")
    labels, targets, cats = counts(recs)
    # hate task only (one blank tweet skipped); the fixture's offensive/ folder is present but ignored:
    # OLID (the olid source) supersedes TweetEval's offensive task
    assert len(recs) == 4 and labels == Counter(safe=2, unsafe=2)
    assert cats == Counter(hate_harassment=2)
    assert {r.subset for r in recs} == {"hate_train", "hate_val", "hate_test"}
    assert all(not r.weak_label and r.style == "tweet" for r in recs)
    assert recs[0].messages[0]["content"] == "@user send the fixture migrants back, they are vermin"
    # the blank line keeps its position: the third hate/train line is record 2
    assert any(r.id == "tweeteval_hate_offensive:hate_train:2" and r.label == "safe" for r in recs)


def test_davidson():
    recs = load("davidson_hate_offensive")
    labels, _, cats = counts(recs)
    assert len(recs) == 3 and labels == Counter(safe=1, unsafe=2)
    assert "&amp;" not in recs[0].messages[0]["content"] and "&" in recs[0].messages[0]["content"]
    assert recs[1].messages[0]["content"].endswith("\U0001F602")
    assert [r.weak_label for r in recs] == [False, True, False]


def test_surge():
    recs = load("surge_toxicity")
    labels, _, cats = counts(recs)
    assert labels == Counter(safe=1, unsafe=1) and cats == Counter(hate_harassment=1)


def test_ethos():
    recs = load("ethos")
    labels, _, cats = counts(recs)
    assert len(recs) == 3 and labels == Counter(safe=1, unsafe=2)      # 0.5 counts as hate
    assert recs[0].original_labels["multi_labels"] == ["violence", "national_origin"]
    assert recs[1].original_labels["multi_labels"] == ["race"]
    assert "multi_labels" not in recs[2].original_labels


def test_toxigen():
    recs = load("toxigen_prompts")
    labels, _, cats = counts(recs)
    # 16 group-specific hate statements + 1 shared one, 15 neutral (+2 glued into one line with " - "
    # and "!- ", which are split); 30 demonstration lines
    assert len(recs) == 64 and labels == Counter(safe=32, unsafe=32)
    texts = {r.messages[0]["content"] for r in recs}
    assert {"women fixture people like to read.", "women fixture people also travel!"} <= texts
    assert all(r.weak_label for r in recs)
    shared = next(r for r in recs if r.messages[0]["content"].startswith("fixture groups are all the same"))
    assert len(shared.original_labels["files"]) == 16 and shared.label == "unsafe"
    assert not any("\\n" in r.messages[0]["content"] or r.messages[0]["content"].startswith("-")
                   for r in recs)


@pytest.mark.parametrize("name,rel", [
    ("hatecheck", "test_suite_cases.csv"),
    ("hatemoji", "HatemojiBuild/validation.csv"),
    ("hatemoji", "HatemojiCheck/test.csv"),
    ("tweeteval_hate_offensive", "hate/val_labels.txt"),
    ("tweeteval_hate_offensive", "hate/test_text.txt"),
    ("davidson_hate_offensive", "labeled_data.csv"),
    ("surge_toxicity", "toxicity_en.csv"),
    ("ethos", "Ethos_Dataset_Multi_Label.csv"),
    ("toxigen_prompts", "prompts/neutral_women_1k.txt"),
    ("toxigen_prompts", "demonstrations/religion/hate_muslim.txt"),
])
def test_missing_file_raises(name, rel, tmp_path):
    assert_missing_raises(name, rel, tmp_path, stem_ok=True)


def test_misaligned_tweeteval_raises(tmp_path):
    shutil.copytree(FIXTURES / "tweeteval_hate_offensive", tmp_path / "tweeteval_hate_offensive")
    (tmp_path / "tweeteval_hate_offensive/hate/val_labels.txt").write_text("1\n0\n")
    with pytest.raises(SourceError, match="val_labels.txt"):
        list(get_source("tweeteval_hate_offensive")(tmp_path).records())


# -- real data (optional) ---------------------------------------------------------------------------

@pytest.mark.shared
def test_shared_counts():
    root = shared_root("hatecheck")
    expected = {  # (records, unsafe) from the MANIFEST, adjusted where the loader documents a change
        # 3,728 cases (2,563 hateful) - 62 target_group_nh dropped + 65 target_indiv_nh made unsafe
        "hatecheck": (3728 - 62, 2563 + 65),
        "hatemoji": (5912 + 3930, 2965 + 2654),
        # 12,970 hate-task tweets minus 8 blank ones (labelled 0); the offensive task is not loaded
        "tweeteval_hate_offensive": (12970 - 8, 5462),
        "davidson_hate_offensive": (24783, 1430 + 19190),
        "surge_toxicity": (1000, 501),
        "ethos": (998, 433),
        # unique statements: prompts 329 hate + 280 neutral; demonstrations add 51 + 48 (statements glued
        # with " - " are now split and their parts were already present, so 769 records became 708)
        "toxigen_prompts": (708, 380),
    }
    for name, (n, n_unsafe) in expected.items():
        recs = load(name, root)
        assert len(recs) == n, name
        assert sum(r.label == "unsafe" for r in recs) == n_unsafe, name
    tg = load("toxigen_prompts", root)
    assert sum(r.subset == "prompts" and r.label == "unsafe" for r in tg) == 329
    assert sum(r.subset == "prompts" and r.label == "safe" for r in tg) == 280
