"""The Ray engine judges exactly what the local engine judges (Ray Data actor pool, 2 local CPUs)."""
from __future__ import annotations

import pytest

from routeguard.scale import compare_outputs, read_rows, score

pytestmark = pytest.mark.ray


def test_ray_engine_matches_local_and_resumes(ray_local, anchor_model, corpus, tmp_path):
    local, remote = tmp_path / "local", tmp_path / "ray"
    score(corpus, local, model=str(anchor_model), batch_size=8, shard_size=20)
    rep = score(corpus, remote, engine="ray", model=str(anchor_model), batch_size=8, shard_size=20, workers=2)
    assert (rep.engine, rep.workers, rep.scored, rep.errors) == ("ray", 2, 60, 10)
    cmp = compare_outputs(local, remote)
    assert cmp["identical"], cmp["first_differences"]
    # resume on Ray: only the unfinished shard is judged again, with the same verdicts
    (remote / "part-00001.done").unlink()
    rep = score(corpus, remote, engine="ray", model=str(anchor_model), batch_size=8, shard_size=20, workers=1,
                window_records=7)
    assert (rep.shards_skipped, rep.scored) == (2, 20)
    assert read_rows(remote) == read_rows(local)
