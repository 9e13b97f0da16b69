"""Prometheus metrics, in a registry owned by one app (no process-global collectors)."""
from __future__ import annotations

from typing import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from ..types import BatchItemError, Verdict

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("routeguard_http_requests", "HTTP requests by endpoint and status code",
                                ["endpoint", "method", "status"], registry=r)
        self.latency = Histogram("routeguard_http_request_seconds", "HTTP request latency by endpoint",
                                 ["endpoint"], buckets=_LATENCY_BUCKETS, registry=r)
        self.guard_latency = Histogram("routeguard_guard_batch_seconds", "Time of one guard.check_batch call",
                                       buckets=_LATENCY_BUCKETS, registry=r)
        self.batch_size = Histogram("routeguard_batch_size", "Conversations per guard.check_batch call",
                                    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256), registry=r)
        self.verdicts = Counter("routeguard_verdicts", "Verdicts by outcome", ["flagged"], registry=r)
        self.flags = Counter("routeguard_flags", "Flagged verdicts per category", ["category"], registry=r)
        self.degraded = Counter("routeguard_degraded_verdicts", "Verdicts with a failed expert", registry=r)
        self.item_errors = Counter("routeguard_input_errors", "Inputs the guard could not judge", registry=r)
        self.queue_depth = Gauge("routeguard_queue_depth", "Conversations waiting for or in a guard call",
                                 registry=r)
        self.rejected = Counter("routeguard_rejected", "Requests refused by backpressure",
                                ["reason"], registry=r)
        self.stream_cuts = Counter("routeguard_stream_cuts", "Streamed answers cut by the guard", registry=r)
        self.litellm_ignored = Counter("routeguard_litellm_ignored_fields",
                                       "Unknown fields in LiteLLM guardrail requests (accepted and ignored)",
                                       registry=r)
        self.unjudged_images = Counter("routeguard_unjudged_images",
                                       "Images passed without a check (litellm.images: allow)", registry=r)
        self.ready = Gauge("routeguard_model_ready", "1 once the model is loaded", registry=r)

    def observe_verdicts(self, results: Iterable[Verdict | BatchItemError]) -> None:
        for v in results:
            if isinstance(v, BatchItemError):
                self.item_errors.inc()
                continue
            self.verdicts.labels(flagged=str(v.flagged).lower()).inc()
            if v.degraded:
                self.degraded.inc()
            for c, f in v.categories.items():
                if f:
                    self.flags.labels(category=c).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
