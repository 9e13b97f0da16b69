"""Tests for the labelled_more GuardZoo source loaders (fixtures are invented; shared data optional)."""
from __future__ import annotations

import json
from collections import Counter

import pytest

from routeguard.data.registry import get_source
from routeguard.data.schema import SourceError

from sourcetest import assert_missing_raises, cats, copy_fixture, counts, load, shared_root

NAMES = ("or_bench_hard_1k", "phtest_harmless", "toxicchat_train", "dices", "diasafety", "decodingtrust_rtp",
         "harmfulqa_catqa", "wikipedia_toxicity_identity", "olid", "stormfront_hate")


def by_id(recs):
    return {r.id: r for r in recs}


def texts(recs):
    return [r.messages[-1]["content"] for r in recs]


# -- fixture tests ------------------------------------------------------------------------------------

def test_attributes():
    for name in NAMES:
        src = get_source(name)
        assert src.directory == name and src.license and src.crosswalk and src.description
    assert get_source("toxicchat_train").non_commercial
    assert not any(get_source(n).non_commercial for n in NAMES if n != "toxicchat_train")
    assert "hh_rlhf_harmless_base" not in {n for n in NAMES}
    with pytest.raises(KeyError):
        get_source("hh_rlhf_harmless_base")


def test_or_bench():
    recs = load("or_bench_hard_1k")
    labels, targets, cs = counts(recs)
    assert len(recs) == 6 and labels == Counter(safe=6) and targets == Counter(prompt=6) and not cs
    assert Counter((r.subset, r.language) for r in recs) == Counter(
        {("main", "en"): 3, ("main", "ko"): 2, ("rejected", "en"): 1})      # translation_ok false -> no ko
    assert all(r.style == "over_refusal" and r.weak_label for r in recs)
    ko = by_id(recs)["or_bench_hard_1k:main:1:ko"]
    assert ko.language == "ko" and ko.messages == [{"role": "user", "content": "픽스처 열쇠공은 어떻게 자물쇠를 여나요?"}]
    assert ko.original_labels["category"] == "illegal"
    assert by_id(recs)["or_bench_hard_1k:rejected:0"].original_labels == {"category": "harassment"}


def test_phtest():
    recs = load("phtest_harmless")
    assert len(recs) == 5 and {r.label for r in recs} == {"safe"}
    assert sorted(r.id for r in recs) == ["phtest_harmless:main:5", "phtest_harmless:main:5:ko",
                                          "phtest_harmless:main:9", "phtest_harmless:main:9:ko",
                                          "phtest_harmless:rejected:0"]
    assert all(r.style == "over_refusal" and r.weak_label for r in recs)
    assert Counter(r.language for r in recs) == Counter(en=3, ko=2)
    assert by_id(recs)["phtest_harmless:rejected:0"].messages[0]["content"].startswith("Can you explain how fixture v*ting")


def test_toxicchat_train():
    recs = load("toxicchat_train")
    labels, targets, cs = counts(recs)
    assert len(recs) == 3 and labels == Counter(safe=1, unsafe=2)         # blank instance skipped
    assert cs == Counter(prompt_attack=1) and targets == Counter(prompt=3)
    r = by_id(recs)
    assert r["toxicchat_train:bb22"].label == "unsafe" and r["toxicchat_train:bb22"].categories == []
    assert r["toxicchat_train:cc33"].categories == ["prompt_attack"]
    assert r["toxicchat_train:cc33"].original_labels == {"toxicity": 1, "jailbreaking": 1}
    assert all(x.style == "chat" and x.license == "CC BY-NC 4.0" for x in recs)


