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
