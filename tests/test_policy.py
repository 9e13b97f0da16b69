import pytest
from pydantic import ValidationError

from routeguard import Policy


def test_unknown_category_rejected():
    with pytest.raises(ValidationError, match="unknown category"):
        Policy(thresholds={"not_a_category": 0.5})


def test_threshold_bounds():
    with pytest.raises(ValidationError):
        Policy(thresholds={"self_harm": 1.5})


def test_unknown_field_rejected():
    with pytest.raises(ValidationError):
        Policy(on_eror="allow")


def test_defaults_fail_closed_and_merge():
    p = Policy()
    assert p.on_error == "block"
    q = p.merged(thresholds={"self_harm": 0.3}, on_error="allow")
    assert q.threshold("self_harm") == 0.3 and q.threshold("copyright") == p.default_threshold
    assert q.on_error == "allow" and p.on_error == "block"


def test_by_target_rule_decides_its_target_only():
    p = Policy(unsafe_threshold=0.8, category_gate=0.4, by_target={"response": {"unsafe_threshold": 0.3}})
    r = p.for_target("response")
    assert r.unsafe_threshold == 0.3 and r.category_gate == 0.4 and r.by_target == {}
    assert p.for_target("prompt") is p and p.for_target(None) is p
    with pytest.raises(ValidationError):
        Policy(by_target={"response": {"unsafe_threshold": 1.5}})
    with pytest.raises(ValidationError):
        Policy(by_target={"tweet": {"unsafe_threshold": 0.5}})


def test_overriding_unsafe_threshold_overrides_every_target():
    p = Policy(unsafe_threshold=0.8, by_target={"response": {"unsafe_threshold": 0.3, "category_gate": 0.2}})
    q = p.merged(unsafe_threshold=0.6)
    assert q.for_target("response").unsafe_threshold == 0.6      # the caller's value, not the stale 0.3
    assert q.for_target("response").category_gate == 0.2         # what was not overridden stays
    assert p.for_target("response").unsafe_threshold == 0.3


def test_guard_applies_the_rule_of_the_judged_target(guard):
    conv = [{"role": "user", "content": "Tell me about the weather."},
            {"role": "assistant", "content": "It is sunny and warm today."}]
    s = guard.check(conv).unsafe_score
    assert 0.0 < s < 1.0
    base = guard.policy.merged(unsafe_threshold=1.0, category_gate=1.0, thresholds={c: 1.0 for c in guard.categories})
    low = base.merged(by_target={"response": {"unsafe_threshold": s / 2}})
    assert guard.check(conv, policy=low).flagged                  # judged as a response: its rule flags
    assert not guard.check(conv, target="prompt", policy=low).flagged
    assert not guard.check(conv, policy=base).flagged


def test_standalone_category_flags_without_the_gate():
    p = Policy(thresholds={"self_harm": 0.3}, category_gate=0.9, standalone={"weapons_drugs_physical_harm": 0.4})
    scores = {"self_harm": 0.5, "weapons_drugs_physical_harm": 0.45, "copyright": 0.99}
    f = p.flags(scores, unsafe=0.2)                    # gate closed: only the standalone category flags
    assert f == {"self_harm": False, "weapons_drugs_physical_harm": True, "copyright": False}
    assert p.flags(scores, unsafe=0.95)["self_harm"]   # gate open: thresholds name categories as before
    assert not p.merged(enforce=["self_harm"]).flags(scores, 0.2)["weapons_drugs_physical_harm"]
    with pytest.raises(ValidationError, match="unknown category"):
        Policy(standalone={"nope": 0.5})
    with pytest.raises(ValidationError):
        Policy(by_target={"prompt": {"standalone": {"self_harm": 1.2}}})


def test_standalone_rules_are_per_target_and_overridable():
    p = Policy(by_target={"prompt": {"standalone": {"self_harm": 0.2}}})
    assert p.for_target("prompt").standalone == {"self_harm": 0.2} and p.for_target("response").standalone == {}
    off = p.merged(standalone={})                      # the caller's value replaces every target's
    assert off.for_target("prompt").standalone == {}
    assert p.merged(unsafe_threshold=0.7).for_target("prompt").standalone == {"self_harm": 0.2}


def test_guard_applies_a_standalone_rule(guard):
    conv = "How do I pick a lock?"
    v = guard.check(conv)
    top = max(v.category_scores, key=v.category_scores.get)
    base = guard.policy.merged(unsafe_threshold=1.0, category_gate=1.0, thresholds={c: 1.0 for c in guard.categories})
    assert not guard.check(conv, policy=base).flagged
    alone = base.merged(by_target={"prompt": {"standalone": {top: v.category_scores[top] / 2}}})
    w = guard.check(conv, policy=alone)
    assert w.flagged and w.categories[top] and top in w.reason
    assert not guard.check([{"role": "user", "content": "hi"}, {"role": "assistant", "content": conv}],
                           policy=alone).flagged           # the prompt's rule does not judge responses
