"""Schemathesis fuzz run of the RouteGuard HTTP API, numbers written to ``benchmarks/results/fuzz.json``.

Serves the app on 127.0.0.1 (uvicorn in a thread: the shipped default model, or ``--model test`` for
the deterministic anchor guard), with API keys on and the chat proxy pointed at a local fake
upstream, then sends schemathesis-generated requests (valid and invalid, derandomised) to every
operation of the app's own OpenAPI schema and counts answers by status, 5xx, and errors that are not
``{"error": {"message", "type", "code"}}``. The test suite runs the same driver with fewer examples
(tests/server/test_fuzz.py).

    python benchmarks/fuzz.py                      # 100 examples per operation and mode, seed 0
    python benchmarks/fuzz.py --max-examples 20 --model test --out /tmp/fuzz.json
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "server"))       # the loopback server helpers of the test suite


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-examples", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", default="default", help="'default', 'monolith', a model folder, or 'test'")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "fuzz.json")
    a = ap.parse_args()

    import schemathesis
    from srvutil import FakeUpstream, live, settings

    from routeguard import load
    from routeguard.server import create_app
    from routeguard.server.testing import build_test_guard, fuzz_openapi

    guard = build_test_guard() if a.model == "test" else load(a.model)
    up = FakeUpstream()
    t0 = time.perf_counter()
    with live(up.app) as u:
        app = create_app(guard=guard, settings=settings(api_keys=["fuzz-key"], upstream={"base_url": u.url + "/v1"}))
        with live(app) as srv:
            report = fuzz_openapi(srv.url, app.openapi(), max_examples=a.max_examples, seed=a.seed,
                                  headers={"Authorization": "Bearer fuzz-key"})
    report.update(model=guard.name, seconds=round(time.perf_counter() - t0, 1),
                  schemathesis=schemathesis.__version__ if hasattr(schemathesis, "__version__") else None,
                  python=platform.python_version(), command="python benchmarks/fuzz.py " + " ".join(sys.argv[1:]))
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: report[k] for k in ("requests", "server_errors", "bad_error_shape", "seconds")}))
    return 0 if report["server_errors"] == 0 and report["bad_error_shape"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
