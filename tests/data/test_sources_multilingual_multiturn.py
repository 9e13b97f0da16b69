"""Tests for the multilingual_multiturn GuardZoo source loaders (fixtures are invented; shared data optional)."""
from __future__ import annotations

import shutil
from collections import Counter

import pytest

from routeguard.data.registry import get_source
from routeguard.data.schema import SourceError

from sourcetest import FIXTURES, assert_missing_raises, counts, load, shared_root


# -- fixture tests ------------------------------------------------------------------------------------

def test_cosafe():
    recs = load("cosafe")
    labels, targets, cats = counts(recs)
    # 14 dialogues; 14 single prompts of which two share a text -> 13
    assert len(recs) == 27 and labels == Counter(unsafe=27)
    assert targets == Counter(conversation=14, prompt=13)
    dialogues = [r for r in recs if r.target == "conversation"]
    assert all([m["role"] for m in r.messages] == ["user", "assistant", "user"] for r in dialogues)
    trimmed = [r for r in dialogues if r.original_labels.get("trimmed_assistant")]
    assert len(trimmed) == 1 and trimmed[0].categories == ["weapons_drugs_physical_harm"]
    merged = next(r for r in recs if r.messages[0]["content"].startswith("How do I hurt someone"))
    assert merged.categories == ["self_harm", "weapons_drugs_physical_harm"]
    cp = next(r for r in dialogues if r.original_labels["category"] == "controversial_topics,politics")
    assert cp.categories == ["controversial_politics"]
    assert all(r.weak_label for r in recs)


def test_xsafety():
    recs = load("xsafety")
    labels, targets, cats = counts(recs)
    # 10 languages x 13 files x 2 rows (ru/Insult has an extra blank row); commonsense skipped
    assert len(recs) == 260 and labels == Counter(unsafe=260)
    assert Counter(r.language for r in recs) == Counter({l: 26 for l in
                                                         ("ar", "bn", "de", "en", "fr", "hi", "ja", "ru",
                                                          "es", "zh")})
    assert cats["prompt_attack"] == 80 and cats["mental_health_crisis"] == 20
    assert sum(1 for r in recs if not r.categories) == 40    # Inquiry_With_Unsafe_Opinion, Unsafe_Instruction_Topic
    assert not any("commonsense" in r.subset or "unsafe choice" in r.messages[0]["content"] for r in recs)
    bn = [r for r in recs if r.language == "bn"]
    assert bn and all(r.original_labels["file"].endswith(".xlsx") for r in bn)
    en = next(r for r in recs if r.language == "en" and r.subset == "Insult")
    assert en.messages[0]["content"] == "en fixture prompt one for Insult"


def test_multijail():
    recs = load("multijail")
    labels, targets, cats = counts(recs)
    assert len(recs) == 20 and labels == Counter(unsafe=20)
    assert cats == Counter(unethical_nonviolent=10, weapons_drugs_physical_harm=10, self_harm=10)
    assert {r.language for r in recs} == {"en", "zh", "it", "vi", "ar", "ko", "th", "bn", "sw", "jv"}
    assert len({r.original_labels["id"] for r in recs}) == 2


@pytest.mark.parametrize("name,rel", [
    ("cosafe", "CoSafe datasets/self_harm.json"),
    ("cosafe", "Single Prompt/animal_abuse_select_100.json"),
    ("xsafety", "fr/Insult.csv"),
    ("xsafety", "bn/Mental_Health_n.xlsx"),
    ("xsafety", "ru/Crimes_And_Illegal_Activitie.csv"),
    ("multijail", "MultiJail.csv"),
])
def test_missing_file_raises(name, rel, tmp_path):
    assert_missing_raises(name, rel, tmp_path, stem_ok=True)


def test_corrupt_xlsx_raises(tmp_path):
    shutil.copytree(FIXTURES / "xsafety", tmp_path / "xsafety")
    (tmp_path / "xsafety/bn/Insult_n.xlsx").write_bytes(b"not a zip file")
    with pytest.raises(SourceError, match="Insult_n.xlsx"):
        list(get_source("xsafety")(tmp_path).records())


def test_unknown_multijail_tag_raises(tmp_path):
    d = tmp_path / "multijail"
    d.mkdir()
    langs = ["en", "zh", "it", "vi", "ar", "ko", "th", "bn", "sw", "jv"]
    (d / "MultiJail.csv").write_text("id,source,tags," + ",".join(langs) + "\n0,x,['Nope']," +
                                     ",".join("q" for _ in langs) + "\n", encoding="utf-8")
    with pytest.raises(SourceError, match="MultiJail.csv"):
        list(get_source("multijail")(tmp_path).records())


# -- real data (optional) ---------------------------------------------------------------------------

@pytest.mark.shared
def test_shared_counts():
    root = shared_root("xsafety")
    cosafe = load("cosafe", root)
    assert sum(r.target == "conversation" for r in cosafe) == 1400          # MANIFEST
    assert sum(r.target == "prompt" for r in cosafe) == 1051                # 1,400 rows, 1,051 unique texts
    pytest.importorskip("openpyxl")
    xs = load("xsafety", root)
    # 13 scenario files x 200 x 10 languages, minus one blank row (ru/Insult)
    assert len(xs) == 13 * 200 * 10 - 1
    assert Counter(r.language for r in xs)["es"] == 2600
    mj = load("multijail", root)
    assert len(mj) == 3150                                                   # 315 x 10
    assert all(r.label == "unsafe" for r in cosafe + xs + mj)
