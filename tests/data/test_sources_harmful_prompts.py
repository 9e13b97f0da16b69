"""Tests for the harmful_prompts GuardZoo source loaders (fixtures are invented; shared data optional)."""
from __future__ import annotations

from collections import Counter

import pytest

from routeguard.data.registry import get_source
from routeguard.data.schema import Record, SourceError

from sourcetest import assert_missing_raises, cats, copy_fixture, load, shared_root


def all_prompt_unsafe(recs: list[Record]) -> None:
    assert all(r.label == "unsafe" and r.target == "prompt" and len(r.messages) == 1 for r in recs)


# -- fixture tests ------------------------------------------------------------------------------------

def test_advbench_tdc2023():
    recs = load("advbench_tdc2023")
    assert len(recs) == 5  # 3 non-empty advbench + 2 adv_training; empty row skipped
    all_prompt_unsafe(recs)
    assert not cats(recs)
    assert Counter(r.subset for r in recs) == Counter(advbench=3, adv_training=2)
    assert "advbench_tdc2023:advbench:advbench_1" in {r.id for r in recs}
    assert not any("KEPT BACK" in r.messages[0]["content"] for r in recs)  # tdc2023 test phase never read


def test_princeton_jailbreak_llm():
    recs = load("princeton_jailbreak_llm")
    assert len(recs) == 5
    all_prompt_unsafe(recs)
    assert Counter(r.subset for r in recs) == Counter(MaliciousInstruct=3, advbench=2)
    assert not cats(recs)  # fixture has != 100 lines: no intents assigned


def test_princeton_malicious_instruct_blocks(tmp_path):
    d = copy_fixture("princeton_jailbreak_llm", tmp_path)
    (d / "MaliciousInstruct.txt").write_text("".join(f"invented harmful line {i}?\n" for i in range(100)))
    recs = [r for r in load("princeton_jailbreak_llm", tmp_path) if r.subset == "MaliciousInstruct"]
    assert len(recs) == 100
    assert recs[0].original_labels["intent"] == "psychological manipulation"
    assert recs[75].categories == ["cyberattack"]  # hacking block (lines 71-80)
    assert recs[99].categories == ["weapons_drugs_physical_harm"]
    assert cats(recs) == Counter(unethical_nonviolent=50, misinformation=20, hate_harassment=10,
                                 cyberattack=10, weapons_drugs_physical_harm=10)


def test_harmful_q():
    recs = load("harmful_q_cot_bias")
    assert len(recs) == 3  # blank entry skipped
    all_prompt_unsafe(recs)
    assert not cats(recs)


def test_harmful_q_malformed(tmp_path):
    d = copy_fixture("harmful_q_cot_bias", tmp_path)
    (d / "toxic_outs.json").write_text('{"not": "a list"}')
    with pytest.raises(SourceError, match="toxic_outs.json"):
        list(get_source("harmful_q_cot_bias")(tmp_path).records())


def test_ailuminate_demo():
    recs = load("ailuminate_demo")
    assert len(recs) == 5
    all_prompt_unsafe(recs)
    assert Counter(r.language for r in recs) == Counter(en=3, fr=2)
    assert cats(recs) == Counter(weapons_drugs_physical_harm=1, misinformation=1, copyright=1,
                                 sensitive_information=1, hate_harassment=1)
    by_h = {r.original_labels["hazard"]: r for r in recs}
    assert by_h["spc_hlt"].weak_label and not by_h["vcr"].weak_label
    assert by_h["prv"].subset == "fr_FR" and by_h["prv"].id == "ailuminate_demo:fr_FR:airr_practice_1_0_4"


def test_ailuminate_unknown_hazard(tmp_path):
    d = copy_fixture("ailuminate_demo", tmp_path)
    p = d / "airr_official_1.0_demo_en_us_prompt_set_release.csv"
    p.write_text(p.read_text().replace(",vcr,", ",zzz,"))
    with pytest.raises(SourceError, match="en_us_prompt_set_release.csv"):
        list(get_source("ailuminate_demo")(tmp_path).records())


def test_aart():
    recs = load("aart")
    assert len(recs) == 4  # empty prompt skipped
    all_prompt_unsafe(recs)
    assert all(r.weak_label for r in recs)
    by_c = {r.original_labels["crime"]: r for r in recs}
    assert by_c["terrorism"].categories == ["terrorism_organized_crime"]
    assert by_c["animal neglect"].categories == ["animal_abuse"]
    assert by_c["pornography"].categories == ["child_abuse", "sexual_content"]  # documented phrase rule
    assert by_c["other crimes"].categories == []


def test_aart_crosswalk_covers_70_concepts():
    cls = get_source("aart")
    assert len({m.original for m in cls.crosswalk}) == 70


def test_aart_unmapped_concept(tmp_path):
    d = copy_fixture("aart", tmp_path)
    p = d / "aart-v1-20231117.csv"
    p.write_text(p.read_text().replace(",animal neglect,", ",space piracy,"))
    with pytest.raises(SourceError, match="aart-v1-20231117.csv"):
        list(get_source("aart")(tmp_path).records())


@pytest.mark.parametrize("name,rel", [
    ("advbench_tdc2023", "advbench_behaviors.csv"),
    ("advbench_tdc2023", "adv_training_behaviors.csv"),
    ("princeton_jailbreak_llm", "MaliciousInstruct.txt"),
    ("princeton_jailbreak_llm", "advbench.txt"),
    ("harmful_q_cot_bias", "toxic_outs.json"),
    ("ailuminate_demo", "airr_official_1.0_demo_fr_fr_prompt_set_release.csv"),
    ("aart", "aart-v1-20231117.csv"),
])
def test_missing_file_raises(name, rel, tmp_path):
    assert_missing_raises(name, rel, tmp_path)


# -- shared data (optional) ---------------------------------------------------------------------------

@pytest.mark.shared
def test_shared_counts():
    root = shared_root("aart")
    expected = {  # MANIFEST numbers (all unsafe); tdc2023_test_phase (50) is kept back and not loaded
        "advbench_tdc2023": 520 + 100,
        "princeton_jailbreak_llm": 100 + 520,
        "harmful_q_cot_bias": 200,
        "ailuminate_demo": 1200 + 1200,
        "aart": 3269,
    }
    for name, n in expected.items():
        recs = load(name, root)
        assert len(recs) == n, name
        assert all(r.label == "unsafe" for r in recs), name
    ail = load("ailuminate_demo", root)
    hz = Counter((r.language, r.original_labels["hazard"]) for r in ail)
    assert hz[("en", "cse")] == 100 and hz[("fr", "spc_fin")] == 26 and hz[("en", "spc_ele")] == 24
    assert Counter(r.original_labels["persona"] for r in ail) == Counter(skilled=1200, unskilled=1200)
    aart = load("aart", root)
    crimes = Counter(r.original_labels["crime"] for r in aart)
    assert len(crimes) == 70 and crimes["terrorism"] == 93 and crimes["animal neglect"] == 53
    assert sum(not r.categories for r in aart) == crimes["other crimes"] == 56
    mi = [r for r in load("princeton_jailbreak_llm", root) if r.subset == "MaliciousInstruct"]
    assert all(r.categories for r in mi)
