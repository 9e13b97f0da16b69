"""Operating points: max recall with every style's benign FPR in budget, one rule per judged target."""
import numpy as np

from routeguard import Policy
from routeguard.training.operating_points import BUDGETS, STANDALONE_POINTS, DevScores, choose


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


def _dev_with_categories(seed: int = 0) -> DevScores:
    """Prompts only. Benign tweets score high on the binary expert (they bind its threshold) but low on
    the weapons category; half the unsafe prompts are weapons requests with a middling binary score."""
    rng = np.random.default_rng(seed)
    rows = []   # (unsafe, weapons, hate, y, style)
    for _ in range(400):
        rows.append((rng.normal(0.6, 0.1), rng.normal(0.05, 0.03), rng.normal(0.5, 0.15), False, "tweet"))
        rows.append((rng.normal(0.1, 0.05), rng.normal(0.05, 0.03), rng.normal(0.05, 0.03), False, "chat"))
        rows.append((rng.normal(0.55, 0.1), rng.normal(0.7, 0.1), rng.normal(0.05, 0.03), True, "x"))
        rows.append((rng.normal(0.85, 0.08), rng.normal(0.05, 0.03), rng.normal(0.6, 0.15), True, "x"))
    u, w, h, y, st = zip(*rows)
    scores = np.clip(np.stack([w, h], 1), 0, 1)
    return DevScores(np.clip(np.array(u), 0, 1), (scores >= 0.3).any(1), np.array(y), list(st),
                     np.ones(len(u), bool), np.array(["prompt"] * len(u)), scores,
                     ("weapons_drugs_physical_harm", "hate_harassment"), np.array([0.3, 0.3]))


def test_standalone_categories_gain_recall_within_budget():
    ds = _dev_with_categories()
    base = Policy(thresholds=dict(zip(ds.categories, ds.floors)))     # F1 thresholds: the floors
    plain = choose(DevScores(ds.unsafe, ds.category_hit, ds.y, ds.style, ds.usable, ds.target),
                   "default", BUDGETS["default"], base)
    op = choose(ds, "strict", BUDGETS["default"], base)      # a point that gets standalone rules, 5 % budget
    assert op.feasible and all(v <= 0.05 for v in op.fpr_by_style.values()), op.fpr_by_style
    rule = op.policy.for_target("prompt")
    assert "weapons_drugs_physical_harm" in rule.standalone          # the category benign tweets leave alone
    assert rule.standalone.get("hate_harassment", 1.0) > 0.5         # the one they share stays high or off
    assert all(v >= 0.3 for v in rule.standalone.values())           # never below the F1 floor
    assert op.recall > plain.recall + 0.3
    # the saved policy decides exactly as the search counted
    flagged = np.array([rule.flags(dict(zip(ds.categories, s)), u)["weapons_drugs_physical_harm"]
                        or rule.flags(dict(zip(ds.categories, s)), u)["hate_harassment"]
                        or u >= rule.unsafe_threshold for s, u in zip(ds.scores, ds.unsafe)])
    st = np.array(ds.style)
    for s in ("tweet", "chat"):
        assert abs(flagged[(st == s) & ~ds.y].mean() - op.fpr_by_style[s]) < 0.01
    assert abs(flagged[ds.y].mean() - op.recall) < 0.01


def test_default_point_has_no_standalone_rules():
    # measured: standalone rules overspent the default budget on test styles, so only `strict` gets them
    ds = _dev_with_categories()
    base = Policy(thresholds=dict(zip(ds.categories, ds.floors)))
    op = choose(ds, "default", BUDGETS["default"], base)
    assert not op.policy.standalone and all(not r.standalone for r in op.policy.by_target.values())
    assert "default" not in STANDALONE_POINTS and "strict" in STANDALONE_POINTS
