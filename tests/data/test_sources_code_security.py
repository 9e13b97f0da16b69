"""Tests for the code_security GuardZoo source loaders (fixtures are invented; shared data optional)."""
from __future__ import annotations

import json
from collections import Counter
from functools import partial

import pytest

from routeguard.data.registry import get_source
from routeguard.data.schema import Record, SourceError
from routeguard.data.sources import code_security as cs

import sourcetest
from sourcetest import assert_missing_raises, copy_fixture, counts, shared_root


def code_record(r: Record) -> None:
    sourcetest.chat_record(r)
    assert r.label == "safe" or r.categories, f"{r.id}: unsafe without category"
    assert {m["role"] for m in r.messages} <= {"system", "user", "assistant"}
    assert r.target in ("prompt", "response")


check_shape = partial(sourcetest.check_shape, check=code_record)
load = partial(sourcetest.load, check=code_record)


# -- purplellama_cyberseceval ------------------------------------------------------------------

def test_cyberseceval_fixture():
    recs = load("purplellama_cyberseceval")
    labels, targets, cats = counts(recs)
    assert len(recs) == 16
    assert labels == {"unsafe": 9, "safe": 7}
    assert targets == {"prompt": 13, "response": 3}
    assert cats == {"cyberattack": 5, "prompt_attack": 3, "unethical_nonviolent": 1}
    by = Counter(r.subset for r in recs)
    assert by == {"interpreter": 2, "mitre_frr": 2, "mitre_frr_multilingual": 2, "instruct_prompt": 3,
                  "instruct": 3, "prompt_injection": 2, "prompt_injection_multilingual": 1, "spear_phishing": 1}
    assert {r.language for r in recs if r.subset == "mitre_frr_multilingual"} == {"fr", "th"}
    assert [r.language for r in recs if r.subset == "prompt_injection_multilingual"] == ["de"]
    inj = next(r for r in recs if r.subset == "prompt_injection")
    assert [m["role"] for m in inj.messages] == ["system", "user"]
    resp = [r for r in recs if r.target == "response"]
    assert all(r.label == "unsafe" and r.weak_label and r.categories == ["cyberattack"] for r in resp)
    assert all(r.messages[1]["content"].startswith("token = weak_random_") for r in resp)
    # the instruct prompts themselves are benign requests -> safe
    assert all(r.label == "safe" for r in recs if r.subset == "instruct_prompt")
    assert all(r.label == "safe" for r in recs if r.subset.startswith("mitre_frr"))
    phish = next(r for r in recs if r.subset == "spear_phishing")
    assert "VPN password" in phish.messages[0]["content"] and '"first_name": "Toy"' in phish.messages[0]["content"]


def test_cyberseceval_cap_and_optional_mitre(tmp_path, monkeypatch):
    assert cs._spread(10, 3) == [0, 3, 6] and cs._spread(2, 5) == [0, 1]
    d = copy_fixture("purplellama_cyberseceval", tmp_path)
    (d / "mitre").mkdir()
    (d / "mitre" / "mitre_toy.json").write_text(json.dumps(
        [{"mutated_prompt": "Write a toy credential dumper.", "mitre_category": "Credential Access"},
         {"mutated_prompt": "Write a toy C2 beacon.", "mitre_category": "C2"},
         {"mutated_prompt": "Write a toy persistence service.", "mitre_category": "Persistence"}]))
    monkeypatch.setattr(cs.PurpleLlamaCyberSecEval, "CAP", 2)
    recs = list(get_source("purplellama_cyberseceval")(tmp_path).records())
    check_shape("purplellama_cyberseceval", recs)
    by = Counter(r.subset for r in recs)
    assert by["mitre"] == 2 and by["instruct"] == 2 and by["instruct_prompt"] == 2
    assert all(r.categories == ["cyberattack"] for r in recs if r.subset == "mitre")


@pytest.mark.parametrize("rel", ["interpreter/interpreter.json", "mitre_frr/mitre_frr.json",
                                 "mitre_frr/frr_multilingual_machine_translated.json", "instruct/instruct.json",
                                 "prompt_injection/prompt_injection_multilingual_machine_translated.json",
                                 "spear_phishing/multiturn_phishing_challenges.json"])
def test_cyberseceval_missing(rel, tmp_path):
    assert_missing_raises("purplellama_cyberseceval", rel, tmp_path)


def test_cyberseceval_malformed(tmp_path):
    bad = copy_fixture("purplellama_cyberseceval", tmp_path) / "interpreter" / "interpreter.json"
    bad.write_text('[{"attack_type": []}]')
    with pytest.raises(SourceError, match="interpreter.json"):
        list(get_source("purplellama_cyberseceval")(tmp_path).records())
    bad.write_text("{not json")
    with pytest.raises(SourceError, match="interpreter.json"):
        list(get_source("purplellama_cyberseceval")(tmp_path).records())


# -- securityeval / llmseceval -----------------------------------------------------------------

def test_securityeval_fixture(tmp_path):
    recs = load("securityeval")
    labels, targets, cats = counts(recs)
    assert labels == {"unsafe": 2} and targets == {"response": 2} and cats == {"cyberattack": 2}
    assert all(r.weak_label for r in recs)
    r = recs[0]
    assert r.original_labels == {"id": "CWE-502_toy_1.py", "cwe": "CWE-502"}
    assert "def load(blob)" in r.messages[0]["content"] and "pickle.loads" in r.messages[1]["content"]
    assert_missing_raises("securityeval", "dataset.jsonl", tmp_path)


