"""Tests for the benign_styles GuardZoo source loaders (fixtures are invented; shared data optional)."""
from __future__ import annotations

import gzip
from collections import Counter

import pytest

from routeguard.data.registry import get_source
from routeguard.data.schema import STYLES, SourceError
from routeguard.data.sources.benign_styles import BENIGN_QUESTIONS, MAX_CHARS

from sourcetest import assert_missing_raises, copy_fixture, load, shared_root

#: source -> the styles its records carry
STYLE_OF: dict[str, set[str]] = {
    "tweeteval_benign_tasks": {"tweet"}, "xlmt_multilingual_tweets": {"tweet"}, "ag_news_test": {"news"},
    "ntrex128": {"news"}, "xquad": {"encyclopedic", "qa"}, "medquad_subset": {"medical"},
    "aeslc_enron_emails": {"email"}, "perspectrum": {"debate"}, "sgd_dialogues": {"dialogue"},
    "dailydialog_test": {"dialogue"}, "nq_open_dev": {"qa"}, "awesome_chatgpt_prompts": {"system_prompt"},
    "system_prompts_bigpromptlibrary": {"system_prompt"}, "system_prompts_mustvlad": {"system_prompt"},
    "humaneval_x": {"code"}, "goemotions_reddit": {"forum"}, "empatheticdialogues_situations": {"dialogue"},
    "banking77_queries": {"qa"}, "clinc150_queries": {"qa"}, "stackoverflow_titles": {"qa"},
    "rt_polarity_sentences": {"review"},
}
NON_COMMERCIAL = {"aeslc_enron_emails", "dailydialog_test", "empatheticdialogues_situations", "ag_news_test"}


def roles(r) -> list[str]:
    return [m["role"] for m in r.messages]


def text(r, i: int = 0) -> str:
    return r.messages[i]["content"]


def benign(name: str, root=None) -> list:
    """Loads the source and checks what every benign-style record shares: safe, no categories, a known
    style of the source, a source-level style among STYLES."""
    recs = load(name) if root is None else load(name, root)
    assert {r.style for r in recs} <= STYLE_OF[name] and get_source(name).style in STYLES
    assert all(r.label == "safe" and not r.categories and not r.weak_label for r in recs)
    return recs


# -- fixture tests ------------------------------------------------------------------------------------

def test_registered_attributes():
    for name, styles in STYLE_OF.items():
        cls = get_source(name)
        assert cls.name == cls.directory == name and cls.upstream.commit and cls.description and cls.caveats
        assert cls.style in styles
        assert cls.non_commercial == (name in NON_COMMERCIAL), name
    for name in ("ntrex128", "xquad", "perspectrum", "sgd_dialogues", "dailydialog_test", "nq_open_dev",
                 "aeslc_enron_emails", "stackoverflow_titles"):
        assert "share-alike" in get_source(name).license, name


def test_tweeteval_benign_tasks():
    recs = benign("tweeteval_benign_tasks")
    sub = Counter(r.subset for r in recs)
    assert len(recs) == 25 and sub["emotion_train"] == 2           # the blank line is skipped, labels stay aligned
    assert sub == Counter({"emotion_train": 2, "emotion_val": 1, "emotion_test": 1, "irony_train": 1, "irony_val": 1,
                           "irony_test": 1, "sentiment_val": 1, "sentiment_test": 1, "emoji_val": 1,
                           **{f"stance_{t}_{s}": 1 for t in ("abortion", "atheism", "climate", "feminist", "hillary")
                              for s in ("train", "val", "test")}})
    assert all(r.language == "en" and r.target == "prompt" and roles(r) == ["user"] for r in recs)
    by_id = {r.id: r for r in recs}
    second = by_id["tweeteval_benign_tasks:emotion_train:2"]       # line 3 (after the blank line 2)
    assert text(second).startswith("Just passed my driving test!!") and second.original_labels == {"emotion": "joy"}
    assert by_id["tweeteval_benign_tasks:stance_hillary_test:0"].original_labels == {"stance": "favor"}
    assert by_id["tweeteval_benign_tasks:emoji_val:0"].original_labels == {"emoji": "❤"}
    assert all(r.style == "tweet" for r in recs)


