"""Scale-out test fixtures: the deterministic anchor guard (routeguard.server.testing) saved as a
model folder, a small mixed corpus, and one local Ray (2 CPUs) shared by the Ray tests."""
from __future__ import annotations

from pathlib import Path

import pytest
from scaleutil import corpus_lines


def pytest_configure(config):
    config.addinivalue_line("markers", "ray: needs the ray extra (skipped when ray is not installed)")


@pytest.fixture(scope="session")
def anchor_model(tmp_path_factory) -> Path:
    import numpy as np

    from routeguard.agent.trajectory_head import FEATURES, TrajectoryHead
    from routeguard.server.testing import build_test_guard

    guard = build_test_guard()
    folder = guard.save(tmp_path_factory.mktemp("model") / "anchor")
    # a hand-set trajectory head travels with the model (flags runs whose actions look unsafe)
    coef = np.array([4.0 if f == "action_unsafe_max" else 0.0 for f in FEATURES])
    TrajectoryHead(coef, -2.0, np.zeros(len(FEATURES)), np.ones(len(FEATURES)), 0.5,
                   model_fingerprint=guard.weights_fingerprint).save(folder / "trajectory_head.json")
    return folder


@pytest.fixture()
def corpus(tmp_path) -> Path:
    p = tmp_path / "in.jsonl"
    p.write_text("\n".join(corpus_lines(60)) + "\n")
    return p


@pytest.fixture(scope="session")
def ray_local():
    ray = pytest.importorskip("ray", reason="the Ray tests need the ray extra: pip install 'routeguard[ray]'")
    import os

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_SERVE_PROXY_READY_CHECK_TIMEOUT_S", "60")   # as routeguard.scale.ray_engine.connect
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING", log_to_driver=False)
    yield ray
    if started:
        ray.shutdown()
