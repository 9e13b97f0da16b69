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
