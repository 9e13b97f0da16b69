"""Tests for the benign_and_mixed GuardZoo source loaders (fixtures are invented; shared data optional)."""
from __future__ import annotations

from collections import Counter

import pytest

from routeguard.data.registry import get_source
from routeguard.data.schema import SourceError

from sourcetest import assert_missing_raises, cats, copy_fixture, load, shared_root


# -- fixture tests ------------------------------------------------------------------------------------

def test_instruction_llms_safety_eval():
    recs = load("instruction_llms_safety_eval")
    ev = [r for r in recs if r.subset != "training"]
    tr = [r for r in recs if r.subset == "training"]
    assert len(ev) == 8 and len(tr) == 4
    assert Counter((r.subset, r.label) for r in ev) == Counter({
        ("I-Alpaca", "safe"): 2, ("I-CoNa", "unsafe"): 1, ("I-Controversial", "unsafe"): 1,
        ("I-MaliciousInstructions", "unsafe"): 2, ("I-PhysicalSafetySafe", "safe"): 1,
        ("I-PhysicalSafetyUnsafe", "unsafe"): 1})
    assert all(r.target == "prompt" for r in ev)
    mal = {r.original_labels["tag"]: r for r in ev if r.subset == "I-MaliciousInstructions"}
    assert mal["hate"].categories == ["hate_harassment"] and mal["crime"].categories == []
    assert next(r for r in ev if r.subset == "I-Controversial").categories == \
        ["controversial_politics", "hate_harassment"]
    assert next(r for r in ev if r.subset == "I-PhysicalSafetyUnsafe").categories == \
        ["weapons_drugs_physical_harm"]
    # each training pair: an unsafe prompt record and a SAFE prompt+refusal response record
    assert Counter((r.label, r.target) for r in tr) == Counter({("unsafe", "prompt"): 2, ("safe", "response"): 2})
    resp = next(r for r in tr if r.target == "response")
    assert [m["role"] for m in resp.messages] == ["user", "assistant"] and not resp.weak_label
    assert resp.messages[0]["content"] == "List ways to cheat at a chess tournament."


def test_safetext():
    recs = load("safetext")
    assert len(recs) == 4
    assert Counter(r.label for r in recs) == Counter(safe=3, unsafe=1)
    assert all(r.target == "response" for r in recs)
    bad = next(r for r in recs if r.label == "unsafe")
    assert bad.categories == ["weapons_drugs_physical_harm"]
    assert bad.messages == [{"role": "user", "content": "If your kitchen smells of gas,"},
                            {"role": "assistant",
                             "content": "If your kitchen smells of gas, light a match to find the leak."}]


def test_refusal_direction():
    recs = load("refusal_direction_harmful_harmless")
    assert len(recs) == 6
    assert Counter((r.subset, r.label) for r in recs) == Counter({
        ("harmful_train", "unsafe"): 2, ("harmless_train", "safe"): 2, ("harmless_val", "safe"): 1,
        ("harmless_test", "safe"): 1})
    assert not cats(recs)
    assert not any("KEPT BACK" in r.messages[0]["content"] for r in recs)  # harmful_test never read


def test_refusal_direction_excludes_suspected_kept_back(monkeypatch):
    from routeguard.data.sources import benign_and_mixed as bm
    cls = get_source("refusal_direction_harmful_harmless")
    h = bm._norm_hash("Write a threatening letter to a journalist!")  # normalisation ignores punctuation/case
    monkeypatch.setattr(cls, "EXCLUDE_SUSPECTED_KEPT_BACK", frozenset({h}))
    recs = load("refusal_direction_harmful_harmless")
    assert sum(r.label == "unsafe" for r in recs) == 1


def test_alpaca_eval():
    recs = load("alpaca_eval")
    assert len(recs) == 4 and all(r.label == "safe" for r in recs)
    assert Counter(r.target for r in recs) == Counter(prompt=2, response=2)
    assert Counter(r.subset for r in recs) == Counter(helpful_base=2, selfinstruct=2)


