"""Deployment operating points: thresholds chosen for a false-positive budget on benign text of every
style, not for F1 on a dev set that is mostly unsafe.

F1-optimal thresholds on GuardZoo dev (about 60 % unsafe) over-flag at real traffic, where a few percent
of conversations are unsafe. An operating point here is the decision rule (the binary threshold and the
category gate; the per-category thresholds only name categories) that catches the most unsafe dev
records while the false-positive rate of **each style's** benign dev records stays within its budget.
Recall under an FPR constraint does not depend on the prevalence, so the choice holds at any traffic mix.

On top of the binary threshold, each target's rule may let a category flag **on its own**
(``standalone``): greedily, the category that catches the most missed unsafe dev records per benign
record it adds lowers its standalone score step by step, never below its F1 threshold, while every
style stays within budget and what these rules add stays within a share of it (``STANDALONE_SHARE``). A
harmful request whose P(unsafe) sits just under the threshold is then caught by, say, the weapons expert,
whose benign look-alikes score low, while benign tweets from hate datasets, which bind the binary
threshold, stay unflagged. Only the ``strict`` point gets them
(``STANDALONE_POINTS``): on test they overspent the default's 5 % budget.

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
from ..errors import RouteGuardError
from ..guard import RouteGuard
from ..policy import Policy, TargetRule
from ..types import BatchItemError
from .fitting import Prepared, to_conv

#: Benign-FPR budget per style for each operating point; ``*`` is every other style.
BUDGETS: dict[str, dict[str, float]] = {
    "default": {"*": 0.05, "over_refusal": 0.15},
    "strict": {"*": 0.15, "over_refusal": 0.30},
}
MIN_STYLE_RECORDS = 20          # smaller benign style groups on dev are too noisy to constrain on
MIN_TARGET_RECORDS = 200        # a target with fewer usable dev records (or 20 of a class) shares the global rule
GATE_FRACTIONS = (0.0, 0.25, 0.5, 0.75, 1.0)
#: Standalone categories fit 16 scores to dev, so they overfit it: they may use only this share of each
#: style's budget (the binary threshold, one number, may use all of it), and each step must catch at
#: least ``STANDALONE_MIN_GAIN`` unsafe records per benign record it adds.
STANDALONE_SHARE = 0.6
STANDALONE_MIN_GAIN = 2.0
#: The operating points that get standalone rules. Measured with benchmarks/proxies.py on the 32k fine-tune
#: (ftC), without vs with them: FPR on in-domain tweets 0.050 -> 0.066, system prompts 0.055 -> 0.088,
#: held-out code 0.083 -> 0.125, over the default's 5 % budget; ToxicChat F1 0.606 -> 0.685. So the default
#: point keeps one threshold and a gate; ``strict``, whose users trade false positives for recall, adds them.
STANDALONE_POINTS = frozenset({"strict"})


@dataclass
class DevScores:
    """The guard's scores on the dev records (routing included), as the operating points need them."""

    unsafe: np.ndarray               # (n,) P(unsafe) of the always-on expert
    category_hit: np.ndarray         # (n,) some category reaches its (F1) threshold
    y: np.ndarray                    # (n,) bool, unsafe
    style: list[str]
    usable: np.ndarray               # (n,) bool: non-trajectory records
    target: np.ndarray | None = None  # (n,) judged target of each record (None: one rule for all)
    scores: np.ndarray | None = None  # (n, k) category scores (None: no standalone category rules)
    categories: tuple[str, ...] = ()  # the k columns of ``scores`` (enforced categories only)
    floors: np.ndarray | None = None  # (k,) lowest standalone score per category (its F1 threshold)


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
                "standalone": self.policy.standalone,
                "by_target": {t: r.model_dump() for t, r in self.policy.by_target.items()},
                "dev_recall": round(self.recall, 4), "feasible": self.feasible, "budgets": self.budgets,
                "dev_recall_by_target": {k: round(v, 4) for k, v in sorted(self.recall_by_target.items())},
                "dev_fpr_by_style": {k: round(v, 4) for k, v in sorted(self.fpr_by_style.items())},
                "dev_benign_by_style": dict(sorted(self.n_by_style.items()))}


