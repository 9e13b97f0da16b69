"""Deployment operating points: thresholds chosen for a false-positive budget on benign text of every
style, not for F1 on a dev set that is mostly unsafe.

F1-optimal thresholds on GuardZoo dev (about 60 % unsafe) over-flag at real traffic, where a few percent
of conversations are unsafe. An operating point here is the decision rule (the binary threshold and the
category gate; the per-category thresholds only name categories) that catches the most unsafe dev
records while the false-positive rate of **each style's** benign dev records stays within its budget.
Recall under an FPR constraint does not depend on the prevalence, so the choice holds at any traffic mix.

- ``default``: at most 5 % of the benign records of every style flagged (15 % for the deliberately
  scary ``over_refusal`` prompts).
- ``strict``: for high-recall uses (review queues, red-team triage): 15 % per style (30 % over-refusal).

Agent trajectories are left to the trajectory head (:mod:`routeguard.agent.trajectory_head`).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from ..features import EncodedBatch
from ..guard import RouteGuard
from ..policy import Policy
from .fitting import Prepared, to_conv

#: Benign-FPR budget per style for each operating point; ``*`` is every other style.
BUDGETS: dict[str, dict[str, float]] = {
    "default": {"*": 0.05, "over_refusal": 0.15},
    "strict": {"*": 0.15, "over_refusal": 0.30},
}
MIN_STYLE_RECORDS = 20          # smaller benign style groups on dev are too noisy to constrain on
GATE_FRACTIONS = (0.0, 0.25, 0.5, 0.75, 1.0)


@dataclass
class DevScores:
    """The guard's scores on the dev records (routing included), as the operating points need them."""

    unsafe: np.ndarray               # (n,) P(unsafe) of the always-on expert
    category_hit: np.ndarray         # (n,) some category reaches its (F1) threshold
    y: np.ndarray                    # (n,) bool, unsafe
    style: list[str]
    usable: np.ndarray               # (n,) bool: non-trajectory records


@dataclass
class OperatingPoint:
    name: str
    policy: Policy
    recall: float
    fpr_by_style: dict[str, float]
    budgets: dict[str, float]
    feasible: bool
    n_by_style: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict:
        return {"unsafe_threshold": self.policy.unsafe_threshold, "category_gate": self.policy.category_gate,
                "dev_recall": round(self.recall, 4), "feasible": self.feasible, "budgets": self.budgets,
                "dev_fpr_by_style": {k: round(v, 4) for k, v in sorted(self.fpr_by_style.items())},
                "dev_benign_by_style": dict(sorted(self.n_by_style.items()))}


def dev_scores(guard: RouteGuard, dv: Prepared) -> DevScores:
    convs = [to_conv(r) for r in dv.records]
    batch = EncodedBatch(convs, dv.feats, dv.owner, [""] * len(dv.feats),
                         np.bincount(dv.owner, minlength=len(convs)))
    verdicts = guard.judge(batch, guard.policy)
    pol = guard.policy
    unsafe = np.array([next((r.scores["unsafe"] for r in v.experts if "unsafe" in r.scores), v.unsafe_score)
                       for v in verdicts], np.float64)
    hit = np.array([any(pol.enforced(c) and s >= pol.threshold(c) for c, s in v.category_scores.items())
                    for v in verdicts])
    return DevScores(unsafe, hit, np.array([r.label == "unsafe" for r in dv.records]),
                     [r.style for r in dv.records], np.array([r.target != "trajectory" for r in dv.records]))


def choose(ds: DevScores, name: str, budgets: dict[str, float], base: Policy) -> OperatingPoint:
    """Best (unsafe threshold, category gate) for one budget: max dev recall with every style in budget;
    if no point fits, the one with the smallest worst overshoot (``feasible`` False)."""
    groups: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(len(ds.y), bool))
    for i, s in enumerate(ds.style):
        if ds.usable[i] and not ds.y[i]:
            groups[s][i] = True
    groups = {s: m for s, m in groups.items() if m.sum() >= MIN_STYLE_RECORDS}
    pos = ds.usable & ds.y
    best: tuple | None = None
    for t in np.arange(0.05, 0.996, 0.005):
        for f in GATE_FRACTIONS:
            gate = t * f
            pred = (ds.unsafe >= t) | (ds.category_hit & (ds.unsafe >= gate))
            fpr = {s: float(pred[m].mean()) for s, m in groups.items()}
            over = max((fpr[s] - budgets.get(s, budgets["*"]) for s in fpr), default=0.0)
            recall = float(pred[pos].mean()) if pos.any() else 0.0
            key = (over <= 1e-12, -max(over, 0.0), recall, -t)
            if best is None or key > best[0]:
                best = (key, round(float(t), 3), round(float(gate), 4), recall, fpr)
    assert best is not None
    key, t, gate, recall, fpr = best
    return OperatingPoint(name, base.merged(unsafe_threshold=t, category_gate=gate), recall, fpr,
                          {s: budgets.get(s, budgets["*"]) for s in groups} | {"*": budgets["*"]}, key[0],
                          {s: int(m.sum()) for s, m in groups.items()})


def choose_all(guard: RouteGuard, dv: Prepared) -> dict[str, OperatingPoint]:
    ds = dev_scores(guard, dv)
    return {name: choose(ds, name, b, guard.policy) for name, b in BUDGETS.items()}