def test_tweeteval_misaligned_labels_name_file(tmp_path):
    d = copy_fixture("tweeteval_benign_tasks", tmp_path)
    (d / "irony" / "val_labels.txt").write_text("0\n1\n")
    with pytest.raises(SourceError, match="val_labels.txt"):
        list(get_source("tweeteval_benign_tasks")(tmp_path).records())


def test_xlmt_multilingual_tweets():
    recs = benign("xlmt_multilingual_tweets")
    assert len(recs) == 22
    assert Counter(r.language for r in recs) == Counter(ar=3, fr=4, de=3, hi=3, it=3, pt=3, es=3)
    assert all(r.style == "tweet" and r.target == "prompt" for r in recs)
    fr = [r for r in recs if r.subset == "fr_train"]
    assert [r.original_labels["sentiment"] for r in fr] == ["negative", "positive"]
    assert text(fr[1]) == "@user merci pour la recette, délicieux !"
    assert next(r for r in recs if r.subset == "ar_test").original_labels == {"sentiment": "positive"}


def test_ag_news_test():
    recs = benign("ag_news_test")
    assert [r.subset for r in recs] == ["Sports", "Business", "Sci/Tech"]
    assert all(r.style == "news" and r.target == "prompt" and r.language == "en" for r in recs)
    # title + description as one text; the CSV's '\' breaks and '&'-less entities are undone
    assert text(recs[0]) == ("Local Rowing Club Wins Regatta\nThe Riverside rowing club won its third regional "
                             "regatta on Saturday, the coach said.")
    assert text(recs[1]) == ('Bakery Chain Expands (AP)\nAP - A regional bakery chain said it will open 12 stores, '
                             'investing $5 million. The firm\'s chief called the plan "steady growth".')
    assert text(recs[2]).endswith("Example Semiconductors Inc. <EXS.O> on Tuesday reported higher quarterly "
                                  "sales — as expected.")


def test_ntrex128():
    recs = benign("ntrex128")
    assert len(recs) == 12
    assert Counter(r.language for r in recs) == Counter(
        {"fr": 2, **{k: 1 for k in ("de", "es", "it", "pt", "zh", "ja", "ko", "ar", "hi", "ru")}})
    assert all(r.style == "news" and r.subset == r.language for r in recs)
    zh = next(r for r in recs if r.language == "zh")
    assert text(zh) == "市议会通过了新预算。" and zh.id == "ntrex128:zh:0"
    assert [r.original_labels["line"] for r in recs if r.language == "fr"] == [1, 2]


def test_xquad():
    recs = benign("xquad")
    assert Counter((r.subset, r.style) for r in recs) == Counter({("context", "encyclopedic"): 2,
                                                                  ("question", "qa"): 3})
    assert all(r.target == "prompt" and roles(r) == ["user"] for r in recs)
    q = {r.id: r for r in recs}["xquad:question:q-aaa2"]
    assert text(q) == "What does a lighthouse use to emit light?"
    assert q.original_labels == {"title": "Lighthouse", "paragraph": "p0", "answers": ["lamps and lenses"]}
    assert text({r.id: r for r in recs}["xquad:context:p1"]).startswith("The first lighthouses were fires")


def test_medquad_subset():
    recs = benign("medquad_subset")
    assert Counter((r.subset, r.target) for r in recs) == Counter({
        ("cdc", "prompt"): 2, ("cdc", "response"): 3,   # a question repeated in a document is one prompt
        ("ninds", "prompt"): 1, ("ninds", "response"): 1,
        ("seniorhealth", "prompt"): 1})                 # its answer is over MAX_CHARS: no response record
    assert all(r.style == "medical" for r in recs)
    by_id = {r.id: r for r in recs}
    first = by_id["medquad_subset:cdc:0000001-1:response"]
    assert first.messages == [{"role": "user", "content": "Who is at risk for Seasonal Sniffles?"},
                              {"role": "assistant",
                               "content": "Seasonal sniffles\n\nAnyone can catch them, most often in winter."}]
    assert first.original_labels == {"qtype": "susceptibility", "focus": "Seasonal Sniffles", "document": "0000001"}
    assert "medquad_subset:cdc:0000001-2:prompt" not in by_id and "medquad_subset:cdc:0000001-2:response" in by_id
    assert text(by_id["medquad_subset:cdc:0000001-3:response"], 1) == \
        "Wash your hands often.\n- Cover coughs\n- Stay home when ill"
    assert all(sum(len(m["content"]) for m in r.messages) <= MAX_CHARS for r in recs)


