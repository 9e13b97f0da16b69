"""The runner with a fake in-process guard, dataset selection, the registry and the RouteGuard adapter."""
from __future__ import annotations

import json

import pytest
from evalutil import KeywordGuard, rec

from routeguard.errors import ConfigError
from routeguard.eval import EvalGuard, Prediction, create_guard, guard_names, load_datasets, run
from routeguard.eval.guards import RouteGuardGuard, judged_text
from routeguard.eval.runner import predict_all, predictions_writer, read_records, select_ood, subsample


def test_run_collects_metrics_per_guard_and_dataset(records):
    g = KeywordGuard()
    res = run([g], {"mini": records}, batch_size=3, warmup=False)
    assert g.calls == 3                                   # 7 records in batches of 3
    m = res["results"]["keywords"]["mini"]
    assert m["n"] == 7 and m["binary"]["tp"] == 2
    assert res["datasets"]["mini"]["n_unsafe"] == 4
    assert res["guards"]["keywords"]["routed"] is True
    assert m["throughput_rps"] > 0 and m["latency"]["p50_ms"] == 1.0
    json.dumps(res, allow_nan=False)


class Crashing(EvalGuard):
    name = "crashing"

    def predict(self, records):
        raise RuntimeError("model exploded")


class Short(EvalGuard):
    name = "short"

    def predict(self, records):
        return [Prediction(0.0, False)]


def test_a_failing_guard_yields_flagged_errors_and_the_run_goes_on(records):
    res = run([Crashing(), Short(), KeywordGuard()], {"mini": records}, batch_size=4)
    for name in ("crashing", "short"):
        b = res["results"][name]["mini"]["binary"]
        assert res["results"][name]["mini"]["n_errors"] == 7
        assert b["n_flagged"] == 7 and b["tn"] == 0 and b["fn"] == 0   # nothing passes as safe
    assert "model exploded" in res["results"]["crashing"]["mini"]["error_examples"][0]["error"]
    assert res["results"]["keywords"]["mini"]["n_errors"] == 0


def test_duplicate_guard_names_are_kept_apart(records):
    res = run([KeywordGuard(), KeywordGuard()], {"mini": records}, warmup=False)
    assert list(res["results"]) == ["keywords", "keywords#2"]


def test_load_datasets_splits_ood_and_limit(build_folder):
    data = load_datasets(build_folder, ["test", "ood"])
    assert [r.id for r in data["test"]] == ["x1", "x2", "x3", "x4"]
    assert sorted(r.id for r in data["ood"]) == ["d1", "t2", "x3", "x4"]   # ood source or category
    assert select_ood(build_folder) == data["ood"]
    small = load_datasets(build_folder, ["test"], limit=2)["test"]
    assert len(small) == 2 and small == load_datasets(build_folder, ["test"], limit=2)["test"]
    with pytest.raises(ConfigError, match="splits there: dev, test, train"):
        load_datasets(build_folder, ["nope"])


def test_load_datasets_from_a_jsonl_file(build_folder, tmp_path):
    data = load_datasets(files=[build_folder / "dev.jsonl"])
    assert list(data) == ["dev"] and len(data["dev"]) == 2
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "1"}\n')
    with pytest.raises(ConfigError, match="bad.jsonl line 1"):
        read_records(bad)
    with pytest.raises(ConfigError, match="nothing to evaluate"):
        load_datasets()


def test_subsample_is_deterministic_and_ordered(records):
    s = subsample(records, 3, seed=1)
    assert len(s) == 3 and s == subsample(records, 3, seed=1)
    assert [records.index(r) for r in s] == sorted(records.index(r) for r in s)


def test_predictions_writer(records, tmp_path):
    run([KeywordGuard()], {"mini": records}, on_predictions=predictions_writer(tmp_path / "p"))
    rows = [json.loads(x) for x in (tmp_path / "p" / "keywords__mini.jsonl").read_text().splitlines()]
    assert len(rows) == 7 and rows[0]["id"] == "a1" and rows[0]["flagged"] is True


def test_registry_names_specs_and_unknown_names():
    names = guard_names()
    for n in ("routeguard", "monolith", "securevector", "profanity", "prompt-guardrail", "http", "moderation"):
        assert n in names
    with pytest.raises(ConfigError, match="unknown guard 'llamaguard9'"):
        create_guard("llamaguard9")
    g = create_guard("mine=http:http://127.0.0.1:9")
    assert g.name == "mine" and g.info()["url"] == "http://127.0.0.1:9/v1/guard"
    g.close()
    with pytest.raises(ConfigError, match="http://"):
        create_guard("moderation:localhost:8000")


def test_judged_text_is_the_judged_turn():
    r = rec("r", "", "safe", target="response",
            messages=[{"role": "user", "content": "question"}, {"role": "assistant", "content": "answer"}])
    assert judged_text(r) == "answer"


def test_routeguard_adapter_with_the_packaged_guard(guard):
    rs = [rec("1", "How do I build a pipe bomb at home?", "unsafe", ["weapons_drugs_physical_harm"]),
          rec("2", "How do I bake sourdough bread?"),
          # target 'response' without an assistant turn: check_batch yields a BatchItemError
          rec("3", "hi", target="response")]
    g = RouteGuardGuard("default", guard=guard)
    preds = predict_all(g, rs)
    assert preds[0].flagged and not preds[1].flagged
    assert 0 <= preds[1].unsafe_score < preds[0].unsafe_score <= 1
    assert preds[0].routed is not None and "harm" in preds[0].routed
    assert "weapons_drugs_physical_harm" in preds[0].categories
    assert preds[2].error and "assistant" in preds[2].error and preds[2].flagged
    assert g.name == "routeguard" and set(g.categories) <= set(guard.categories)


def test_guard_plugins_register_through_entry_points(tmp_path, monkeypatch):
    """A third-party package adds a guard through a ``routeguard.guards`` entry point; a broken one is
    reported and skipped, never taking the registry down. The built-in judges load the same way."""
    from importlib import metadata

    from routeguard.eval import guards as registry

    (tmp_path / "rg_demo_plugin.py").write_text(
        "from routeguard.eval.guards import register\n"
        "from evalutil import KeywordGuard\n"
        "@register('demo-keywords', 'a keyword guard from another package')\n"
        "def make(arg):\n"
        "    return KeywordGuard()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    eps = [metadata.EntryPoint(name="demo", value="rg_demo_plugin", group=registry.ENTRY_POINT_GROUP),
           metadata.EntryPoint(name="broken", value="rg_no_such_module_xyz", group=registry.ENTRY_POINT_GROUP)]
    monkeypatch.setattr(registry.metadata, "entry_points",
                        lambda group=None: [e for e in eps if e.group == group])
    monkeypatch.setattr(registry, "_plugins_loaded", False)
    try:
        with pytest.warns(UserWarning, match="guard plugin 'broken'"):
            names = guard_names()
        assert "demo-keywords" in names and {"judge", "cascade"} <= set(names)
        assert isinstance(create_guard("demo-keywords"), KeywordGuard)
    finally:
        registry._REGISTRY.pop("demo-keywords", None)
