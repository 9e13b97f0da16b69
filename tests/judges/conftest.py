import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")


@pytest.fixture(scope="session")
def fake_server():
    """A FAKE OpenAI-compatible server (keyword matching) on 127.0.0.1, a random port."""
    from routeguard.judges.fake_server import FakeJudgeServer

    with FakeJudgeServer() as srv:
        yield srv


@pytest.fixture
def server(fake_server):
    fake_server.scenarios.clear()
    fake_server.calls.clear()
    fake_server.load.update(in_flight=0, max_in_flight=0)
    return fake_server