def dev_scores(guard: RouteGuard, dv: Prepared, pipeline: bool = True) -> DevScores:
    """The guard's dev scores. With ``pipeline`` the dev records go through ``check_batch`` as at run time
    (every window, and the sentence rows a long or suspicious text is re-read with), so the rates the
    operating points are chosen on are the deployed guard's; otherwise the prepared training rows are judged
    (windows only). Give the guard a cached encoder (``CachedEncoder``) to reuse the training vectors."""
    convs = [to_conv(r) for r in dv.records]
    if pipeline:
        verdicts = []
        for i in range(0, len(convs), 256):
            for v in guard.check_batch(convs[i:i + 256], policy=guard.policy):
                if isinstance(v, BatchItemError):
                    raise RouteGuardError(f"dev record {dv.records[i + v.index].id}: {v.error}")
                verdicts.append(v)
    else:
        batch = EncodedBatch(convs, dv.feats, dv.owner, [""] * len(dv.feats),
                             np.bincount(dv.owner, minlength=len(convs)))
        verdicts = guard.judge(batch, guard.policy)
    pol = guard.policy
    unsafe = np.array([next((r.scores["unsafe"] for r in v.experts if "unsafe" in r.scores), v.unsafe_score)
                       for v in verdicts], np.float64)
    cats = tuple(c for c in guard.categories if pol.enforced(c))     # every verdict scores these
    scores = np.array([[v.category_scores.get(c, 0.0) for c in cats] for v in verdicts],
                      np.float64).reshape(len(verdicts), len(cats))
    floors = np.array([pol.threshold(c) for c in cats], np.float64)
    return DevScores(unsafe, (scores >= floors).any(1), np.array([r.label == "unsafe" for r in dv.records]),
                     [r.style for r in dv.records], np.array([r.target != "trajectory" for r in dv.records]),
                     np.array([r.target for r in dv.records]), scores, cats, floors)


def _style_groups(ds: DevScores, within: np.ndarray) -> dict[str, np.ndarray]:
    """Benign usable records of each style (inside ``within``), the groups large enough to constrain on."""
    groups: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(len(ds.y), bool))
    for i, s in enumerate(ds.style):
        if within[i] and not ds.y[i]:
            groups[s][i] = True
    return {s: m for s, m in groups.items() if m.sum() >= MIN_STYLE_RECORDS}


def _predict(ds: DevScores, t: float, gate: float, alone: dict[int, float] | None = None) -> np.ndarray:
    pred = (ds.unsafe >= t) | (ds.category_hit & (ds.unsafe >= gate))
    for k, v in (alone or {}).items():
        pred |= ds.scores[:, k] >= v  # type: ignore[index]
    return pred


def _over(pred: np.ndarray, groups: dict[str, np.ndarray], budgets: dict[str, float]) -> float:
    """The worst style's FPR minus its budget (<= 0: every style within budget)."""
    return max((float(pred[m].mean()) - budgets.get(s, budgets["*"]) for s, m in groups.items()), default=0.0)


def _search(ds: DevScores, within: np.ndarray, budgets: dict[str, float], standalone: bool = True
            ) -> tuple[float, float, dict[int, float], bool]:
    """(threshold, gate, standalone, feasible): max recall on ``within`` with each of its styles in budget;
    if no point fits, the one with the smallest worst overshoot (and no standalone categories)."""
    groups = _style_groups(ds, within)
    pos = within & ds.y
    best: tuple | None = None
    for t in np.arange(0.05, 0.996, 0.005):
        for f in GATE_FRACTIONS:
            gate = t * f
            pred = _predict(ds, t, gate)
            over = _over(pred, groups, budgets)
            recall = float(pred[pos].mean()) if pos.any() else 0.0
            key = (over <= 1e-12, -max(over, 0.0), recall, -t)
            if best is None or key > best[0]:
                best = (key, round(float(t), 3), round(float(gate), 4))
    assert best is not None
    (feasible, _, recall, _), t0, gate0 = best
    if not feasible or not standalone or ds.scores is None or not pos.any():
        return t0, gate0, {}, bool(feasible)
    # a higher binary threshold leaves budget to categories that flag on their own: try a few
    f = gate0 / t0 if t0 else 0.0
    choice = (recall, t0, gate0, {})
    for t in np.arange(t0, min(t0 + 0.2, 0.996), 0.02):
        t, gate = round(float(t), 3), round(float(t * f), 4)
        pred = _predict(ds, t, gate)
        if _over(pred, groups, budgets) > 1e-12:
            continue
        alone, pred = _standalone(ds, within, pred, groups, budgets)
        r = float(pred[pos].mean())
        if r > choice[0] + 1e-12:
            choice = (r, t, gate, alone)
    return choice[1], choice[2], choice[3], True


