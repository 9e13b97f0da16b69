"""The Ray engine of ``routeguard score``: Ray Data ``map_batches`` over a pool of guard actors.

The driver reads the input (it may live only on the machine running ``score``), packs each planned
batch of records into one dataset row (``ray.data.from_items``), and a fixed-size actor pool
(``ActorPoolStrategy(size=workers)``, what ``concurrency=workers`` meant before Ray 2.51), each actor holding one loaded guard and ``num_cpus=cpus_per_worker``,
judges one packed batch per call with :func:`records.score_items`, the function the local engine
uses. Judging the same batches with the same code is what makes the verdicts identical.

Verdict rows stream back to the driver, which writes each shard as soon as all its batches are in.
Records go through Ray in windows of about ``window_records`` records so driver memory stays
bounded on corpora of any size.
"""
from __future__ import annotations

import json
import logging
import math
import os
from typing import Any, Callable, Iterator

import numpy as np

from ..errors import ConfigError
from .records import Item, ModelSpec, score_items


def connect(address: str | None, num_cpus: int | None = None) -> bool:
    """Join the Ray cluster at ``address`` (``auto``, ``host:6379``, ``ray://host:10001``) or start a
    local one with ``num_cpus`` CPUs. Returns True when this call started/joined Ray (and so the
    caller should ``ray.shutdown()`` it), False when Ray was already initialised in this process."""
    try:
        import ray
    except ImportError as e:
        raise ConfigError(f"the Ray engine needs the ray extra: pip install 'routeguard[ray]' ({e})") from None
    if ray.is_initialized():
        return False
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")      # no telemetry unless the user opted in
    # Serve's HTTP proxy must answer its first readiness check within 5 s by default; on a busy 2-core
    # machine importing it takes longer and Serve kills it. Applies to a local Ray started here.
    os.environ.setdefault("RAY_SERVE_PROXY_READY_CHECK_TIMEOUT_S", "60")
    kw: dict[str, Any] = {"logging_level": logging.WARNING}
    try:
        if address:
            ray.init(address=address, **kw)
        else:
            ray.init(num_cpus=num_cpus, include_dashboard=False, **kw)
    except ConnectionError as e:
        raise ConfigError(f"cannot reach the Ray cluster at {address!r}: {e}") from None
    return True


class GuardActor:
    """A Ray Data actor-pool UDF: loads the guard once, judges one packed batch per row."""

    def __init__(self, spec_ref: list[Any], threads: int):
        import ray

        # the model travels once through the object store, nested so Ray does not pin it as an argument
        self.guard = ray.get(spec_ref[0]).load(threads)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        out = []
        for packed in batch["items"]:
            rows = score_items(self.guard, [Item(*x) for x in json.loads(str(packed))])
            out.append(json.dumps(rows))
        return {"shard": batch["shard"], "batch": batch["batch"], "rows": np.array(out, dtype=object)}


class RayEngine:
    """Judge batches on a Ray cluster (an existing one, or a local one started here)."""

    name = "ray"

    def __init__(self, spec: ModelSpec, *, address: str | None = None, workers: int = 2,
                 cpus_per_worker: float = 1.0, window_records: int = 100_000):
        if workers < 1 or cpus_per_worker <= 0 or window_records < 1:
            raise ConfigError(f"workers ({workers}), cpus_per_worker ({cpus_per_worker}) and window_records "
                              f"({window_records}) must be positive")
        self.spec, self.workers, self.cpus = spec, workers, cpus_per_worker
        self.window_records = window_records
        local_cpus = max(os.cpu_count() or 1, math.ceil(workers * cpus_per_worker))
        self._owns_ray = connect(address, None if address else local_cpus)

    def run(self, shards: Iterator[Any], progress: Callable[[int], None]
            ) -> Iterator[tuple[int, list[dict[str, Any]]]]:
        window: list[Any] = []
        size = 0
        for sw in shards:
            window.append(sw)
            size += sw.size
            if size >= self.window_records:
                yield from self._run_window(window, progress)
                window, size = [], 0
        if window:
            yield from self._run_window(window, progress)

    def _run_window(self, window: list[Any], progress: Callable[[int], None]
                    ) -> Iterator[tuple[int, list[dict[str, Any]]]]:
        import ray

        packed = [{"shard": sw.index, "batch": j, "items": json.dumps([it.to_list() for it in b])}
                  for sw in window for j, b in enumerate(sw.batches)]
        ds = ray.data.from_items(packed, override_num_blocks=len(packed))   # one planned batch per block
        ds.context.enable_progress_bars = False                             # this dataset only
        ds.context.print_on_execution_start = False
        spec_ref = ray.put(self.spec)
        ds = ds.map_batches(GuardActor, fn_constructor_kwargs={"spec_ref": [spec_ref], "threads": max(1, int(self.cpus))},
                            batch_size=1, compute=ray.data.ActorPoolStrategy(size=self.workers),
                            num_cpus=self.cpus, batch_format="numpy")
        expected = {sw.index: len(sw.batches) for sw in window}
        got: dict[int, dict[int, list[dict[str, Any]]]] = {}
        for row in ds.iter_rows():
            k, j = int(row["shard"]), int(row["batch"])
            rows = json.loads(row["rows"])
            got.setdefault(k, {})[j] = rows
            progress(len(rows))
            if len(got[k]) == expected[k]:
                parts = got.pop(k)
                yield k, [r for jj in sorted(parts) for r in parts[jj]]
        if got:  # pragma: no cover - Ray lost a batch: fail rather than write a partial shard
            raise RuntimeError(f"Ray returned incomplete shards {sorted(got)}; re-run to resume")

    def close(self) -> None:
        if self._owns_ray:
            import ray

            ray.shutdown()
            self._owns_ray = False
