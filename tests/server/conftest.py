"""Server test fixtures: a small deterministic guard over the real ONNX encoder (see
routeguard.server.testing), and in-process apps."""
from __future__ import annotations

from typing import Iterator

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from srvutil import SlowExpert, app_client  # noqa: E402

from routeguard.server.testing import build_test_guard  # noqa: E402


@pytest.fixture(scope="session")
def anchor_guard():
    return build_test_guard()


@pytest.fixture(scope="session")
def failing_guard():
    return build_test_guard(failing_expert=True)


@pytest.fixture(scope="session")
def slow_guard(anchor_guard):
    from routeguard.guard import RouteGuard

    experts = dict(anchor_guard.experts)
    experts["slow"] = SlowExpert(0.3)
    return RouteGuard(anchor_guard.encoder, experts, anchor_guard.router, anchor_guard.policy,
                      always_on=("general", "slow"), meta={"name": "slow-test"})


@pytest.fixture()
def client(anchor_guard) -> Iterator:
    with app_client(anchor_guard) as c:
        yield c