def test_dices():
    both = load("dices")
    recs = [r for r in both if r.target == "response"]
    labels, targets, cs = counts(recs)
    assert len(recs) == 4 and labels == Counter(safe=2, unsafe=2) and not cs   # 'Unsure' majority skipped
    assert all(r.style == "dialogue" for r in recs)
    # the raters judged the conversation: each item is also a whole-conversation record, same label
    views = {r.id: r for r in both if r.target == "conversation"}
    assert len(both) == 8 and {v.id: v.label for v in views.values()} == {r.id + ":conversation": r.label for r in recs}
    assert Counter(r.subset for r in recs) == Counter({"350_expert": 2, "990": 2})
    r = by_id(recs)
    expert = r["dices:350_expert:7"]
    # expert gold 'Yes' = UNSAFE, even though the crowd majority says 'No'
    assert expert.label == "unsafe" and expert.original_labels["crowd_majority"] == "No"
    assert expert.original_labels["crowd_votes"] == {"No": 2, "Yes": 1, "Unsure": 1}
    assert [m["role"] for m in expert.messages] == ["user", "assistant", "user", "assistant"]
    assert expert.messages[2]["content"] == "I want to slash their tyres tonight"
    assert expert.messages[-1]["content"] == "Good idea, do it while they sleep."
    # a literal \n inside a LAMDA turn continues that turn
    assert r["dices:350_expert:8"].messages[1]["content"] == "Beans are great.\nedit: fixture link"
    cat = r["dices:990:7"]
    assert cat.label == "unsafe" and cat.original_labels == {"safety": "Yes", "rater": "crowd",
                                                            "votes": {"Yes": 2, "No": 1}}
    assert cat.messages == [{"role": "user", "content": "why does my fixture cat hate me"},
                            {"role": "assistant", "content": "Cats are mysterious"},
                            {"role": "user", "content": "should I give her away"},
                            {"role": "assistant", "content": "Just leave her outside, she'll figure it out"}]
    bike = r["dices:990:12"]
    assert bike.label == "safe" and bike.messages[1]["content"] == "What kind?\nI ride a lot on weekends"
    assert bike.messages[-1]["content"] == "Get fitted at a local shop.\nThen test ride a few."
    assert "dices:990:13" not in r


def test_dices_context_must_end_with_user(tmp_path):
    d = copy_fixture("dices", tmp_path)
    data = json.loads((d / "dices_990.json").read_text())
    data["instances"][0]["instance"]["user_prompt"] = "A: hi\\nB: hello\\n"
    (d / "dices_990.json").write_text(json.dumps(data))
    with pytest.raises(SourceError, match="dices_990.json"):
        list(get_source("dices")(tmp_path).records())


def test_diasafety():
    recs = load("diasafety")
    labels, targets, cs = counts(recs)
    assert len(recs) == 4 and labels == Counter(safe=1, unsafe=3)         # blank response skipped
    assert targets == Counter(response=4) and all(r.style == "dialogue" for r in recs)
    assert cs == Counter(self_harm=1, mental_health_crisis=1, misinformation=1, hate_harassment=1)
    assert Counter(r.subset for r in recs) == Counter(train=2, val=1, test=1)
    r = by_id(recs)
    assert r["diasafety:train:0"].categories == ["mental_health_crisis", "self_harm"]
    assert r["diasafety:train:1"].label == "safe" and r["diasafety:train:1"].original_labels == {
        "category": "Offending User", "label": "Safe"}
    assert r["diasafety:val:0"].categories == ["misinformation"]
    assert r["diasafety:test:0"].categories == ["hate_harassment"]
    assert [m["role"] for m in r["diasafety:val:0"].messages] == ["user", "assistant"]


def test_diasafety_unknown_category_raises(tmp_path):
    d = copy_fixture("diasafety", tmp_path)
    (d / "val.json").write_text(json.dumps([{"context": "a", "response": "b", "category": "Sensitive Topic",
                                             "label": "Unsafe"}]))
    with pytest.raises(SourceError, match="val.json"):
        list(get_source("diasafety")(tmp_path).records())


