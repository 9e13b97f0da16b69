"""Strict parsers of every judge format, their taxonomy mappings and log-prob scoring (no server)."""
import math

import pytest

from routeguard.errors import ConfigError
from routeguard.judges import FORMATS, JudgeParseError, TokenLogprob, get_format, label_probability
from routeguard.judges.formats import judged_parts, load_template
from routeguard.types import to_conversation

PROMPT = to_conversation("How do I make meth?")
RESPONSE = to_conversation([{"role": "user", "content": "How do I make meth?"},
                            {"role": "assistant", "content": "Sorry, I can't help with that."}])


def parse(fmt, text, conv=PROMPT, key=None, **opts):
    f = get_format(fmt, **opts)
    return f, f.parse(text, key, judged_parts(conv))


def test_every_format_has_a_versioned_packaged_template_and_renders():
    for name, cls in FORMATS.items():
        f = cls()
        assert load_template(f.template, f.template_version).template
        assert f.template_id.endswith(".v1")
        for conv in (PROMPT, RESPONSE):
            reqs = f.requests(conv)
            assert reqs and all(r.messages[-1]["role"] == "user" for r in reqs)
            assert "meth" in reqs[0].messages[-1]["content"], name


def test_llama_guard_prompt_follows_the_contract():
    text = get_format("llama-guard-3").requests(RESPONSE)[0].messages[0]["content"]
    assert "unsafe content in 'Agent' messages" in text
    assert "S14: Code Interpreter Abuse." in text and "User: How do I make meth?" in text
    assert "Agent: Sorry" in text and "ONLY THE LAST Agent message" in text
    assert "'User' messages" in get_format("lg3").requests(PROMPT)[0].messages[0]["content"]


@pytest.mark.parametrize("fmt", ["llama-guard-3", "llama-guard-4"])
def test_llama_guard_parser(fmt):
    f, p = parse(fmt, "safe")
    assert not p.unsafe and f.categories_for(p, None) == []
    f, p = parse(fmt, "\n\nunsafe\nS1,S14")
    assert p.unsafe and p.native_categories == ["S1", "S14"]
    assert f.categories_for(p, None) == ["cyberattack", "weapons_drugs_physical_harm"]
    _, p = parse(fmt, "unsafe")           # unsafe with no category line: binary unsafe
    assert p.unsafe and p.native_categories == []
    for bad in ["", "Safe? I think so", "unsafe\nS99", "unsafe\nViolent Crimes", "safe\nS1", "unsafe\nS1\nextra",
                "The content is safe"]:
        with pytest.raises(JudgeParseError):
            parse(fmt, bad)


def test_wildguard_parser():
    _, p = parse("wildguard", "Harmful request: yes\nResponse refusal: None\nHarmful response: None")
    assert p.unsafe and p.label == "yes"
    _, p = parse("wildguard", "Harmful request: yes\nResponse refusal: yes\nHarmful response: no", RESPONSE)
    assert not p.unsafe and p.refusal is True          # the response is judged, not the request
    for bad in ["Harmful request: maybe\nResponse refusal: no\nHarmful response: no",
                "Harmful request: yes\nHarmful response: no",
                "Harmful request: yes\nResponse refusal: n/a\nHarmful response: n/a"]:
        with pytest.raises(JudgeParseError):
            parse("wildguard", bad, RESPONSE)


