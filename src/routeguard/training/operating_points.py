"""Deployment operating points: thresholds chosen for a false-positive budget on benign text of every
style, not for F1 on a dev set that is mostly unsafe.

F1-optimal thresholds on GuardZoo dev (about 60 % unsafe) over-flag at real traffic, where a few percent
of conversations are unsafe. An operating point here is the decision rule (the binary threshold and the
category gate; the per-category thresholds only name categories) that catches the most unsafe dev
records while the false-positive rate of **each style's** benign dev records stays within its budget.
Recall under an FPR constraint does not depend on the prevalence, so the choice holds at any traffic mix.

The rule is chosen **per judged target** (prompt, response, conversation) where dev holds enough of it:
benign responses and benign prompts do not score alike, and one shared threshold is set by whichever
target's hardest style binds first, costing the other target recall it did not need to give up. Each
target's rule keeps its own styles within budget, so every style stays within budget over all targets.

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
from ..policy import Policy, TargetRule
from .fitting import Prepared, to_conv

#: Benign-FPR budget per style for each operating point; ``*`` is every other style.
BUDGETS: dict[str, dict[str, float]] = {
    "default": {"*": 0.05, "over_refusal": 0.15},
    "strict": {"*": 0.15, "over_refusal": 0.30},
}
MIN_STYLE_RECORDS = 20          # smaller benign style groups on dev are too noisy to constrain on
MIN_TARGET_RECORDS = 200        # a target with fewer usable dev records (or 20 of a class) shares the global rule
GATE_FRACTIONS = (0.0, 0.25, 0.5, 0.75, 1.0)


@dataclass
class DevScores:
    """The guard's scores on the dev records (routing included), as the operating points need them."""

    unsafe: np.ndarray               # (n,) P(unsafe) of the always-on expert
    category_hit: np.ndarray         # (n,) some category reaches its (F1) threshold
    y: np.ndarray                    # (n,) bool, unsafe
    style: list[str]
    usable: np.ndarray               # (n,) bool: non-trajectory records
    target: np.ndarray | None = None  # (n,) judged target of each record (None: one rule for all)


@dataclass
class OperatingPoint:
    name: str
    policy: Policy
    recall: float
    fpr_by_style: dict[str, float]
    budgets: dict[str, float]
    feasible: bool
    n_by_style: dict[str, int] = field(default_factory=dict)
    recall_by_target: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict:
        return {"unsafe_threshold": self.policy.unsafe_threshold, "category_gate": self.policy.category_gate,
                "by_target": {t: r.model_dump() for t, r in self.policy.by_target.items()},
                "dev_recall": round(self.recall, 4), "feasible": self.feasible, "budgets": self.budgets,
                "dev_recall_by_target": {k: round(v, 4) for k, v in sorted(self.recall_by_target.items())},
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
                     [r.style for r in dv.records], np.array([r.target != "trajectory" for r in dv.records]),
                     np.array([r.target for r in dv.records]))


def _style_groups(ds: DevScores, within: np.ndarray) -> dict[str, np.ndarray]:
    """Benign usable records of each style (inside ``within``), the groups large enough to constrain on."""
    groups: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(len(ds.y), bool))
    for i, s in enumerate(ds.style):
        if within[i] and not ds.y[i]:
            groups[s][i] = True
    return {s: m for s, m in groups.items() if m.sum() >= MIN_STYLE_RECORDS}


def _predict(ds: DevScores, t: float, gate: float) -> np.ndarray:
    return (ds.unsafe >= t) | (ds.category_hit & (ds.unsafe >= gate))


def _search(ds: DevScores, within: np.ndarray, budgets: dict[str, float]) -> tuple[float, float, bool]:
    """(threshold, gate, feasible): max recall on ``within`` with each of its styles in budget; if no
    point fits, the one with the smallest worst overshoot."""
    groups = _style_groups(ds, within)
    pos = within & ds.y
    best: tuple | None = None
    for t in np.arange(0.05, 0.996, 0.005):
        for f in GATE_FRACTIONS:
            gate = t * f
            pred = _predict(ds, t, gate)
            over = max((float(pred[m].mean()) - budgets.get(s, budgets["*"]) for s, m in groups.items()),
                       default=0.0)
            recall = float(pred[pos].mean()) if pos.any() else 0.0
            key = (over <= 1e-12, -max(over, 0.0), recall, -t)
            if best is None or key > best[0]:
                best = (key, round(float(t), 3), round(float(gate), 4))
    assert best is not None
    return best[1], best[2], bool(best[0][0])


def choose(ds: DevScores, name: str, budgets: dict[str, float], base: Policy) -> OperatingPoint:
    """Best (unsafe threshold, category gate) for one budget: one global rule, then one per judged target
    with enough dev records (``ds.target``); ``feasible`` says every style is within budget overall."""
    t, gate, _ = _search(ds, ds.usable, budgets)
    pred = _predict(ds, t, gate)
    rules: dict[str, TargetRule] = {}
    if ds.target is not None:
        for tgt in sorted(set(ds.target[ds.usable].tolist())):
            m = ds.usable & (ds.target == tgt)
            if m.sum() < MIN_TARGET_RECORDS or (m & ds.y).sum() < MIN_STYLE_RECORDS \
                    or (m & ~ds.y).sum() < MIN_STYLE_RECORDS:
                continue
            tt, tg, _ = _search(ds, m, budgets)
            rules[tgt] = TargetRule(unsafe_threshold=tt, category_gate=tg)
            pred = np.where(m, _predict(ds, tt, tg), pred)
    groups = _style_groups(ds, ds.usable)
    fpr = {s: float(pred[m].mean()) for s, m in groups.items()}
    feasible = all(v <= budgets.get(s, budgets["*"]) + 1e-12 for s, v in fpr.items())
    pos = ds.usable & ds.y
    recall = float(pred[pos].mean()) if pos.any() else 0.0
    by_t = {}
    if ds.target is not None:
        by_t = {str(k): float(pred[pos & (ds.target == k)].mean()) for k in set(ds.target[pos].tolist())}
    policy = base.merged(unsafe_threshold=t, category_gate=gate).merged(by_target=rules)
    return OperatingPoint(name, policy, recall, fpr,
                          {s: budgets.get(s, budgets["*"]) for s in groups} | {"*": budgets["*"]}, feasible,
                          {s: int(m.sum()) for s, m in groups.items()}, by_t)


def choose_all(guard: RouteGuard, dv: Prepared) -> dict[str, OperatingPoint]:
    ds = dev_scores(guard, dv)
    return {name: choose(ds, name, b, guard.policy) for name, b in BUDGETS.items()}