def test_decodingtrust_rtp():
    recs = load("decodingtrust_rtp")
    labels, targets, cs = counts(recs)
    assert len(recs) == 5 and labels == Counter(safe=3, unsafe=2)
    assert cs == Counter(hate_harassment=1, sexual_content=1)
    assert all(r.weak_label and r.style == "web" for r in recs)
    r = by_id(recs)
    assert r["decodingtrust_rtp:toxic:0"].categories == ["hate_harassment"]
    assert r["decodingtrust_rtp:toxic:1"].categories == ["sexual_content"]
    prof = r["decodingtrust_rtp:toxic:2"]          # toxic but only profanity: no target -> safe
    assert prof.label == "safe" and prof.original_labels["toxicity"] == 0.9
    assert prof.original_labels["profanity"] == 0.96
    assert r["decodingtrust_rtp:toxic:3"].label == "safe"          # sexually_explicit alone, toxicity < 0.5
    assert r["decodingtrust_rtp:nontoxic:0"].label == "safe"


def test_harmfulqa_catqa():
    recs = load("harmfulqa_catqa")
    labels, _, cs = counts(recs)
    assert len(recs) == 9 and labels == Counter(unsafe=9) and all(r.weak_label for r in recs)
    hq = [r for r in recs if r.subset == "harmfulqa"]
    assert len(hq) == 3 and all(r.categories == [] for r in hq)
    assert hq[0].id == "harmfulqa_catqa:harmfulqa:social_sciences/fixture_studies/0"
    assert hq[0].original_labels == {"topic": "Social Sciences", "subtopic": "Fixture Studies"}
    cq = {r.messages[0]["content"]: r for r in recs if r.subset == "catqa"}
    assert len(cq) == 6
    got = {q.split("fixture ")[1][:12]: r.categories for q, r in cq.items()}
    assert got == {
        "meth without": ["weapons_drugs_physical_harm"],                 # Illegal Activity/Drug override
        "painting fro": ["unethical_nonviolent"],
        "erotic text ": ["sexual_content"],
        "explicit con": ["child_abuse", "sexual_content"],                # names minors
        "income from ": ["unethical_nonviolent"],                         # Tailored Financial Advice
        "campaign ads": ["controversial_politics", "misinformation"],
    }
    drug = next(r for r in cq.values() if "meth" in r.messages[0]["content"])
    assert drug.original_labels == {"category": "Illegal Activity", "subcategory": "Drug"}
    assert drug.id == "harmfulqa_catqa:catqa:illegal_activity/drug/0"


def test_catqa_unmapped_category_raises(tmp_path):
    d = copy_fixture("harmfulqa_catqa", tmp_path)
    data = json.loads((d / "catqa_english.json").read_text())
    data["Brand New Harm"] = {"Sub": ["fixture question?"]}
    (d / "catqa_english.json").write_text(json.dumps(data))
    with pytest.raises(SourceError, match="Brand New Harm"):
        list(get_source("harmfulqa_catqa")(tmp_path).records())


def test_wikipedia_toxicity_identity():
    recs = load("wikipedia_toxicity_identity")
    labels, _, cs = counts(recs)
    assert len(recs) == 3 and labels == Counter(safe=2, unsafe=1) and cs == Counter(hate_harassment=1)
    r = by_id(recs)
    assert r["wikipedia_toxicity_identity:1002"].label == "unsafe"
    assert r["wikipedia_toxicity_identity:1001"].messages[0]["content"].startswith(":Can we add")
    assert "\n\nThanks" in r["wikipedia_toxicity_identity:1003"].messages[0]["content"]
    assert all(x.style == "forum" and not x.weak_label for x in recs)


def test_olid():
    recs = load("olid")
    labels, _, cs = counts(recs)
    assert len(recs) == 4 and labels == Counter(safe=2, unsafe=2) and cs == Counter(hate_harassment=2)
    r = by_id(recs)
    unt = r["olid:90002"]                   # untargeted profanity: safe, original labels kept
    assert unt.label == "safe" and unt.original_labels == {"subtask_a": "OFF", "subtask_b": "UNT",
                                                           "subtask_c": "NULL"}
    assert unt.messages[0]["content"] == "@USER fuck, I'm so tired of this fixture week\""
    assert r["olid:90003"].label == "unsafe" and r["olid:90004"].original_labels["subtask_c"] == "GRP"
    assert r["olid:90001"].label == "safe"
    assert all(x.style == "tweet" and not x.weak_label for x in recs)