def test_qwen3guard_parser_and_categories():
    f, p = parse("qwen3guard-gen", "Safety: Unsafe\nCategories: Violent, PII")
    assert p.unsafe and f.categories_for(p, None) == ["sensitive_information", "weapons_drugs_physical_harm"]
    _, p = parse("qwen3guard-gen", "Safety: Safe\nCategories: None")
    assert not p.unsafe
    _, p = parse("qwen3guard-gen", "Safety: Controversial\nCategories: Politically Sensitive Topics")
    assert p.unsafe                                     # strict by default
    _, p = parse("qwen3guard-gen", "Safety: Controversial\nCategories: None", controversial="safe")
    assert not p.unsafe
    _, p = parse("qwen3guard-gen", "Safety: Safe\nCategories: None\nRefusal: Yes", RESPONSE)
    assert p.refusal is True
    f, p = parse("qwen3guard-gen", "Safety: Unsafe\nCategories: Jailbreak")
    assert p.unsafe and f.categories_for(p, None) == []     # maps to the expansion category only
    for bad in ["Safety: Unsure\nCategories: None", "Unsafe\nCategories: Violent", "Safety: Unsafe\nCategories: Aliens",
                "Safety: Unsafe"]:
        with pytest.raises(JudgeParseError):
            parse("qwen3guard-gen", bad)


def test_shieldgemma_per_policy_requests_and_parser():
    f = get_format("shieldgemma")
    reqs = f.requests(PROMPT)
    assert [r.key for r in reqs] == ["dangerous", "harassment", "hate", "sexual"]
    assert "Human Question: How do I make meth?" in reqs[0].messages[0]["content"]
    assert "Chatbot Response: Sorry" in f.requests(RESPONSE)[0].messages[0]["content"]
    p = f.parse("Yes, because it asks for drug synthesis.", "dangerous", judged_parts(PROMPT))
    assert p.unsafe and p.rationale.startswith("because") and "weapons_drugs_physical_harm" in f.categories_for(p, "dangerous")
    assert not f.parse("No", "hate", judged_parts(PROMPT)).unsafe
    with pytest.raises(JudgeParseError):
        f.parse("Maybe", "hate", judged_parts(PROMPT))
    assert list(get_format("shieldgemma", policies=["hate"]).policies) == ["hate"]
    with pytest.raises(ConfigError, match="unknown policies"):
        get_format("shieldgemma", policies=["nope"])


def test_granite_guardian_parser():
    _, p = parse("granite-guardian", "<think>It asks how to make a drug.</think>\n<score> yes </score>")
    assert p.unsafe and p.rationale == "It asks how to make a drug."
    _, p = parse("granite-guardian", "<score>no</score>")
    assert not p.unsafe and p.rationale is None
    for bad in ["yes", "<score>maybe</score>", "<think>x</think><score>no</score><score>yes</score>",
                "I think <score>no</score>"]:
        with pytest.raises(JudgeParseError):
            parse("granite-guardian", bad)
    f = get_format("granite-guardian", policies=["harm", "violence"])
    assert [r.key for r in f.requests(PROMPT)] == ["harm", "violence"]
    assert f.mappable == ("weapons_drugs_physical_harm",)


GR = ("# Task 1\n\n## Reasoning Step 1: The user asks for drug synthesis.\n## Conclusion: harmful.\n---\n\n"
      "Answers: \nRequest: {req}\nCompletion: {comp}\nResponse: {resp}\n")


def test_guardreasoner_parser():
    _, p = parse("guardreasoner", GR.format(req="harmful", comp="None", resp="None"))
    assert p.unsafe and "drug synthesis" in p.rationale and "Request:" not in p.rationale
    _, p = parse("guardreasoner", GR.format(req="harmful", comp="refusal", resp="unharmful"), RESPONSE)
    assert not p.unsafe and p.refusal is True
    for bad in [GR.format(req="bad", comp="None", resp="None"), "Request: harmful",
                GR.format(req="harmful", comp="None", resp="None")]:
        with pytest.raises(JudgeParseError):
            parse("guardreasoner", bad, RESPONSE)


def test_policyguard_parser():
    _, p = parse("policyguard", "violation")
    assert p.unsafe
    _, p = parse("policyguard", "No violation.")
    assert not p.unsafe
    for bad in ["", "violation\nbecause", "maybe"]:
        with pytest.raises(JudgeParseError):
            parse("policyguard", bad)
    text = get_format("policyguard").requests(PROMPT)[0].messages[0]["content"]
    assert "cyberattack" in text and "<TRAJECTORY>" in text


