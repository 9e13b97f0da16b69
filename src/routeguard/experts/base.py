from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from ..features import EncodedBatch
from ..heads import MLPHead


class Expert(ABC):
    """One expert guard.

    ``score`` returns calibrated probabilities, shape (len(which), len(outputs)), for the conversations
    ``which`` (indices into ``batch.conversations``). It may raise; the guard turns an exception into
    a degraded verdict handled by the Policy (fail-closed by default). Experts that need more than the
    shared features (e.g. an LLM judge) read ``batch.conversations`` directly.
    """

    name: str
    outputs: tuple[str, ...]    # category ids, or ("unsafe",) for the binary always-on expert

    @abstractmethod
    def score(self, batch: EncodedBatch, which: np.ndarray) -> np.ndarray: ...


class HeadExpert(Expert):
    """A trained head over the shared encoder features; max over a conversation's chunks."""

    def __init__(self, name: str, head: MLPHead):
        self.name, self.head, self.outputs = name, head, tuple(head.outputs)

    def score(self, batch: EncodedBatch, which: np.ndarray) -> np.ndarray:
        if len(which) == 0:
            return np.zeros((0, len(self.outputs)), np.float32)
        pos = np.full(len(batch.conversations), -1)
        pos[which] = np.arange(len(which))
        rows = np.nonzero(pos[batch.owner] >= 0)[0]
        probs = self.head.predict_proba(batch.features[rows])
        out = np.zeros((len(which), len(self.outputs)), np.float32)
        np.maximum.at(out, pos[batch.owner[rows]], probs)
        return out
