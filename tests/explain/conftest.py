import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "judges"))


@pytest.fixture(scope="session")
def default_guard():
    """The packaged default model; skipped (with the reason) when it is not there (e.g. mid-retraining)."""
    import os

    import routeguard
    from routeguard.errors import ConfigError

    try:
        return routeguard.load(os.environ.get("ROUTEGUARD_TEST_MODEL", "default"))
    except ConfigError as e:
        pytest.skip(f"packaged default model not loadable: {e}")


@pytest.fixture(scope="session")
def fake_server():
    pytest.importorskip("fastapi")
    pytest.importorskip("uvicorn")
    from routeguard.judges.fake_server import FakeJudgeServer

    with FakeJudgeServer() as srv:
        yield srv