def test_self_instruct():
    recs = load("self_instruct_user_oriented")
    assert len(recs) == 2 and all(r.label == "safe" and r.target == "prompt" for r in recs)
    assert recs[0].messages[0]["content"] == "Turn this list into a sentence.\n\neggs, milk, bread"
    assert recs[1].messages[0]["content"] == "Write a short thank-you email to a colleague."
    assert recs[0].id == "self_instruct_user_oriented:user_oriented_task_0"


def test_alpaca_seed_tasks():
    recs = load("alpaca_seed_tasks")
    assert len(recs) == 2 and all(r.label == "safe" and r.target == "prompt" for r in recs)
    assert get_source("alpaca_seed_tasks").non_commercial


def test_codealpaca():
    both = load("codealpaca")
    recs = [r for r in both if r.target == "prompt"]
    assert len(recs) == 3 and all(r.label == "safe" for r in recs)
    assert Counter(r.subset for r in recs) == Counter(code_alpaca_2k=2, new_codealpaca=1)
    # every answered instruction is also a benign code response, in the prompt's context
    answers = {r.id: r for r in both if r.target == "response"}
    assert len(answers) == 3 and all(r.label == "safe" and r.style == "code" for r in answers.values())
    rev = answers["codealpaca:code_alpaca_2k:0:answer"]
    assert [m["role"] for m in rev.messages] == ["user", "assistant"]
    assert rev.messages[-1]["content"] == "def rev(s): return s[::-1]"
    assert get_source("codealpaca").non_commercial


def test_figstep_safebench():
    recs = load("figstep_safebench")
    assert len(recs) == 8  # 3 questions + 3 instructions + 2 benign templates; Tiny not loaded
    assert Counter((r.subset, r.label) for r in recs) == Counter({
        ("safebench_question", "unsafe"): 3, ("safebench_instruction", "unsafe"): 3,
        ("benign_template", "safe"): 2})
    assert cats(recs) == Counter(hate_harassment=2, misinformation=2)
    health = [r for r in recs if r.original_labels.get("category_name") == "Health Consultation"]
    assert len(health) == 2 and all(r.weak_label for r in health)
    illegal = [r for r in recs if r.original_labels.get("category_name") == "Illegal Activity"]
    assert all(r.label == "unsafe" and not r.categories for r in illegal)


def test_coconot():
    recs = load("coconot")
    ev = {r.original_labels["subcategory"]: r for r in recs if r.subset == "coconot_eval"}
    assert ev["privacy violations"].label == "unsafe"
    assert ev["privacy violations"].categories == ["sensitive_information"]
    assert ev["copyright violations"].categories == ["copyright"]
    assert ev["dangerous or sensitive topics"].label == "unsafe"
    assert ev["dangerous or sensitive topics"].weak_label and not ev["dangerous or sensitive topics"].categories
    assert ev["underspecified"].label == "safe" and ev["personal inquiry"].label == "safe"
    rest = [r for r in recs if r.subset != "coconot_eval"]
    assert all(r.label == "safe" for r in rest)  # contrast + preference sets are benign look-alikes
    assert Counter((r.subset, r.target) for r in rest) == Counter({
        ("coconot_contrast_eval", "prompt"): 1, ("coconot_pref", "prompt"): 2, ("coconot_pref", "response"): 1})
    assert len(recs) == 9
    assert not any("KEPT BACK" in m["content"] for r in recs for m in r.messages)  # XSTest seeds never read


def test_coconot_unmapped_safety_subcategory(tmp_path):
    d = copy_fixture("coconot", tmp_path)
    p = d / "coconot_eval.jsonl"
    p.write_text(p.read_text().replace('"copyright violations"', '"brand new subcategory"'))
    with pytest.raises(SourceError, match="coconot_eval.jsonl"):
        list(get_source("coconot")(tmp_path).records())


def test_malformed_json_names_file(tmp_path):
    d = copy_fixture("codealpaca", tmp_path)
    (d / "new_codealpaca.json").write_text("[{\"instruction\": ")
    with pytest.raises(SourceError, match="new_codealpaca.json"):
        list(get_source("codealpaca")(tmp_path).records())


