import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from routeguard.cli.main import app
from routeguard.loading import packaged_path

EXAMPLE = str(Path(__file__).resolve().parents[2] / "examples" / "delete_files.json")
POLICY = "Never delete files without asking the user"
runner = CliRunner()

needs_model = pytest.mark.skipif(not (packaged_path("default") / "model.json").is_file(),
                                 reason="packaged default model not built (routeguard train --config configs/default.yaml)")


@needs_model
def test_check_trajectory_names_violated_policy_and_step():
    r = runner.invoke(app, ["check", "--trajectory", EXAMPLE, "--policy", POLICY, "--exit-code"])
    assert r.exit_code == 1, r.output
    assert "VIOLATION" in r.output and POLICY in r.output
    assert "step 4" in r.output and "rm -rf" in r.output


@needs_model
def test_check_trajectory_json():
    r = runner.invoke(app, ["check", "--trajectory", EXAMPLE, "--policy", POLICY, "--json"])
    assert r.exit_code == 0, r.output
    v = json.loads(r.output)
    [p] = v["policies"]
    assert p["violated"] is True and p["step"] == 4 and p["checker"] == "rule"
    assert v["flagged"] is True and v["verdict"]["target"] == "trajectory"


def test_policy_needs_trajectory_and_inputs_are_exclusive():
    r = runner.invoke(app, ["check", "hello", "--policy", POLICY])
    assert r.exit_code == 2 and "--policy needs --trajectory" in r.output
    r = runner.invoke(app, ["check", "hello", "--trajectory", EXAMPLE])
    assert r.exit_code == 2 and "exactly one" in r.output


@needs_model
def test_bad_trajectory_file_is_an_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    r = runner.invoke(app, ["check", "--trajectory", str(bad)])
    assert r.exit_code == 2 and "not valid JSON" in r.output
