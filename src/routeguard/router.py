"""The router: multi-label triage of each conversation over the expert domains plus ``safe``.

The base head scores the domains it was trained with plus ``safe``. Expansion heads (one per domain
added later, see :mod:`routeguard.training.expand`) each score one new domain; adding one leaves the
base head, and so the routing to existing experts, untouched.
"""
from __future__ import annotations

import numpy as np

from .features import EncodedBatch
from .heads import MLPHead
from .policy import Policy


class Router:
    """Calibrated P(domain) for every domain, and P(safe)."""

    def __init__(self, head: MLPHead, extensions: dict[str, MLPHead] | None = None):
        if "safe" not in head.outputs:
            raise ValueError("router head needs a 'safe' output")
        self.head = head
        self.extensions = dict(extensions or {})
        for d, h in self.extensions.items():
            if list(h.outputs) != [d]:
                raise ValueError(f"router extension for {d!r} must have the single output {d!r}, not {h.outputs}")
            if d in head.outputs:
                raise ValueError(f"router extension {d!r} duplicates a base domain")
        self.domains = [d for d in head.outputs if d != "safe"] + list(self.extensions)
        self.outputs = list(head.outputs) + list(self.extensions)
        self._safe = head.outputs.index("safe")

    def scores(self, batch: EncodedBatch) -> np.ndarray:
        """(conversations, outputs): domain probabilities max over chunks; P(safe) min over chunks."""
        p = self.head.predict_proba(batch.features)
        if self.extensions:
            p = np.concatenate([p] + [h.predict_proba(batch.features) for h in self.extensions.values()], axis=1)
        p[:, self._safe] = 1.0 - p[:, self._safe]          # aggregate P(not safe) by max
        agg = batch.aggregate_max(p)
        agg[:, self._safe] = 1.0 - agg[:, self._safe]
        return agg

    def route(self, scores: np.ndarray, policy: Policy) -> tuple[list[list[str]], list[bool]]:
        """Domains to consult per conversation, and whether the fallback (all domains) was used."""
        routes, fallbacks = [], []
        idx = [self.outputs.index(d) for d in self.domains]
        for row in scores:
            chosen = [d for d, i in zip(self.domains, idx) if row[i] >= policy.route_threshold]
            fallback = not chosen and row[self._safe] < policy.fallback_below
            routes.append(list(self.domains) if fallback else chosen)
            fallbacks.append(fallback)
        return routes, fallbacks
