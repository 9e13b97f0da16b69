"""Small numpy-only classifier heads used by the router and the experts at inference time.

Training (scikit-learn) lives in :mod:`routeguard.training`; here we only hold weights and compute
calibrated probabilities, so loading a guard needs neither pickles nor torch.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))


@dataclass
class MLPHead:
    """ReLU MLP with sigmoid outputs (multi-label), followed by per-output Platt calibration.

    ``layers`` is a list of (W, b). ``platt`` is (a, b) arrays: p = sigmoid(a * logit + b).
    """

    layers: list[tuple[np.ndarray, np.ndarray]]
    outputs: list[str]
    platt_a: np.ndarray = field(default_factory=lambda: np.ones(0, np.float32))
    platt_b: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))

    def __post_init__(self) -> None:
        k = len(self.outputs)
        if self.platt_a.size == 0:
            self.platt_a = np.ones(k, np.float32)
            self.platt_b = np.zeros(k, np.float32)

    def logits(self, x: np.ndarray) -> np.ndarray:
        h = x
        for i, (w, b) in enumerate(self.layers):
            h = h @ w + b
            if i < len(self.layers) - 1:
                np.maximum(h, 0, out=h)
        return h

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return sigmoid(self.logits(x) * self.platt_a + self.platt_b).astype(np.float32)

    # -- (de)serialisation into a flat dict of arrays (npz) ------------------------------------
    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        d = {f"{prefix}.platt_a": self.platt_a, f"{prefix}.platt_b": self.platt_b}
        for i, (w, b) in enumerate(self.layers):
            d[f"{prefix}.W{i}"] = w.astype(np.float32)
            d[f"{prefix}.b{i}"] = b.astype(np.float32)
        return d

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], prefix: str, outputs: list[str]) -> "MLPHead":
        layers = []
        i = 0
        while f"{prefix}.W{i}" in arrays:
            layers.append((arrays[f"{prefix}.W{i}"].astype(np.float32), arrays[f"{prefix}.b{i}"].astype(np.float32)))
            i += 1
        if not layers:
            raise KeyError(f"no weights for head {prefix!r}")
        head = cls(layers, outputs, arrays[f"{prefix}.platt_a"], arrays[f"{prefix}.platt_b"])
        if layers[-1][0].shape[1] != len(outputs):
            raise ValueError(f"head {prefix!r} has {layers[-1][0].shape[1]} outputs, config says {len(outputs)}")
        return head

    @property
    def n_params(self) -> int:
        return int(sum(w.size + b.size for w, b in self.layers))
