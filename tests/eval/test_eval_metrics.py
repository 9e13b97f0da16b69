"""Metrics against hand-computed values on tiny inputs."""
from __future__ import annotations

import json

import numpy as np
import pytest
from evalutil import KeywordGuard, rec

from routeguard.eval.guards import Prediction
from routeguard.eval.metrics import (binary_metrics, category_metrics, evaluate, latency_stats,
                                     routing_metrics)


def test_binary_metrics_hand_computed():
    # tp=2 (0,1)  fn=1 (2)  fp=1 (3)  tn=3 (4,5,6)
    y = [1, 1, 1, 0, 0, 0, 0]
    f = [1, 1, 0, 1, 0, 0, 0]
    m = binary_metrics(y, f)
    assert (m["tp"], m["fp"], m["fn"], m["tn"]) == (2, 1, 1, 3)
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["recall"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 / 3)
    assert m["fpr"] == pytest.approx(1 / 4)
    assert m["accuracy"] == pytest.approx(5 / 7)
    assert m["auprc"] is None                       # no scores given


def test_average_precision_hand_computed():
    # ranked: 0.9 unsafe (P=1 at R=.5), 0.8 safe, 0.7 unsafe (P=2/3 at R=1): AP = .5*1 + .5*2/3
    m = binary_metrics([1, 0, 1, 0], [1, 1, 1, 0], [0.9, 0.8, 0.7, 0.1], curve=True)
    assert m["auprc"] == pytest.approx(0.5 + 0.5 * 2 / 3)
    assert m["pr_curve"]["recall"][0] == 1.0 and m["pr_curve"]["precision"][-1] == 1.0


def test_undefined_ratios_are_none_not_zero():
    m = binary_metrics([1, 1], [0, 0], [0.2, 0.3])     # nothing flagged, no safe record, one class
    assert m["precision"] is None and m["fpr"] is None and m["auprc"] is None
    assert m["recall"] == 0.0 and m["f1"] == 0.0
    empty = binary_metrics([], [])
    assert empty["f1"] is None and empty["accuracy"] is None


def test_category_metrics_hand_computed():
    names = ("a", "b", "c")
    t = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 0]])
    p = np.array([[1, 0, 0], [0, 1, 1], [0, 0, 0]])
    m = category_metrics(t, p, names)
    assert m["per_category"]["a"]["f1"] == pytest.approx(2 / 3)   # tp 1, fn 1
    assert m["per_category"]["b"]["f1"] == pytest.approx(1.0)
    assert m["per_category"]["c"]["f1"] == 0.0                      # fp only, no support
    assert m["macro_over"] == ["a", "b"]                            # c has no true instance
    assert m["macro_f1"] == pytest.approx((2 / 3 + 1) / 2)
    assert m["micro_f1"] == pytest.approx(4 / 6)                    # TP 2, FP 1, FN 1
    assert m["hamming_loss"] == pytest.approx(2 / 9)
    assert m["exact_match"] == pytest.approx(2 / 3)


def test_routing_metrics_hand_computed():
    rs = [rec("1", "x", "unsafe", ["weapons_drugs_physical_harm"]),            # harm
          rec("2", "y", "unsafe", ["hate_harassment", "cyberattack"]),         # social + cyber
          rec("3", "z"),                                                       # safe
          rec("4", "w", "unsafe", [])]                                         # unknown: ignored
    routed = [["general", "harm"], ["general", "social"], ["general"], ["harm"]]
    m = routing_metrics(rs, routed)
    assert m["n"] == 3 and m["n_unsafe"] == 2
    assert m["recall"] == pytest.approx(1 / 2)           # record 2 missed the cyber expert
    assert m["accuracy"] == pytest.approx(2 / 3)         # 1 exact, 3 safe routed nowhere
    assert m["per_domain_recall"] == {"harm": 1.0, "social": 1.0, "cyber": 0.0}
    mat = m["matrix"]
    cell = {(r, c): mat["counts"][i][j] for i, r in enumerate(mat["rows"]) for j, c in enumerate(mat["cols"])}
    assert cell[("harm", "harm")] == 1 and cell[("social", "social")] == 1 and cell[("cyber", "social")] == 1
    assert cell[("safe", "none")] == 1 and cell[("cyber", "cyber")] == 0
    assert mat["row_records"][mat["rows"].index("safe")] == 1
    assert m["mean_domains_safe"] == 0.0


def test_latency_stats():
    m = latency_stats([1, 2, 3, 4, 100])
    assert m["mean_ms"] == 22 and m["p50_ms"] == 3
    assert m["p95_ms"] == pytest.approx(4 + 0.8 * 96)   # linear interpolation between 4 and 100
    assert latency_stats([])["p50_ms"] is None


def test_error_predictions_are_never_counted_as_safe(records):
    preds = KeywordGuard().predict(records)
    clean = evaluate(records, preds, guard_categories=KeywordGuard.categories, routed=True)
    # s3 (safe) and a3 (unsafe, missed) now fail: both must count as flagged, scored 1.0
    i_safe, i_unsafe = [r.id for r in records].index("s3"), [r.id for r in records].index("a3")
    preds[i_safe] = Prediction.failed("ConnectError: refused")
    preds[i_unsafe] = Prediction(unsafe_score=None, flagged=False, error="HTTP 500")
    assert preds[i_unsafe].flagged is True                       # forced by the Prediction itself
    m = evaluate(records, preds, guard_categories=KeywordGuard.categories, routed=True)
    b, b0 = m["binary"], clean["binary"]
    assert m["n_errors"] == 2
    assert b["fp"] == b0["fp"] + 1 and b["tn"] == b0["tn"] - 1
    assert b["tp"] == b0["tp"] + 1 and b["fn"] == b0["fn"] - 1
    assert b["auprc"] is not None                               # errors ranked as P(unsafe)=1
    assert {e["error"] for e in m["error_examples"]} == {"ConnectError: refused", "HTTP 500"}


def test_evaluate_keyword_guard_end_to_end(records):
    m = evaluate(records, KeywordGuard().predict(records), guard_categories=KeywordGuard.categories,
                 routed=True)
    b = m["binary"]
    # unsafe a1, a2 caught; a3, a4 missed; safe s2 ("bomb of flavour") flagged
    assert (b["tp"], b["fn"], b["fp"], b["tn"]) == (2, 2, 1, 2)
    c = m["categories"]
    assert c["n"] == 6                                          # a4 (unsafe, no category) left out
    assert c["per_category"]["unethical_nonviolent"]["f1"] == 0.0
    assert c["per_category"]["cyberattack"]["f1"] == 1.0
    assert m["routing"]["recall"] == pytest.approx(2 / 3)       # a3 never reached non_violent
    assert set(m["by_source"]) == {"src_a", "src_b"}
    assert m["by_source"]["src_a"]["recall"] == 1.0 and m["by_source"]["src_a"]["fpr"] == 0.0
    assert set(m["by_language"]) == {"en", "de"}
    json.dumps(m, allow_nan=False)


def test_guard_without_scores_or_categories():
    rs = [rec("1", "x", "unsafe", ["self_harm"]), rec("2", "y")]
    preds = [Prediction(None, True), Prediction(None, False)]
    m = evaluate(rs, preds)
    assert m["binary"]["auprc"] is None and m["categories"] is None and m["routing"] is None
    assert m["binary"]["f1"] == 1.0


def test_prediction_rejects_non_probability():
    with pytest.raises(ValueError, match="probability"):
        Prediction(unsafe_score=1.5, flagged=True)
    with pytest.raises(ValueError):
        Prediction(unsafe_score=float("nan"), flagged=True)