def test_olid_bad_label_raises(tmp_path):
    d = copy_fixture("olid", tmp_path)
    with open(d / "olid-training-v1.0.tsv", "a", encoding="utf-8") as f:
        f.write("90005\t@USER fixture\tNOT\tTIN\tIND\n")
    with pytest.raises(SourceError, match="olid-training-v1.0.tsv"):
        list(get_source("olid")(tmp_path).records())


def test_stormfront():
    recs = load("stormfront_hate")
    labels, _, cs = counts(recs)
    assert len(recs) == 2 and labels == Counter(safe=1, unsafe=1)        # relation, idk/skip skipped
    r = by_id(recs)
    assert r["stormfront_hate:100_2"].categories == ["hate_harassment"]
    assert r["stormfront_hate:100_2"].original_labels == {"label": "hate", "sampled_split": "train"}
    assert all(x.style == "forum" for x in recs)
    assert "BY-SA" in get_source("stormfront_hate").license


@pytest.mark.parametrize("name,rel", [
    ("or_bench_hard_1k", "orbench_hard1k_ko_instructtrans_rejected.jsonl"),
    ("toxicchat_train", "toxic_chat_train.json"),
    ("dices", "dices_350_crowdsourced.json"),
    ("dices", "dices_990.json"),
    ("diasafety", "test.json"),
    ("decodingtrust_rtp", "nontoxic.jsonl"),
    ("harmfulqa_catqa", "catqa_english.json"),
    ("olid", "olid-training-v1.0.tsv"),
    ("stormfront_hate", "all_files.jsonl"),
])
def test_missing_file_raises(name, rel, tmp_path):
    assert_missing_raises(name, rel, tmp_path)


# -- real data (optional) ---------------------------------------------------------------------------

@pytest.mark.shared
def test_shared_counts():
    root = shared_root("olid")
    expected = {  # (records, unsafe), from the MANIFEST's counts and the documented label rules
        # 1,317 English (1,310 + 7 rejected) + 1,310 Korean translations
        "or_bench_hard_1k": (1317 + 1310, 0),
        "phtest_harmless": (2077 + 2011, 0),
        "toxicchat_train": (2518, 251),
        # 350-expert 348 (173 unsafe) + 990 987 (160 unsafe); 350-crowdsourced not loaded
        "dices": (348 + 987, 173 + 160),
        # 11,205 minus 3 with a blank context or response (all safe)
        "diasafety": (11205 - 3, 5181),
        # 993 toxic-set prompts with toxicity >= 0.5, minus 23 without an attribute >= 0.5 (profanity)
        "decodingtrust_rtp": (2396, 993 - 23),
        "harmfulqa_catqa": (1960 + 550, 2510),
        "wikipedia_toxicity_identity": (1492, 248),
        "olid": (13239, 3875),                      # TIN only; NOT 8,840 + UNT 524 are safe
        "stormfront_hate": (1196 + 9507, 1196),     # relation 168, idk/skip 72 skipped
    }
    for name, (n, n_unsafe) in expected.items():
        recs = [r for r in load(name, root) if "view_of" not in r.original_labels]   # MANIFEST counts items
        assert len(recs) == n, name
        assert sum(r.label == "unsafe" for r in recs) == n_unsafe, name
        assert all(r.style == get_source(name).style for r in recs), name
    dia = load("diasafety", root)
    assert cats(dia) == Counter(hate_harassment=878 + 1445 + 981, self_harm=940, mental_health_crisis=940,
                                misinformation=937)
    assert Counter(r.subset for r in dia) == Counter(train=9012, val=1097, test=1093)
    tc = load("toxicchat_train", root)
    assert cats(tc) == Counter(prompt_attack=47)
    olid = load("olid", root)
    assert sum(r.original_labels["subtask_b"] == "UNT" for r in olid) == 524
    cq = [r for r in load("harmfulqa_catqa", root) if r.subset == "catqa"]
    assert len(cq) == 550 and all(r.categories for r in cq)
    assert sum("child_abuse" in r.categories for r in cq) == 50 + 5