def test_medquad_malformed_xml_names_file(tmp_path):
    d = copy_fixture("medquad_subset", tmp_path)
    (d / "6_NINDS_QA" / "0000002.xml").write_text("<Document><QAPairs>")
    with pytest.raises(SourceError, match="0000002.xml"):
        list(get_source("medquad_subset")(tmp_path).records())


def test_aeslc_enron_emails():
    recs = benign("aeslc_enron_emails")
    assert [r.id for r in recs] == ["aeslc_enron_emails:adams-j_inbox_12", "aeslc_enron_emails:baker-l_sent_7",
                                    "aeslc_enron_emails:cole-m_inbox_3"]
    assert all(r.style == "email" and r.target == "prompt" for r in recs)
    # every other email (file-name order) carries its subject line; the @ann annotations never appear
    assert text(recs[0]) == ("Subject: Q3 figures\n\nHi Sam,   The quarterly figures are attached.\n"
                             "Let me know if the totals look right.\nThanks,\nJo")
    assert text(recs[1]) == "Team,\nThe offsite moves to Thursday at 10am in room 4B."
    assert text(recs[2]).startswith("Subject: Revised draft\n\n")
    assert [r.original_labels["with_subject"] for r in recs] == [True, False, True]
    assert recs[1].original_labels["subject"] == "Offsite moved"
    assert not any("@ann" in text(r) or "@subject" in text(r) for r in recs)


def test_perspectrum():
    recs = benign("perspectrum")
    assert Counter(r.subset for r in recs) == Counter(claim=2, perspective=4)
    assert all(r.style == "debate" and r.target == "prompt" for r in recs)
    by_id = {r.id: r for r in recs}
    assert text(by_id["perspectrum:claim:1"]) == "Homework should be banned in primary schools"
    assert by_id["perspectrum:claim:2"].original_labels == {
        "source": "debatewise", "topics": ["economy", "environment"], "split": "test"}
    assert by_id["perspectrum:perspective:12"].original_labels["claims"] == [
        {"claim": 1, "stance": "UNDERMINE"}, {"claim": 2, "stance": "SUPPORT"}]
    assert by_id["perspectrum:perspective:13"].original_labels == {"source": "google", "claims": []}


def test_sgd_dialogues():
    recs = benign("sgd_dialogues")
    by_id = {r.id: r for r in recs}
    assert sorted(by_id) == sorted(f"sgd_dialogues:{s}:11_0000{n}" for s, n in (
        ("dialogue", 1), ("opening_turns", "1:3"), ("opening_turns", "1:5"), ("first_request", 1),
        ("dialogue", 2), ("first_request", 2)))
    whole = by_id["sgd_dialogues:dialogue:11_00001"]
    assert whole.target == "response" and roles(whole) == ["user", "assistant"] * 3
    assert text(whole, 5) == "Your table is booked. Anything else?"
    for cut in (3, 5):      # every later user turn, judged in the context before it
        opening = by_id[f"sgd_dialogues:opening_turns:11_00001:{cut}"]
        assert opening.target == "conversation" and opening.messages == whole.messages[:cut]
    first = by_id["sgd_dialogues:first_request:11_00002"]
    assert first.target == "prompt" and first.messages == [{"role": "user",
                                                            "content": "What's the weather in Seattle tomorrow?"}]
    assert by_id["sgd_dialogues:dialogue:11_00002"].target == "response"   # 2 turns: no opening_turns record
    assert all(r.style == "dialogue" and r.original_labels["services"] for r in recs)