def test_critique_parser():
    ok = '{"unsafe": true, "categories": ["weapons_drugs_physical_harm"], "evidence": "make meth", "rationale": "drug synthesis"}'
    f, p = parse("routeguard-critique", ok)
    assert p.unsafe and p.evidence == "make meth" and p.rationale == "drug synthesis"
    assert f.categories_for(p, None) == ["weapons_drugs_physical_harm"]
    _, p = parse("routeguard-critique", "```json\n" + ok + "\n```")
    assert p.unsafe
    for bad in ["not json", "[]", '{"unsafe": "yes", "categories": [], "evidence": "", "rationale": ""}',
                '{"unsafe": true, "categories": ["drugs"], "evidence": "", "rationale": ""}',
                '{"unsafe": false, "categories": ["cyberattack"], "evidence": "", "rationale": ""}',
                '{"unsafe": true, "categories": []}',
                '{"unsafe": true, "categories": [], "evidence": "", "rationale": "", "extra": 1}']:
        with pytest.raises(JudgeParseError):
            parse("routeguard-critique", bad)


def test_unknown_format_and_options_are_config_errors():
    with pytest.raises(ConfigError, match="unknown judge format"):
        get_format("llama-gaurd")
    with pytest.raises(ConfigError):
        get_format("wildguard", prompt_mode="native")
    with pytest.raises(ConfigError):
        get_format("llama-guard-3", bogus=1)


def _toks(*items):
    return [TokenLogprob(t, math.log(p), {a: math.log(q) for a, q in alts.items()}) for t, p, alts in items]


def test_label_probability_reads_the_label_token():
    text = "\n\nunsafe\nS1"
    toks = _toks(("\n\n", 1.0, {}), ("unsafe", 0.7, {"unsafe": 0.7, "safe": 0.2, "I": 0.1}), ("\n", 1, {}), ("S1", 1, {}))
    p = label_probability(toks, text, text.find("unsafe"), ("unsafe",), ("safe",))
    assert p == pytest.approx(0.7 / 0.9)
    # split label tokens: "uns" + "afe"
    toks = _toks(("uns", 0.6, {"uns": 0.6, "safe": 0.4}), ("afe", 1.0, {}))
    assert label_probability(toks, "unsafe", 0, ("unsafe",), ("safe",)) == pytest.approx(0.6)
    # label not covered / no logprobs -> None (caller falls back to the parsed label)
    assert label_probability(None, "safe", 0, ("unsafe",), ("safe",)) is None
    assert label_probability(_toks(("x", 1, {})), "safe", 0, ("unsafe",), ("safe",)) is None
    # ShieldGemma: softmax over Yes/No
    toks = _toks(("Yes", 0.8, {"Yes": 0.8, "No": 0.15}), (",", 1, {}))
    assert label_probability(toks, "Yes,", 0, ("yes",), ("no",)) == pytest.approx(0.8 / 0.95)


def test_native_mode_sends_the_conversation_for_the_server_template():
    msgs = get_format("llama-guard-3", prompt_mode="native").requests(RESPONSE)[0].messages
    assert [m["role"] for m in msgs] == ["user", "assistant"] and msgs[1]["content"].startswith("Sorry")
    traj = to_conversation([{"role": "user", "content": "run it"},
                            {"role": "assistant", "content": "", "tool_calls": [
                                {"id": "1", "function": {"name": "sh", "arguments": {"cmd": "rm -rf /"}}}]},
                            {"role": "tool", "content": "done", "tool_call_id": "1"}])
    msgs = get_format("qwen3guard-gen", prompt_mode="native").requests(traj)[0].messages
    assert msgs[-1] == {"role": "user", "content": "[tool result] done"} and "rm -rf" in msgs[1]["content"]
    text = get_format("policyguard").requests(traj)[0].messages[0]["content"]
    assert "Tool: [tool result] done" in text and "[call sh(" in text
