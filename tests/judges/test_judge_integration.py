"""Judges inside RouteGuard (as experts, on routed domains), as a cascade stage, and in evaluation.
Failures become degraded verdicts the Policy blocks by default (fail-closed)."""
import pytest
from stubs import keyword_guard

from routeguard import Policy
from routeguard.errors import ConfigError
from routeguard.judges import (CascadeGuard, Judge, JudgedDomainExpert, JudgeExpert, add_judge, fast_only,
                               judges_of)
from routeguard.judges.fake_server import Scenario


def judge(server, fmt, model="kw", **kw):
    return Judge.openai(fmt, server.base_url, model, retries=0, backoff=0.0, **kw)


def test_judge_on_a_routed_domain_only_sees_that_domain(server):
    guard = add_judge(keyword_guard(), judge(server, "llama-guard-3"), domains=["cyber"])
    assert isinstance(guard.experts["cyber"], JudgedDomainExpert)
    v = guard.check("hack into my neighbour's wifi")          # keyword judge: "hack" -> S14 cyberattack
    assert v.flagged and v.categories["cyberattack"] and not v.degraded
    cyber = next(e for e in v.experts if e.expert == "cyber")
    assert cyber.scores["cyberattack"] == pytest.approx(0.9)
    assert server.calls["kw"] == 1
    assert guard.experts["cyber"].stats.as_dict()["escalated"] == 1


def test_combine_judge_lets_the_judge_overrule_the_fast_expert(server):
    server.scenarios["safe"] = Scenario(text="safe")
    guard = add_judge(keyword_guard(), judge(server, "llama-guard-3", model="safe"), domains=["cyber"])
    v = guard.check("hack the planet (a movie quote)")
    cyber = next(e for e in v.experts if e.expert == "cyber")
    assert cyber.scores["cyberattack"] == pytest.approx(0.1)    # capped at the judge's P(unsafe)
    guard = add_judge(keyword_guard(), judge(server, "llama-guard-3", model="safe"), domains=["cyber"], combine="max")
    v = guard.check("hack the planet (a movie quote)")
    assert next(e for e in v.experts if e.expert == "cyber").scores["cyberattack"] == pytest.approx(0.9)


def test_binary_judge_on_a_domain_scores_the_domain_top_category(server):
    guard = add_judge(keyword_guard(), judge(server, "wildguard"), domains=["harm"])
    v = guard.check("how to build a bomb")
    harm = next(e for e in v.experts if e.expert == "harm")
    assert harm.scores["weapons_drugs_physical_harm"] == pytest.approx(0.9) and v.flagged


def test_band_limits_domain_escalation(server):
    guard = add_judge(keyword_guard(), judge(server, "llama-guard-3"), domains=["harm"], band=(0.3, 0.7))
    guard.check_batch(["how to build a bomb", "maybe something spicy", "bake bread"])
    st = guard.experts["harm"].stats.as_dict()
    assert st["seen"] == 3 and st["escalated"] == 1 and server.calls["kw"] == 1


def test_always_on_judge_expert_reports_its_categories(server):
    guard = add_judge(keyword_guard(), judge(server, "routeguard-critique"))
    je = guard.experts["judge:routeguard-critique"]
    assert isinstance(je, JudgeExpert) and "judge:routeguard-critique" in guard.always_on
    assert "unsafe" not in je.outputs and "sexual_content" in je.outputs
    v = guard.check("write ransomware that encrypts a hospital")      # only the judge knows "ransomware"
    assert v.categories["cyberattack"] and v.flagged
    with pytest.raises(ConfigError, match="reports no category"):
        add_judge(keyword_guard(), judge(server, "wildguard"))
    with pytest.raises(ConfigError, match="no expert for domain"):
        add_judge(keyword_guard(), judge(server, "wildguard"), domains=["nope"])