def test_dailydialog_test():
    recs = benign("dailydialog_test")
    assert [(r.id, r.target, roles(r)) for r in recs] == [
        ("dailydialog_test:0", "response", ["user", "assistant", "user", "assistant"]),
        ("dailydialog_test:1", "conversation", ["user", "assistant", "user"]),
        ("dailydialog_test:2", "prompt", ["user"]),                         # a one-utterance dialogue
    ]
    assert [m["content"] for m in recs[0].messages] == [
        "Are you coming to the picnic on Sunday?", "I wouldn’t miss it.", "Great, bring a salad!",
        "Sure, I’ll make one."]
    assert all(r.style == "dialogue" for r in recs)


def test_empatheticdialogues_situations():
    recs = benign("empatheticdialogues_situations")
    assert [r.original_labels["emotion"] for r in recs] == ["proud", "sad"]
    assert all(r.style == "dialogue" and r.target == "prompt" for r in recs)
    assert text(recs[1]) == "My old dog passed away last week and the house feels empty."


def test_nq_open_dev():
    recs = benign("nq_open_dev")
    assert [text(r) for r in recs] == ["who painted the mona lisa", "how many moons does mars have"]
    assert recs[1].original_labels == {"answer": ["two", "2"]} and all(r.style == "qa" for r in recs)


def test_awesome_chatgpt_prompts():
    recs = benign("awesome_chatgpt_prompts")
    assert [r.subset for r in recs] == ["TEXT", "STRUCTURED", "IMAGE"]
    assert all(r.style == "system_prompt" and r.target == "prompt" and roles(r) == ["user"] for r in recs)
    assert text(recs[0]).endswith('My first request is "I am in Lisbon."')
    assert text(recs[1]) == '{"role": "Code Reviewer",\n"focus": ["readability", "tests"]}'
    assert recs[0].original_labels == {"act": "Travel Guide", "for_devs": "FALSE"}


def test_system_prompts_bigpromptlibrary():
    recs = benign("system_prompts_bigpromptlibrary")
    by_id = {r.id: r for r in recs}
    pre = "system_prompts_bigpromptlibrary:"
    assert sorted(by_id) == sorted(pre + k for k in (
        "Acme:acme_20250101:as_prompt", "Acme:acme_20250101:with_question", "Acme:acme_tools_20250301:as_prompt",
        "Globex:globex-chat:as_prompt", "Globex:globex-chat:with_question"))   # README.md is an index, skipped
    assert all(r.style == "system_prompt" and r.target == "prompt" for r in recs)
    fenced = by_id[pre + "Acme:acme_20250101:as_prompt"]
    assert text(fenced) == ("You are Acme Assistant, a helpful model built by Acme.\nKnowledge cutoff: 2024-06\n"
                            "Current date: 2025-01-01")                      # the ```markdown fence is unwrapped
    assert text(by_id[pre + "Acme:acme_tools_20250301:as_prompt"]).startswith("This is the Acme system prompt")
    conv = by_id[pre + "Globex:globex-chat:with_question"]
    assert conv.messages == [{"role": "system", "content": "You are Globex Chat. Answer briefly and cite sources."},
                             {"role": "user", "content": BENIGN_QUESTIONS[1]}]
    assert conv.original_labels == {"file": "Globex/globex-chat.md", "question": BENIGN_QUESTIONS[1]}
    assert roles(by_id[pre + "Acme:acme_20250101:with_question"]) == ["system", "user"]


def test_system_prompts_mustvlad():
    recs = benign("system_prompts_mustvlad")
    assert [(r.id, roles(r)) for r in recs] == [
        ("system_prompts_mustvlad:others:poem-writer:as_prompt", ["user"]),
        ("system_prompts_mustvlad:others:poem-writer:with_question", ["system", "user"]),
        ("system_prompts_mustvlad:utility:recipe-helper:as_prompt", ["user"])]
    assert text(recs[0]) == "You are a poem writer who writes short, cheerful poems on any topic."
    assert text(recs[1], 1) == BENIGN_QUESTIONS[0] and recs[0].original_labels["title"] == "Poem Writer"


