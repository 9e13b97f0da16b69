"""Operating points: max recall with every style's benign FPR in budget, one rule per judged target."""
import numpy as np

from routeguard import Policy
from routeguard.training.operating_points import BUDGETS, DevScores, choose


def _dev(seed: int = 0) -> DevScores:
    """Benign prompts score low and benign responses high, so one shared threshold is set by responses."""
    rng = np.random.default_rng(seed)
    parts = []   # (unsafe score, y, style, target)
    for target, benign_mu in (("prompt", 0.15), ("response", 0.55)):
        n = 400
        parts += [(float(np.clip(rng.normal(benign_mu, 0.08), 0, 1)), False, f"{target}-style", target) for _ in range(n)]
        parts += [(float(np.clip(rng.normal(benign_mu + 0.3, 0.1), 0, 1)), True, "x", target) for _ in range(n)]
    u, y, st, tg = zip(*parts)
    return DevScores(np.array(u), np.zeros(len(u), bool), np.array(y), list(st), np.ones(len(u), bool), np.array(tg))


def test_per_target_rules_keep_every_style_in_budget_and_gain_recall():
    ds = _dev()
    op = choose(ds, "default", BUDGETS["default"], Policy())
    one = choose(DevScores(ds.unsafe, ds.category_hit, ds.y, ds.style, ds.usable), "default", BUDGETS["default"], Policy())
    assert one.policy.by_target == {} and one.feasible
    assert set(op.policy.by_target) == {"prompt", "response"} and op.feasible
    assert all(v <= 0.05 for v in op.fpr_by_style.values()), op.fpr_by_style
    pt, rt = op.policy.for_target("prompt").unsafe_threshold, op.policy.for_target("response").unsafe_threshold
    assert pt < rt                          # benign prompts allow a lower threshold than benign responses
    assert op.recall > one.recall + 0.1     # the shared rule gave prompt recall away for the responses' sake
    assert op.recall_by_target["prompt"] > 0.9
    # the decision the policy encodes is the one whose rates are reported
    for tgt in ("prompt", "response"):
        m = ds.target == tgt
        flagged = ds.unsafe[m & ~ds.y] >= op.policy.for_target(tgt).unsafe_threshold
        assert abs(flagged.mean() - op.fpr_by_style[f"{tgt}-style"]) < 1e-9


def test_small_targets_share_the_global_rule():
    ds = _dev()
    keep = np.ones(len(ds.y), bool)
    conv = np.flatnonzero(ds.target == "response")[:30]        # 30 "conversation" records: too few for a rule
    tg = ds.target.copy()
    tg[conv] = "conversation"
    op = choose(DevScores(ds.unsafe, ds.category_hit, ds.y, ds.style, keep, tg), "default", BUDGETS["default"], Policy())
    assert "conversation" not in op.policy.by_target
    assert op.policy.for_target("conversation").unsafe_threshold == op.policy.unsafe_threshold


def test_infeasible_budget_is_reported_not_hidden():
    ds = _dev()
    benign = ~ds.y
    u = ds.unsafe.copy()
    u[benign & (ds.target == "prompt")] = 1.0                   # benign prompts score above every threshold
    op = choose(DevScores(u, ds.category_hit, ds.y, ds.style, ds.usable, ds.target), "default", BUDGETS["default"], Policy())
    assert not op.feasible
