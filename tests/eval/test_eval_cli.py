"""`routeguard eval` end to end on a tiny build (the packaged guard, the real report)."""
from __future__ import annotations

import json

from typer.testing import CliRunner

from routeguard.cli.main import app


def test_eval_command_writes_reports(build_folder, tmp_path):
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["eval", "--data", str(build_folder), "--split", "test", "--split", "ood",
                                   "--guard", "routeguard", "--limit", "3", "--out", str(out)])
    assert res.exit_code == 0, res.output
    results = json.loads((out / "results.json").read_text())
    assert set(results["datasets"]) == {"test", "ood"} and results["datasets"]["test"]["n"] == 3
    assert results["results"]["routeguard"]["test"]["n"] == 3
    assert (out / "report.html").stat().st_size > 10_000 and (out / "report.md").is_file()
    assert (out / "predictions" / "routeguard__ood.jsonl").is_file()


def test_eval_command_fails_clearly(build_folder, tmp_path):
    r = CliRunner().invoke(app, ["eval", "--data", str(build_folder), "--guard", "nosuchguard", "--out", str(tmp_path)])
    assert r.exit_code == 2 and "unknown guard 'nosuchguard'" in r.output
    r = CliRunner().invoke(app, ["eval", "--out", str(tmp_path)])
    assert r.exit_code == 2 and "--data" in r.output
    r = CliRunner().invoke(app, ["eval", "--list-guards"])
    assert r.exit_code == 0 and "securevector" in r.output