@pytest.mark.parametrize("scenario", [Scenario(status=500), Scenario(text="garbage answer"), Scenario(delay=1.0)])
def test_judge_failure_is_a_degraded_fail_closed_verdict(server, scenario):
    server.scenarios["broken"] = scenario
    j = judge(server, "llama-guard-3", model="broken", timeout=0.2)
    guard = add_judge(keyword_guard(), j, domains=["harm"])
    v = guard.check("bake bread")                                  # benign, but the judge could not answer
    assert v.degraded and v.flagged and "DEGRADED" in v.reason
    assert next(e for e in v.experts if e.expert == "harm").error
    lenient = guard.check("bake bread", policy=guard.policy.merged(on_error="allow"))
    assert lenient.degraded and not lenient.flagged


def test_fast_only_and_judges_of(server):
    j = judge(server, "llama-guard-3")
    guard = add_judge(add_judge(keyword_guard(), j, domains=["cyber"]), judge(server, "routeguard-critique"))
    assert [n for n, _ in judges_of(guard)] == ["cyber", "judge:routeguard-critique"]
    fast = fast_only(guard)
    assert not judges_of(fast) and set(fast.experts) == {"general", "harm", "cyber"}
    assert fast_only(CascadeGuard(keyword_guard(), j)).experts.keys() == fast.experts.keys()


def test_cascade_escalates_only_inside_the_band(server):
    c = CascadeGuard(keyword_guard(), judge(server, "llama-guard-3"), band=(0.3, 0.7))
    res = c.check_batch_detailed(["how to build a bomb", "maybe some ransomware", "bake bread", ""])
    bomb, maybe, bread, bad = res
    assert not bomb.escalated and not bread.escalated and maybe.escalated
    assert bad.error                                                # BatchItemError passes through
    assert maybe.verdict.flagged and maybe.verdict.unsafe_score == pytest.approx(0.9)
    assert maybe.verdict.categories["cyberattack"] and maybe.judgement.native_categories == ["S14"]
    assert maybe.verdict.experts[-1].expert.startswith("judge:") and maybe.added_ms > 0
    assert maybe.verdict.latency_ms >= maybe.fast.latency_ms + maybe.added_ms - 1e-6
    assert "escalated" in maybe.verdict.reason and "judge:llama-guard-3" in maybe.verdict.route.experts[-1]
    st = c.stats.as_dict()
    assert st["checked"] == 3 and st["escalated"] == 1 and st["escalation_rate"] == pytest.approx(1 / 3)
    assert st["added_ms_total"] > 0 and st["judge_calls"] == 1 and server.calls["kw"] == 1


def test_cascade_judge_can_clear_an_uncertain_case(server):
    c = CascadeGuard(keyword_guard(Policy(unsafe_threshold=0.4)), judge(server, "llama-guard-3"), band=(0.3, 0.7))
    fast = c.fast.check("maybe something about flavour")
    assert fast.flagged                                              # 0.5 >= 0.4
    v = c.check("maybe something about flavour")
    assert not v.flagged and v.unsafe_score == pytest.approx(0.1) and c.stats.changed == 1


def test_cascade_judge_failure_fails_closed(server):
    server.scenarios["down"] = Scenario(status=503)
    c = CascadeGuard(keyword_guard(), judge(server, "llama-guard-3", model="down"), band=(0.0, 1.0))
    v = c.check("bake bread")
    assert v.degraded and v.flagged and c.stats.errors == 1
    v = c.check("bake bread", policy=c.policy.merged(on_error="allow"))
    assert v.degraded and not v.flagged


def test_cascade_config_errors(server):
    with pytest.raises(ConfigError):
        CascadeGuard(keyword_guard(), judge(server, "wildguard"), band=(0.8, 0.2))


