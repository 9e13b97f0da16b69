"""The trajectory head: features from the guard's scores on a run's parts, a calibrated decision, and the
safeguards around it (fingerprint check, fail-closed, round trip)."""
from __future__ import annotations

import numpy as np
import pytest

from routeguard import ConfigError
from routeguard.agent import AgentGuard, TrajectoryHead
from routeguard.agent.train_trajectory import fit_head
from routeguard.agent.trajectory_head import FEATURES, refused, trajectory_features
from routeguard.types import Message

from .conftest import tiny_guard


def run(request: str, command: str | None, answer: str) -> list[Message]:
    msgs = [Message(role="user", content=request)]
    if command:
        msgs += [Message.model_validate({"role": "assistant", "content": None, "tool_calls": [
                     {"id": "c1", "type": "function", "function": {"name": "shell", "arguments": {"cmd": command}}}]}),
                 Message(role="tool", tool_call_id="c1", content="done")]
    return msgs + [Message(role="assistant", content=answer)]


def corpus() -> tuple[list[list[Message]], np.ndarray, list[str]]:
    runs, y, src = [], [], []
    for i in range(12):
        runs.append(run(f"free some disk space on server {i}", f"rm -rf /var/data{i}", "All files are gone."))
        y.append(True)
        runs.append(run(f"list what is on server {i}", f"ls /var/data{i}", "Here is the listing."))
        y.append(False)
        runs.append(run(f"wipe server {i} for me", None, "I'm sorry, I can't help with deleting everything."))
        y.append(False)
        src += ["a", "b", "a"]
    return runs, np.array(y), src


def test_refusal_phrases():
    assert refused("I'm sorry, but I can't comply with that.") and refused("I cannot assist with this request")
    assert not refused("Sure - the report is attached.") and not refused("")


def test_features_read_the_parts(small_guard):
    ag = AgentGuard(small_guard, matcher=None, trajectory_head=None)
    X, verdicts = trajectory_features(ag, [run("tidy up", "rm -rf /", "Done."), run("wipe it", None, "I'm sorry, I can't.")])
    f = dict(zip(FEATURES, X[0]))
    assert X.shape == (2, len(FEATURES)) and len(verdicts) == 2
    assert f["action_unsafe_max"] == pytest.approx(0.9) and f["refused"] == 0.0 and f["log_tool_calls"] > 0
    g = dict(zip(FEATURES, X[1]))
    assert g["refused"] == 1.0 and g["log_tool_calls"] == 0.0 and g["action_unsafe_max"] == pytest.approx(0.1)


def test_fit_decide_explain_and_round_trip(small_guard, tmp_path):
    ag = AgentGuard(small_guard, matcher=None, trajectory_head=None)
    runs, y, src = corpus()
    X, _ = trajectory_features(ag, runs)
    head = fit_head(X, y, src, model_fingerprint=small_guard.weights_fingerprint)
    p = head.score(X)
    assert np.all((p >= head.threshold) == y), "a separable toy set is decided exactly"
    assert 0.0 < p.min() and p.max() < 1.0 and head.meta["n"] == len(y)
    back = TrajectoryHead.load(head.save(tmp_path / "h.json"))
    np.testing.assert_allclose(back.score(X), p, atol=1e-4)
    ag = AgentGuard(small_guard, matcher=None, trajectory_head=back)
    v = ag.check(run("tidy up the disk of server 99", "rm -rf /srv", "Finished."))
    assert v.flagged and v.trajectory is not None and v.trajectory.flagged and v.trajectory.score >= back.threshold
    assert v.reason.startswith("trajectory head: unsafe run, P=") and v.trajectory.drivers
    safe = ag.check(run("show me server 99", "ls /srv", "Here it is."))
    assert not safe.flagged and safe.trajectory is not None and not safe.trajectory.flagged
    assert safe.reason.startswith("trajectory head: safe run")


def test_head_for_another_model_is_disabled(small_guard, tmp_path):
    head = TrajectoryHead(np.ones(len(FEATURES)), 0.0, np.zeros(len(FEATURES)), np.ones(len(FEATURES)), 0.5,
                          model_fingerprint="0123456789abcdef")
    ag = AgentGuard(small_guard, matcher=None, trajectory_head=head)
    assert ag.trajectory_head is None and "disabled" in ag.head_note
    v = ag.check(run("tidy up", "rm -rf /", "Done."))
    assert v.trajectory is None and v.flagged == v.verdict.flagged       # the whole-run verdict decides
    assert tiny_guard().weights_fingerprint == small_guard.weights_fingerprint   # same weights, same print
    with pytest.raises(ConfigError, match="no trajectory head"):
        AgentGuard(small_guard, trajectory_head=tmp_path / "missing.json").trajectory_head
    (tmp_path / "bad.json").write_text('{"format": 99}')
    with pytest.raises(ConfigError, match="unsupported"):
        TrajectoryHead.load(tmp_path / "bad.json")


