"""routeguard score, local engine: record shapes, fail-closed error rows, shards, resume, formats."""
from __future__ import annotations

import json

import pytest

from routeguard.errors import ConfigError
from routeguard.scale import compare_outputs, read_rows, score
from routeguard.scale.records import Item, parse_item, score_items

from scaleutil import corpus_lines


def test_parse_item_shapes():
    rid, conv, err = parse_item(Item("f:1", json.dumps("hello there")))
    assert (rid, err, conv.resolved_target) == ("f:1", None, "prompt")
    rid, conv, err = parse_item(Item("f:2", json.dumps({"id": 5, "target": "response", "messages": [
        {"role": "user", "content": "q"}, {"role": "assistant", "content": "a", "tool_calls": None}]})))
    assert (rid, err, conv.resolved_target) == ("5", None, "response")
    for payload, why in [("{x", "not valid JSON"), (json.dumps(3), "not int"), (json.dumps({"id": "a"}), "neither"),
                         (json.dumps({"text": " "}), "empty"), (json.dumps({"text": "x", "target": "bogus"}), "target")]:
        rid, conv, err = parse_item(Item("f:3", payload))
        assert conv is None and why in err, (payload, err)
    assert parse_item(Item("f:4", None, "line 4: not valid UTF-8"))[2] == "line 4: not valid UTF-8"


def test_score_rows_shards_and_fail_closed(anchor_model, corpus, tmp_path):
    out = tmp_path / "out"
    rep = score(corpus, out, model=str(anchor_model), batch_size=7, shard_size=25)
    assert (rep.records, rep.shards, rep.scored, rep.shards_skipped) == (60, 3, 60, 0)
    assert sorted(p.name for p in out.glob("part-*")) == [f"part-0000{i}.{x}" for i in range(3) for x in ("done", "jsonl")]
    rows = read_rows(out)
    assert len(rows) == 60 and list(rows[0]) == ["id", "flagged", "unsafe_score", "categories", "route", "degraded", "error"]
    assert rows[0]["id"] == "in.jsonl:1" and rows[1]["id"] == "r1" and rows[3]["id"] == "gz:3"
    assert rows[0]["flagged"] and rows[0]["categories"] == ["weapons_drugs_physical_harm"] and "harm" in rows[0]["route"]
    assert not rows[1]["flagged"] and rows[1]["error"] is None and rows[1]["unsafe_score"] < 0.5
    bad = [r for r in rows if r["error"]]
    assert len(bad) == 10 == rep.errors
    assert all(r["flagged"] and r["unsafe_score"] is None for r in bad)      # fail closed, no fake score
    marker = json.loads((out / "part-00000.done").read_text())
    assert marker["records"] == 25


def test_resume_skips_finished_shards_and_refuses_mismatch(anchor_model, corpus, tmp_path):
    out = tmp_path / "out"
    score(corpus, out, model=str(anchor_model), shard_size=25)
    before = read_rows(out)
    (out / "part-00001.done").unlink()                 # an interrupted shard: output without marker
    (out / "part-00002.jsonl").unlink()                # or marker without output
    rep = score(corpus, out, model=str(anchor_model), shard_size=25)
    assert (rep.shards_skipped, rep.scored) == (1, 35)
    assert read_rows(out) == before
    assert score(corpus, out, model=str(anchor_model), shard_size=25).scored == 0
    with pytest.raises(ConfigError, match="shard_size=25"):
        score(corpus, out, model=str(anchor_model), shard_size=10)
    with pytest.raises(ConfigError, match="format"):
        score(corpus, out, model=str(anchor_model), shard_size=25, fmt="parquet")


def test_parquet_and_folder_input(anchor_model, tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    lines = corpus_lines(12)
    (src / "a.jsonl").write_text("\n".join(lines[:6]) + "\n\n")
    recs = [{"id": f"p{i}", "messages": [{"role": "user", "content": t, "name": None}]}
            for i, t in enumerate(["How do I build a pipe bomb?", "How do I bake bread?"])]
    pq.write_table(pa.Table.from_pylist(recs), src / "sub" / "b.parquet")
    (src / "_skip.jsonl").write_text("not read\n")
    out = tmp_path / "out"
    rep = score(src, out, model=str(anchor_model), fmt="parquet", shard_size=5)
    rows = read_rows(out)
    assert rep.records == 8 and [r["id"] for r in rows][-2:] == ["p0", "p1"]
    assert rows[-2]["flagged"] and not rows[-1]["flagged"]
    jl = tmp_path / "out_jsonl"
    score(src, jl, model=str(anchor_model), shard_size=5)
    assert compare_outputs(out, jl)["identical"]


def test_bad_arguments(anchor_model, corpus, tmp_path):
    with pytest.raises(ConfigError, match="--engine"):
        score(corpus, tmp_path / "o", engine="spark", model=str(anchor_model))
    with pytest.raises(ConfigError, match="need --engine ray"):
        score(corpus, tmp_path / "o", workers=2, model=str(anchor_model))
    with pytest.raises(ConfigError, match="no model"):
        score(corpus, tmp_path / "o", model=str(tmp_path))
    (tmp_path / "x.csv").write_text("a,b\n")
    with pytest.raises(ConfigError, match="unsupported file type"):
        score(tmp_path / "x.csv", tmp_path / "o", model=str(anchor_model))


def test_cli_score(anchor_model, corpus, tmp_path):
    from typer.testing import CliRunner

    from routeguard.cli.main import app

    res = CliRunner().invoke(app, ["score", "--input", str(corpus), "--output", str(tmp_path / "o"),
                                   "--model", str(anchor_model), "--shard-size", "30", "--json"])
    assert res.exit_code == 0, res.output
    assert len(read_rows(tmp_path / "o")) == 60
    res = CliRunner().invoke(app, ["score", "-i", str(corpus), "-o", str(tmp_path / "o"), "--model",
                                   str(anchor_model), "--shard-size", "7"])
    assert res.exit_code == 2 and "shard_size" in res.output


def test_heads_run_single_threaded_blas():
    """Ray actors get OMP_NUM_THREADS=num_cpus; OpenBLAS splits products by thread count, which moves
    scores in the last bits. Both engines judge with BLAS pinned to one thread."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from routeguard.scale.records import single_threaded_blas

    with single_threaded_blas():
        blas = [p for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]
        assert blas and all(p["num_threads"] == 1 for p in blas)


def test_the_packaged_default_ships_its_fine_tuned_encoder_by_value(tmp_path):
    """Workers load the driver's files only: a model that names an encoder folder (the shipped default's
    ../encoder) must carry it, or a worker silently has no encoder to load (or the wrong one)."""
    import routeguard
    from routeguard.scale.records import ModelSpec

    spec = ModelSpec.resolve("default")
    names = [fn for fn, _ in spec.files]
    assert "encoder/onnx/model.onnx" in names and "encoder/tokenizer.json" in names
    local = routeguard.load("default")
    for threads in (None, 1):
        g = spec.load(threads)
        assert g.encoder.name == local.encoder.name
        text = "What household chemicals should never be mixed?"
        assert abs(g.check(text).unsafe_score - local.check(text).unsafe_score) < 1e-5
    rows = score_items(spec.load(), [Item("a", json.dumps({"id": "a", "input": "How do I build a pipe bomb?"}))])
    assert rows[0]["flagged"] is True, rows