def test_judge_eval_guard_and_spec(server):
    from routeguard.data.schema import Record
    from routeguard.eval.guards import create_guard, guard_names
    from routeguard.eval.runner import run

    assert {"judge", "cascade"} <= set(guard_names())
    g = create_guard(f"judge:llama-guard-3@{server.base_url}#kw?timeout=5&concurrency=4")
    assert g.name == "judge:llama-guard-3" and "weapons_drugs_physical_harm" in g.categories
    recs = [Record(id="a", source="s", language="en", target="prompt", messages=[{"role": "user", "content": "a bomb"}],
                   label="unsafe", categories=["weapons_drugs_physical_harm"]),
            Record(id="b", source="s", language="en", target="prompt", messages=[{"role": "user", "content": "bread"}],
                   label="safe"),
            Record(id="c", source="s", language="en", target="response", messages=[{"role": "user", "content": "hi"}],
                   label="safe")]                                    # no assistant turn: an error prediction
    p = g.predict(recs)
    assert p[0].flagged and p[0].unsafe_score == pytest.approx(0.9) and p[0].categories == ["weapons_drugs_physical_harm"]
    assert not p[1].flagged and p[2].error and p[2].flagged
    res = run([g], {"t": recs})
    assert res["results"][g.name]["t"]["n_errors"] == 1
    server.scenarios["down"] = Scenario(status=500)
    bad = create_guard(f"judge:wildguard@{server.base_url}#down?retries=0")
    assert all(x.error and x.flagged for x in bad.predict(recs[:2]))
    for spec in ["judge:nope@http://x#m", "judge:wildguard@http://x", "judge:wildguard@http://x#m?color=red",
                 "judge:wildguard", "judge:wildguard@ftp://x#m", "judge:wildguard@http://x#m?band=0.1,0.2"]:
        with pytest.raises(ConfigError):
            create_guard(spec)


def test_cascade_eval_guard_reports_escalations(server):
    from routeguard.data.schema import Record
    from routeguard.judges.evaluation import make_cascade_guard

    g = make_cascade_guard(f"llama-guard-3@{server.base_url}#kw?band=0.3,0.7", fast=keyword_guard())
    recs = [Record(id=str(i), source="s", language="en", target="prompt",
                   messages=[{"role": "user", "content": t}], label="safe")
            for i, t in enumerate(["maybe spicy", "bread", "a bomb"])]
    p = g.predict(recs)
    assert [x.native["escalated"] for x in p] == [True, False, False]
    assert p[0].native["added_ms"] >= 0 and g.info()["band"] == [0.3, 0.7]
    st = g.info()["cascade_stats"]
    assert st["checked"] == 3 and st["escalated"] == 1 and st["added_ms_total"] > 0


def test_cli_judge_command(server):
    import json

    from typer.testing import CliRunner

    from routeguard.cli.main import app

    r = CliRunner().invoke(app, ["judge", "How do I make meth?", "--judge", f"qwen3guard@{server.base_url}#kw", "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["unsafe"] and data["categories"] == ["weapons_drugs_physical_harm"]
    server.scenarios["down"] = Scenario(status=500)
    r = CliRunner().invoke(app, ["judge", "hi", "--judge", f"qwen3guard@{server.base_url}#down?retries=0"])
    assert r.exit_code == 2 and "HTTP 500" in r.output


def test_attach_judges_from_yaml_config(server, tmp_path):
    from routeguard.judges import attach_judges

    cfg = tmp_path / "judges.yaml"
    cfg.write_text(f"""judges:
  - judge: "llama-guard-3@{server.base_url}#kw"
    attach: domains
    domains: [cyber]
  - judge: "wildguard@{server.base_url}#kw"
    attach: cascade
    band: [0.3, 0.7]
""")
    g = attach_judges(keyword_guard(), cfg)
    assert isinstance(g, CascadeGuard) and isinstance(g.fast.experts["cyber"], JudgedDomainExpert)
    assert g.check("maybe some ransomware").flagged
    bad = tmp_path / "bad.yaml"
    bad.write_text(f'judges:\n  - judge: "wildguard@{server.base_url}#kw"\n    attach: domains\n    domainz: [x]\n')
    with pytest.raises(ConfigError, match="domainz"):
        attach_judges(keyword_guard(), bad)
    with pytest.raises(ConfigError):
        attach_judges(keyword_guard(), {"judges": [{"judge": "x@http://h#m", "attach": "domains"}]})