def _standalone(ds: DevScores, within: np.ndarray, pred: np.ndarray, groups: dict[str, np.ndarray],
                budgets: dict[str, float]) -> tuple[dict[int, float], np.ndarray]:
    """Greedy standalone category scores on top of ``pred``. Each step lowers one category's score to
    catch the next 1, 2, 4, ... missed unsafe records: the move that catches the most per benign record
    it adds, if it catches ``STANDALONE_MIN_GAIN`` per benign one, keeps every style within budget and
    keeps what the standalone rules add within ``STANDALONE_SHARE`` of it. Never below the floors."""
    assert ds.scores is not None and ds.floors is not None
    idx = np.flatnonzero(within)
    sc, y, p0 = ds.scores[idx], ds.y[idx], pred[idx]
    p = p0.copy()
    local = {s: m[idx] for s, m in groups.items()}
    share = {s: STANDALONE_SHARE * b for s, b in budgets.items()}
    alone: dict[int, float] = {}
    live = set(range(sc.shape[1]))
    while live:
        best = None
        for k in sorted(live):
            missed = y & ~p & (sc[:, k] < alone.get(k, np.inf)) & (sc[:, k] >= ds.floors[k])
            if not missed.any():
                live.discard(k)
                continue
            ranked = np.sort(sc[missed, k])[::-1]
            fits = False
            for j in sorted({min(j, len(ranked)) for j in (1, 2, 4, 8, 16, 32)}):
                v = float(ranked[j - 1])
                p2 = p | (sc[:, k] >= v)
                if _over(p2, local, budgets) > 1e-12 or _over(p2 & ~p0, local, share) > 1e-12:
                    break
                fits = True
                dpos, dneg = int((p2 & ~p & y).sum()), int((p2 & ~p & ~y).sum())
                gain = dpos / (1.0 + dneg)
                if dpos >= STANDALONE_MIN_GAIN * dneg and (best is None or gain > best[0]):
                    best = (gain, k, v, p2)
            if not fits:
                live.discard(k)                # its next step already breaks a budget
        if best is None:
            break
        _, k, v, p = best
        alone[k] = v
    out = pred.copy()
    out[idx] = p
    return alone, out


def choose(ds: DevScores, name: str, budgets: dict[str, float], base: Policy) -> OperatingPoint:
    """Best (unsafe threshold, category gate, standalone category scores) for one budget: one global rule,
    then one per judged target with enough dev records (``ds.target``); ``feasible`` says every style
    is within budget overall. Standalone rules only for the points in ``STANDALONE_POINTS``."""
    sa = name in STANDALONE_POINTS
    t, gate, alone, _ = _search(ds, ds.usable, budgets, sa)
    pred = _predict(ds, t, gate, alone)
    rules: dict[str, TargetRule] = {}
    if ds.target is not None:
        for tgt in sorted(set(ds.target[ds.usable].tolist())):
            m = ds.usable & (ds.target == tgt)
            if m.sum() < MIN_TARGET_RECORDS or (m & ds.y).sum() < MIN_STYLE_RECORDS \
                    or (m & ~ds.y).sum() < MIN_STYLE_RECORDS:
                continue
            tt, tg, ta, _ = _search(ds, m, budgets, sa)
            rules[tgt] = TargetRule(unsafe_threshold=tt, category_gate=tg, standalone=_named(ds, ta))
            pred = np.where(m, _predict(ds, tt, tg, ta), pred)
    groups = _style_groups(ds, ds.usable)
    fpr = {s: float(pred[m].mean()) for s, m in groups.items()}
    feasible = all(v <= budgets.get(s, budgets["*"]) + 1e-12 for s, v in fpr.items())
    pos = ds.usable & ds.y
    recall = float(pred[pos].mean()) if pos.any() else 0.0
    by_t = {}
    if ds.target is not None:
        by_t = {str(k): float(pred[pos & (ds.target == k)].mean()) for k in set(ds.target[pos].tolist())}
    policy = base.merged(unsafe_threshold=t, category_gate=gate, standalone=_named(ds, alone)).merged(by_target=rules)
    return OperatingPoint(name, policy, recall, fpr,
                          {s: budgets.get(s, budgets["*"]) for s in groups} | {"*": budgets["*"]}, feasible,
                          {s: int(m.sum()) for s, m in groups.items()}, by_t)


def _named(ds: DevScores, alone: dict[int, float]) -> dict[str, float]:
    # rounded down, so that the saved rule flags every record the search counted
    return {ds.categories[k]: float(np.floor(v * 1e4) / 1e4) for k, v in sorted(alone.items())}


def choose_all(guard: RouteGuard, dv: Prepared) -> dict[str, OperatingPoint]:
    ds = dev_scores(guard, dv)
    return {name: choose(ds, name, b, guard.policy) for name, b in BUDGETS.items()}