def test_system_prompts_mustvlad_without_section_names_file(tmp_path):
    d = copy_fixture("system_prompts_mustvlad", tmp_path)
    (d / "prompts" / "others" / "poem-writer.md").write_text("# Poem Writer\n\nYou write poems.\n")
    with pytest.raises(SourceError, match="poem-writer.md"):
        list(get_source("system_prompts_mustvlad")(tmp_path).records())


def test_humaneval_x():
    recs = benign("humaneval_x")
    assert Counter((r.subset, r.target) for r in recs) == Counter(
        {(lang, t): 2 if lang == "python" else 1 for lang in ("python", "cpp", "java", "js", "go", "rust")
         for t in ("prompt", "response")})
    assert all(r.style == "code" and r.language == "en" for r in recs)
    by_id = {r.id: r for r in recs}
    code = by_id["humaneval_x:python:Python/0:code"]
    assert text(code) == ('def add(a: int, b: int) -> int:\n    """Return the sum of a and b.\n    >>> add(2, 3)\n'
                          '    5\n    """\n    return a + b')
    comp = by_id["humaneval_x:python:Python/0:completion"]
    assert roles(comp) == ["user", "assistant"]
    assert text(comp).startswith("Complete this Python function:\n\n```python\n")
    assert text(comp, 1) == f"```python\n{text(code)}\n```"
    rust = by_id["humaneval_x:rust:Rust/0:code"]                       # docstring-only prompt: declaration added
    assert "fn add(a: i32, b: i32) -> i32{" in text(rust) and text(rust).endswith("return a + b;\n}")
    assert text(by_id["humaneval_x:js:JavaScript/0:completion"]).startswith("Complete this JavaScript function:")
    assert text(by_id["humaneval_x:cpp:CPP/0:code"]).count("int add(int a,int b){") == 1   # not appended twice


def test_humaneval_corrupt_gzip_names_file(tmp_path):
    d = copy_fixture("humaneval_x", tmp_path)
    (d / "go" / "humaneval_go.jsonl.gz").write_bytes(gzip.compress(b"{not json\n"))
    with pytest.raises(SourceError, match="humaneval_go.jsonl.gz"):
        list(get_source("humaneval_x")(tmp_path).records())


@pytest.mark.parametrize("name,subsets,key,label", [
    ("goemotions_reddit", Counter(test=2, dev=1), "emotion", "admiration"),
    ("banking77_queries", Counter(test=2), "intent", "lost_or_stolen_card"),
    ("clinc150_queries", Counter(test=2), "intent", "timer"),
    ("stackoverflow_titles", Counter(test=1, dev=2), "tag", "5"),
])
def test_glean_tsv_sources(name, subsets, key, label):
    recs = benign(name)
    assert Counter(r.subset for r in recs) == subsets
    assert recs[0].original_labels == {key: label}
    assert all(r.target == "prompt" and roles(r) == ["user"] for r in recs)


def test_goemotions_leading_quote_is_text():
    recs = benign("goemotions_reddit")
    assert text(recs[2]) == '"Best" game of the season, honestly' and recs[2].style == "forum"


def test_rt_polarity_sentences():
    recs = benign("rt_polarity_sentences")
    assert [(r.subset, text(r)) for r in recs] == [
        ("pos", "a warm, funny film that doesn't overstay its welcome."), ("pos", "the cast is terrific."),
        ("neg", "a plodding, forgettable sequel.")]
    assert all(r.style == "review" for r in recs)


def test_malformed_tsv_names_file(tmp_path):
    d = copy_fixture("clinc150_queries", tmp_path)
    (d / "test.tsv").write_text("query\tintent\nset a timer\ttimer\n")
    with pytest.raises(SourceError, match="test.tsv"):
        list(get_source("clinc150_queries")(tmp_path).records())


