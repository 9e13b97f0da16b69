"""Evaluation harness: any guard on the same records, one runner, one metric code path, reports.

    from routeguard.eval import create_guard, load_datasets, run, write_reports
    data = load_datasets("guardzoo", splits=["test", "ood"])
    results = run([create_guard("routeguard"), create_guard("securevector")], data)
    write_reports(results, "eval_out")          # results.json, report.md, report.html
"""
from .guards import (EvalGuard, GuardUnavailable, Prediction, create_guard, guard_names, judged_text,
                     register)
from .metrics import evaluate
from .runner import OOD, load_datasets, read_records, run
from .report import write_reports

__all__ = ["EvalGuard", "GuardUnavailable", "OOD", "Prediction", "create_guard", "evaluate",
           "guard_names", "judged_text", "load_datasets", "read_records", "register", "run",
           "write_reports"]
