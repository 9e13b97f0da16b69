import os
from pathlib import Path

import pytest

SHARED = Path(os.environ.get("ROUTEGUARD_DATA_ROOT", Path(__file__).resolve().parents[2] / "shared" / "datasets"))


@pytest.fixture(scope="session")
def guard():
    import routeguard

    return routeguard.load()


@pytest.fixture(scope="session")
def shared_root() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"shared datasets not found at {SHARED} (set ROUTEGUARD_DATA_ROOT)")
    return SHARED