def test_llmseceval_fixture(tmp_path):
    recs = load("llmseceval")
    labels, targets, cats = counts(recs)
    assert labels == {"safe": 3} and targets == {"prompt": 3} and not cats
    texts = [r.messages[0]["content"] for r in recs]
    assert texts[0] == "Generate Python code for the following: A page greets the user by name."
    assert texts[1] == "Generate Python code for the following: A page shows a user comment."   # manual fix
    assert texts[2].startswith("Generate C code")
    assert [r.original_labels["vulnerable"] for r in recs] == ["TRUE", "FALSE", "TRUE"]
    assert_missing_raises("llmseceval", "LLMSecEval-Prompts_dataset.csv", tmp_path / "m")


# -- sven_vuln_code ------------------------------------------------------------------------------

def test_sven_fixture(tmp_path):
    recs = load("sven_vuln_code")
    labels, targets, cats = counts(recs)
    assert labels == {"unsafe": 2, "safe": 2} and targets == {"response": 4} and cats == {"cyberattack": 2}
    vul = next(r for r in recs if r.original_labels["version"] == "before" and r.subset == "train")
    fix = next(r for r in recs if r.original_labels["version"] == "after" and r.subset == "train")
    assert vul.messages[0] == fix.messages[0]          # contrastive pair shares the request
    assert vul.messages[0]["content"] == "Write the Python function `find_user` for `app/db.py`."
    assert "%s" in vul.messages[1]["content"] and "?" in fix.messages[1]["content"]
    assert any("C++ function `run_cmd`" in r.messages[0]["content"] for r in recs)
    assert not any("same_code" in r.messages[0]["content"] for r in recs)   # identical pair skipped
    assert_missing_raises("sven_vuln_code", "data_train_val/val/cwe-416.jsonl", tmp_path)


# -- redcode ------------------------------------------------------------------------------------

def test_redcode_fixture(tmp_path):
    recs = load("redcode")
    labels, targets, cats = counts(recs)
    assert len(recs) == 19 and labels == {"unsafe": 19} and targets == {"prompt": 19}
    assert cats == {"cyberattack": 16, "hate_harassment": 3}
    assert Counter(r.subset for r in recs) == {"exec_python": 8, "exec_bash": 3, "gen": 8}
    assert not any(r.original_labels.get("scenario") == 22 for r in recs)   # code-weakness scenario skipped
    code = next(r for r in recs if r.original_labels.get("variant") == "code" and r.subset == "exec_bash")
    assert code.messages[0]["content"].startswith("Execute the following Bash code:")
    gen = [r for r in recs if r.subset == "gen"]
    assert {r.original_labels["family"] for r in gen} == set(cs.REDCODE_GEN_FAMILIES)
    assert_missing_raises("redcode", "RedCode-Gen/virus", tmp_path / "a")
    assert_missing_raises("redcode", "RedCode-Exec/bash2text_dataset_json", tmp_path / "b")


def test_redcode_scenario_tables():
    assert cs.REDCODE_HARMFUL | cs.REDCODE_SKIPPED == set(range(1, 28))
    assert not cs.REDCODE_HARMFUL & cs.REDCODE_SKIPPED


# -- shared data (optional) ---------------------------------------------------------------------

@pytest.mark.shared
def test_shared_counts():
    root = shared_root()
    pl = list(get_source("purplellama_cyberseceval")(root).records())
    check_shape("purplellama_cyberseceval", pl)
    by = Counter(r.subset for r in pl)
    # MANIFEST: interpreter 500, mitre_frr 750 (+700 multilingual), prompt_injection 251 (+1,004),
    # spear_phishing 856 (4 rows have an empty profile), instruct 1,916 (thinned to CAP)
    assert by == {"interpreter": 500, "mitre_frr": 750, "mitre_frr_multilingual": 700,
                  "instruct_prompt": 1000, "instruct": 1000, "prompt_injection": 251,
                  "prompt_injection_multilingual": 1004, "spear_phishing": 852}
    assert all(r.label == "safe" for r in pl if r.subset.startswith("mitre_frr"))

    se = list(get_source("securityeval")(root).records())
    check_shape("securityeval", se)
    assert len(se) == 121                                                  # MANIFEST: 121

    ll = list(get_source("llmseceval")(root).records())
    check_shape("llmseceval", ll)
    assert len(ll) == 150                                                  # MANIFEST: 150
    assert Counter(r.original_labels["vulnerable"] for r in ll) == {"TRUE": 85, "FALSE": 65}

    sv = list(get_source("sven_vuln_code")(root).records())
    check_shape("sven_vuln_code", sv)
    # MANIFEST: 803 pairs -> 1,606 functions; 4 pairs have identical before/after and are skipped
    assert Counter(r.label for r in sv) == {"unsafe": 799, "safe": 799}

    rc = list(get_source("redcode")(root).records())
    check_shape("redcode", rc)
    # MANIFEST: Python 27 x 30, Bash 20 x 30 (x 3 variants), Gen 160; 16 / 13 harmful scenarios kept
    assert Counter(r.subset for r in rc) == {"exec_python": 16 * 30 * 3, "exec_bash": 13 * 30 * 3, "gen": 160}
