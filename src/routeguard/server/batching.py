"""Scorers: how requests reach ``guard.check_batch``.

- :class:`MicroBatcher` collects the conversations of concurrent requests (up to ``max_batch_size``,
  waiting at most ``max_wait_ms`` after the oldest one arrived) into one ``check_batch`` call, run in
  a worker thread so the event loop keeps accepting requests while the encoder works.
- :class:`DirectScorer` judges each request on its own (batching disabled; the benchmark baseline).

Both bound the conversations waiting or in flight (``max_queue``: beyond it, 429 with Retry-After),
and give each request a deadline (``request_timeout_s``: past it, 503 with Retry-After). Memory is
bounded by ``max_queue`` conversations, whatever the load.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from ..guard import RouteGuard
from ..policy import Policy
from ..types import BatchItemError, Conversation, Verdict
from .errors import APIError
from .metrics import Metrics
from .settings import BatchingSettings

log = logging.getLogger("routeguard.server")
Result = Verdict | BatchItemError


class Scorer(Protocol):
    depth: int

    async def judge(self, convs: list[Conversation], policy: Policy) -> list[Result]: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def _policy_key(policy: Policy) -> str:
    return policy.model_dump_json()


def _score_groups(guard: RouteGuard, jobs: list["_Job"], metrics: Metrics) -> list[Result | BaseException]:
    """Worker-thread body: one ``check_batch`` per distinct policy among ``jobs`` (usually one)."""
    out: list[Result | BaseException] = [None] * len(jobs)  # type: ignore[list-item]
    groups: dict[str, list[int]] = {}
    for i, j in enumerate(jobs):
        groups.setdefault(j.policy_key, []).append(i)
    for idx in groups.values():
        t0 = time.perf_counter()
        try:
            res: list[Result | BaseException] = list(
                guard.check_batch([jobs[i].conv for i in idx], policy=jobs[idx[0]].policy))
        except Exception as e:  # noqa: BLE001 - the requests fail (5xx); nothing is reported safe
            log.error("guard.check_batch failed: %s", type(e).__name__)
            res = [e] * len(idx)
        metrics.guard_latency.observe(time.perf_counter() - t0)
        metrics.batch_size.observe(len(idx))
        for i, r in zip(idx, res):
            out[i] = r
    return out


def _raise_guard_failure(results: list[Result | BaseException]) -> list[Result]:
    for r in results:
        if isinstance(r, BaseException):
            raise APIError(500, f"the guard failed ({type(r).__name__}); nothing was judged", "guard_failed")
    return results  # type: ignore[return-value]


@dataclass
class _Job:
    conv: Conversation
    policy: Policy
    policy_key: str
    future: asyncio.Future | None = None
    t0: float = field(default=0.0)


class _Base:
    def __init__(self, guard: RouteGuard, cfg: BatchingSettings, metrics: Metrics):
        self.guard, self.cfg, self.metrics = guard, cfg, metrics
        self.depth = 0

    def _admit(self, n: int) -> None:
        if self.depth + n > self.cfg.max_queue:
            self.metrics.rejected.labels(reason="queue_full").inc()
            raise APIError(429, f"the guard is saturated ({self.depth} conversations queued, limit "
                           f"{self.cfg.max_queue}); retry later", "queue_full",
                           headers={"Retry-After": str(self.cfg.retry_after_s)})

    def _timeout(self) -> APIError:
        self.metrics.rejected.labels(reason="timeout").inc()
        return APIError(503, f"no verdict within {self.cfg.request_timeout_s:g} s; retry later", "guard_timeout",
                        headers={"Retry-After": str(self.cfg.retry_after_s)})


class MicroBatcher(_Base):
    """Collects concurrent conversations into one ``check_batch`` call in a worker thread."""

    def __init__(self, guard: RouteGuard, cfg: BatchingSettings, metrics: Metrics):
        super().__init__(guard, cfg, metrics)
        self._pending: deque[_Job] = deque()
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._executor: ThreadPoolExecutor | None = None

    async def start(self) -> None:
        self._wakeup = asyncio.Event()
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="routeguard-batch")
        self._task = asyncio.create_task(self._run(), name="routeguard-batcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
        for j in self._pending:
            if j.future is not None and not j.future.done():
                j.future.set_exception(APIError(503, "server is shutting down", "shutting_down"))
        self._pending.clear()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)

    async def judge(self, convs: list[Conversation], policy: Policy) -> list[Result]:
        if self._task is None or self._task.done():
            raise APIError(503, "the batcher is not running", "not_ready")
        self._admit(len(convs))
        loop = asyncio.get_running_loop()
        key, t0 = _policy_key(policy), loop.time()
        jobs = [_Job(c, policy, key, loop.create_future(), t0) for c in convs]
        self._pending.extend(jobs)
        self.depth += len(jobs)
        self.metrics.queue_depth.set(self.depth)
        assert self._wakeup is not None
        self._wakeup.set()
        try:
            res = await asyncio.wait_for(asyncio.gather(*(j.future for j in jobs)), self.cfg.request_timeout_s)
        except asyncio.TimeoutError:
            raise self._timeout() from None
        return _raise_guard_failure(res)

    def _release(self, n: int) -> None:
        self.depth -= n
        self.metrics.queue_depth.set(self.depth)

    def _take(self) -> list[_Job]:
        batch: list[_Job] = []
        while self._pending and len(batch) < self.cfg.max_batch_size:
            j = self._pending.popleft()
            if j.future is None or j.future.done():   # its request timed out or went away: skip, free the slot
                self._release(1)
                continue
            batch.append(j)
        return batch

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._wakeup is not None and self._executor is not None
        max_wait = self.cfg.max_wait_ms / 1000.0
        while True:
            if not self._pending:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            # wait for a fuller batch, but never past max_wait after the oldest job arrived
            while len(self._pending) < self.cfg.max_batch_size:
                remaining = self._pending[0].t0 + max_wait - loop.time()
                if remaining <= 0:
                    break
                self._wakeup.clear()
                try:
                    await asyncio.wait_for(self._wakeup.wait(), remaining)
                except asyncio.TimeoutError:
                    break
            batch = self._take()
            if not batch:
                continue
            try:
                results = await loop.run_in_executor(self._executor, _score_groups, self.guard, batch, self.metrics)
            except asyncio.CancelledError:
                self._release(len(batch))
                raise
            except Exception as e:  # noqa: BLE001 - keep the batcher alive; fail these requests
                results = [e] * len(batch)
            self._release(len(batch))
            for j, r in zip(batch, results):
                if j.future is not None and not j.future.done():
                    j.future.set_result(r)


class DirectScorer(_Base):
    """No batching: each request's conversations go to ``check_batch`` on their own."""

    def __init__(self, guard: RouteGuard, cfg: BatchingSettings, metrics: Metrics):
        super().__init__(guard, cfg, metrics)
        self._executor: ThreadPoolExecutor | None = None

    async def start(self) -> None:
        self._executor = ThreadPoolExecutor(self.cfg.unbatched_threads, thread_name_prefix="routeguard-direct")

    async def stop(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)

    async def judge(self, convs: list[Conversation], policy: Policy) -> list[Result]:
        if self._executor is None:
            raise APIError(503, "the scorer is not running", "not_ready")
        self._admit(len(convs))
        n = len(convs)
        self.depth += n
        self.metrics.queue_depth.set(self.depth)
        loop = asyncio.get_running_loop()
        jobs = [_Job(c, policy, "") for c in convs]
        fut = loop.run_in_executor(self._executor, _score_groups, self.guard, jobs, self.metrics)

        def _done(_: object) -> None:     # the slot is freed when the thread is done, not at timeout
            self.depth -= n
            self.metrics.queue_depth.set(self.depth)

        fut.add_done_callback(_done)
        try:
            res = await asyncio.wait_for(asyncio.shield(fut), self.cfg.request_timeout_s)
        except asyncio.TimeoutError:
            raise self._timeout() from None
        return _raise_guard_failure(res)


def make_scorer(guard: RouteGuard, cfg: BatchingSettings, metrics: Metrics) -> MicroBatcher | DirectScorer:
    return MicroBatcher(guard, cfg, metrics) if cfg.enabled else DirectScorer(guard, cfg, metrics)