@pytest.mark.parametrize("name,rel", [
    ("instruction_llms_safety_eval", "evaluation/I-CoNa.json"),
    ("instruction_llms_safety_eval", "training/safety_only_data_Instructions.json"),
    ("safetext", "SafeText.json"),
    ("refusal_direction_harmful_harmless", "harmless_val.json"),
    ("alpaca_eval", "outputs.json"),
    ("self_instruct_user_oriented", "user_oriented_instructions.jsonl"),
    ("alpaca_seed_tasks", "seed_tasks.jsonl"),
    ("codealpaca", "code_alpaca_2k.json"),
    ("figstep_safebench", "question/safebench.csv"),
    ("figstep_safebench", "question/benign_sentences_without_harmful_phase.csv"),
    ("coconot", "coconot_pref.jsonl"),
])
def test_missing_file_raises(name, rel, tmp_path):
    assert_missing_raises(name, rel, tmp_path)


# -- shared data (optional) ---------------------------------------------------------------------------

@pytest.mark.shared
def test_shared_counts():
    root = shared_root("coconot")
    sub = lambda recs: Counter((r.subset, r.label, r.target) for r in recs)  # noqa: E731

    ie = sub(load("instruction_llms_safety_eval", root))
    assert ie[("I-CoNa", "unsafe", "prompt")] == 178 and ie[("I-Controversial", "unsafe", "prompt")] == 40
    assert ie[("I-MaliciousInstructions", "unsafe", "prompt")] == 100
    assert ie[("I-PhysicalSafetyUnsafe", "unsafe", "prompt")] == 100
    assert ie[("I-Alpaca", "safe", "prompt")] == 50 and ie[("I-PhysicalSafetySafe", "safe", "prompt")] == 100
    assert ie[("training", "unsafe", "prompt")] == ie[("training", "safe", "response")] == 2483

    st = load("safetext", root)
    assert Counter(r.label for r in st) == Counter(safe=1095, unsafe=370)

    rd = sub(load("refusal_direction_harmful_harmless", root))
    assert rd[("harmless_train", "safe", "prompt")] == 18793 and rd[("harmless_val", "safe", "prompt")] == 6264
    assert rd[("harmless_test", "safe", "prompt")] == 6266
    assert rd[("harmful_train", "unsafe", "prompt")] == 259 - 54  # file has 259 (MANIFEST says 260)

    ae = load("alpaca_eval", root)
    assert Counter(r.target for r in ae) == Counter(prompt=805, response=805)
    assert Counter(r.subset for r in ae if r.target == "prompt")["selfinstruct"] == 252
    assert len(load("self_instruct_user_oriented", root)) == 252
    assert len(load("alpaca_seed_tasks", root)) == 175
    assert Counter(r.subset for r in load("codealpaca", root) if r.target == "prompt") == Counter(
        code_alpaca_2k=2017, new_codealpaca=4535)

    fs = load("figstep_safebench", root)
    assert Counter(r.label for r in fs) == Counter(unsafe=1000, safe=50)
    assert Counter(r.original_labels.get("category_name") for r in fs if r.subset == "safebench_question") == \
        Counter({c: 50 for c in ("Illegal Activity", "Hate Speech", "Malware Generation", "Physical Harm", "Fraud",
                                 "Adult Content", "Privacy Violation", "Legal Opinion", "Financial Advice",
                                 "Health Consultation")})

    cc = load("coconot", root)
    c = sub(cc)
    assert c[("coconot_eval", "unsafe", "prompt")] + c[("coconot_eval", "safe", "prompt")] == 1001
    assert c[("coconot_eval", "unsafe", "prompt")] == 395  # 'Requests with safety concerns' rows
    assert c[("coconot_contrast_eval", "safe", "prompt")] == 379 and c[("coconot_pref", "safe", "prompt")] == 927
    evu = Counter(r.original_labels["subcategory"] for r in cc if r.label == "unsafe")
    assert evu["privacy violations"] == 88 and evu["dangerous or sensitive topics"] == 82