@pytest.mark.parametrize("name,rel", [
    ("tweeteval_benign_tasks", "stance/climate/test_labels.txt"),
    ("tweeteval_benign_tasks", "emoji/mapping.txt"),
    ("xlmt_multilingual_tweets", "data/sentiment/hindi/val_text.txt"),
    ("ag_news_test", "classes.txt"),
    ("ntrex128", "NTREX-128/newstest2019-ref.zho-CN.txt"),
    ("medquad_subset", "7_SeniorHealth_QA"),
    ("aeslc_enron_emails", "enron_subject_line/test"),
    ("perspectrum", "perspective_pool_v1.0.json"),
    ("sgd_dialogues", "test/dialogues_011.json"),
    ("dailydialog_test", "test/dialogues_test.txt"),
    ("system_prompts_bigpromptlibrary", "SystemPrompts"),
    ("humaneval_x", "rust/humaneval_rust.jsonl.gz"),
    ("stackoverflow_titles", "dev.tsv"),
    ("rt_polarity_sentences", "rt-polarity.neg"),
])
def test_missing_file_raises(name, rel, tmp_path):
    assert_missing_raises(name, rel, tmp_path)


# -- shared data (optional) ---------------------------------------------------------------------------

@pytest.mark.shared
def test_shared_counts():
    root = shared_root("rt_polarity_sentences")
    got = {name: benign(name, root) for name in STYLE_OF}
    n = {name: len(recs) for name, recs in got.items()}
    tt = {name: Counter(r.target for r in recs) for name, recs in got.items()}
    # MANIFEST counts, one record per item
    assert n["tweeteval_benign_tasks"] == 33099 and n["xlmt_multilingual_tweets"] == 21231
    assert n["ag_news_test"] == 7600 and n["ntrex128"] == 11000 and n["aeslc_enron_emails"] == 1899
    assert n["nq_open_dev"] == 3610 and n["awesome_chatgpt_prompts"] == 846 and n["goemotions_reddit"] == 5940
    assert n["empatheticdialogues_situations"] == 2547 and n["banking77_queries"] == 3080
    assert n["clinc150_queries"] == 2249 and n["stackoverflow_titles"] == 2000 and n["rt_polarity_sentences"] == 10662
    assert n["perspectrum"] == 907 + 11112
    assert Counter(r.style for r in got["xquad"]) == Counter(encyclopedic=239, qa=1185)
    assert Counter(r.language for r in got["xlmt_multilingual_tweets"]) == Counter(
        {k: 3033 for k in ("ar", "fr", "de", "hi", "it", "pt", "es")})
    assert Counter(r.language for r in got["ntrex128"]) == Counter(
        {k: 1000 for k in ("fr", "de", "es", "it", "pt", "zh", "ja", "ko", "ar", "hi", "ru")})
    assert all(r.language == "en" for name in STYLE_OF if name not in ("xlmt_multilingual_tweets", "ntrex128")
               for r in got[name])
    # MedQuAD: 2,112 pairs; the long ones have no response record, repeated questions one prompt
    mq = Counter((r.subset, r.target) for r in got["medquad_subset"])
    assert 2000 <= mq["cdc", "response"] + mq["ninds", "response"] + mq["seniorhealth", "response"] <= 2112
    assert {s for s, _ in mq} == {"cdc", "ninds", "seniorhealth"} and mq["ninds", "prompt"] > 500
    # dialogues: 51 SGD dialogues (response + opening + first request); 1,000 DailyDialog dialogues
    assert tt["sgd_dialogues"] == Counter(response=51, conversation=341, prompt=51)
    assert tt["dailydialog_test"] == Counter(response=660, conversation=340)
    # system prompts: every prompt once as a prompt, every other one with a benign question
    assert tt["system_prompts_bigpromptlibrary"] == Counter(prompt=107 + 54)
    assert tt["system_prompts_mustvlad"] == Counter(prompt=46 + 23)
    assert sum(roles(r) == ["system", "user"] for r in got["system_prompts_mustvlad"]) == 23
    # HumanEval-X: 968 tasks as code, almost all also as completions under MAX_CHARS
    assert tt["humaneval_x"]["prompt"] == 968 and 950 <= tt["humaneval_x"]["response"] <= 968
    long_ok = {"aeslc_enron_emails", "awesome_chatgpt_prompts", "system_prompts_bigpromptlibrary"}
    for name, recs in got.items():
        if name not in long_ok:
            assert all(sum(len(m["content"]) for m in r.messages) <= MAX_CHARS for r in recs), name