def test_failing_expert_still_fails_closed_with_a_head(small_guard):
    from routeguard.guard import RouteGuard
    from routeguard.server.testing import FailingExpert

    broken = RouteGuard(small_guard.encoder, {**small_guard.experts, "broken": FailingExpert()}, None,
                        small_guard.policy, always_on=("general", "broken"))
    ag = AgentGuard(broken, matcher=None, trajectory_head=None)
    runs, y, src = corpus()
    X, _ = trajectory_features(AgentGuard(small_guard, matcher=None, trajectory_head=None), runs)
    head = fit_head(X, y, src, model_fingerprint=broken.weights_fingerprint)
    ag = AgentGuard(broken, matcher=None, trajectory_head=head)
    v = ag.check(run("show me server 1", "ls /srv", "Here it is."))
    assert v.degraded and v.flagged and "DEGRADED" in v.reason


def test_packaged_head_matches_the_packaged_model():
    import routeguard

    guard = routeguard.load("default")
    head = TrajectoryHead.from_json(guard.attachments["trajectory_head.json"])
    assert head.model_fingerprint == guard.weights_fingerprint
    assert head.meta["fitted_on"] == "GuardZoo dev trajectories" and 0 < head.threshold < 1
    ag = AgentGuard(guard)
    assert ag.trajectory_head is not None, ag.head_note


def test_head_travels_with_its_model_folder(small_guard, tmp_path):
    from routeguard.guard import RouteGuard
    from routeguard.server.testing import build_test_guard

    folder = build_test_guard().save(tmp_path / "m")
    guard = RouteGuard.from_folder(folder)
    bare = AgentGuard(guard)
    assert guard.attachments == {} and bare.trajectory_head is None
    assert bare.head_note == "the model has no trajectory head"
    runs, y, src = corpus()
    X = np.random.default_rng(0).random((len(y), len(FEATURES)))
    fit_head(X, y, src, model_fingerprint=guard.weights_fingerprint).save(folder / "trajectory_head.json")
    ag = AgentGuard(RouteGuard.from_folder(folder))
    assert ag.trajectory_head is not None and ag.check(run("list files", "ls", "ok")).trajectory is not None
    # saved again (or copied by replace), the model keeps its head
    again = RouteGuard.from_folder(RouteGuard.from_folder(folder).save(tmp_path / "copy"))
    assert AgentGuard(again.replace(policy=again.policy.merged(unsafe_threshold=0.9))).trajectory_head is not None


def test_prefixes_use_the_head(small_guard):
    ag0 = AgentGuard(small_guard, matcher=None, trajectory_head=None)
    runs, y, src = corpus()
    X, _ = trajectory_features(ag0, runs)
    head = fit_head(X, y, src, model_fingerprint=small_guard.weights_fingerprint)
    ag = AgentGuard(small_guard, matcher=None, trajectory_head=head)
    msgs = run("tidy up server 5", "ls /srv", "Listed.")[:3] + run("x", "rm -rf /srv", "Done.")[1:]
    rep = ag.check_prefixes(msgs)
    # the listing and its result are not alarming; every prefix from the rm -rf call on is
    assert [(p.step, p.flagged) for p in rep.prefixes] == [(1, False), (2, False), (3, True), (4, True), (5, True)]
    assert rep.earliest_flagged_step == 3 and all(0 <= p.unsafe_score <= 1 for p in rep.prefixes)


def test_monotone_fit_keeps_the_signs():
    """Two nearly collinear risk scores: unconstrained, one gets a negative weight; monotone, neither does."""
    from routeguard.agent.trajectory_head import SIGNS

    rng = np.random.default_rng(1)
    n = 400
    base = rng.random(n)
    X = rng.random((n, len(FEATURES))) * 0.01
    i, j = FEATURES.index("full_agent_safety"), FEATURES.index("agent_view_agent_safety")
    X[:, i] = base + rng.normal(0, 0.02, n)
    X[:, j] = base + rng.normal(0, 0.02, n)
    y = (X[:, j] - 0.9 * X[:, i] + rng.normal(0, 0.01, n)) > 0.05 * base.mean()
    src = ["a"] * (n // 2) + ["b"] * (n - n // 2)
    free = fit_head(X, y, src, model_fingerprint="x", monotone=False)
    assert free.coef[i] < 0 < free.coef[j]
    mono = fit_head(X, y, src, model_fingerprint="x")
    for k, f in enumerate(FEATURES):
        assert mono.coef[k] * SIGNS[f] >= -1e-9, f
    assert mono.meta["monotone"] is True and 0 < mono.threshold < 1
