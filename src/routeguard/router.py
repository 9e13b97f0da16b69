"""The router: multi-label triage of each conversation over the expert domains plus ``safe``."""
from __future__ import annotations

import numpy as np

from .features import EncodedBatch
from .heads import MLPHead
from .policy import Policy


class Router:
    """Calibrated P(domain) for every domain of the head's outputs, and P(safe)."""

    def __init__(self, head: MLPHead):
        if "safe" not in head.outputs:
            raise ValueError("router head needs a 'safe' output")
        self.head = head
        self.domains = [d for d in head.outputs if d != "safe"]
        self._safe = head.outputs.index("safe")

    def scores(self, batch: EncodedBatch) -> np.ndarray:
        """(conversations, outputs): domain probabilities max over chunks; P(safe) min over chunks."""
        p = self.head.predict_proba(batch.features)
        p[:, self._safe] = 1.0 - p[:, self._safe]          # aggregate P(not safe) by max
        agg = batch.aggregate_max(p)
        agg[:, self._safe] = 1.0 - agg[:, self._safe]
        return agg

    def route(self, scores: np.ndarray, policy: Policy) -> tuple[list[list[str]], list[bool]]:
        """Domains to consult per conversation, and whether the fallback (all domains) was used."""
        routes, fallbacks = [], []
        idx = [self.head.outputs.index(d) for d in self.domains]
        for row in scores:
            chosen = [d for d, i in zip(self.domains, idx) if row[i] >= policy.route_threshold]
            fallback = not chosen and row[self._safe] < policy.fallback_below
            routes.append(list(self.domains) if fallback else chosen)
            fallbacks.append(fallback)
        return routes, fallbacks
