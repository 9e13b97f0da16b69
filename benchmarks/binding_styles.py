"""Which benign style binds an operating point: dev records judged as at run time (``check_batch``), then,
per judged target, recall and the benign styles' false-positive rates at a range of P(unsafe) thresholds.

    python benchmarks/binding_styles.py [--data guardzoo] [--model default] [--out benchmarks/results/binding_styles.json]

The default point keeps every style within 5 % (``training.operating_points``); the style whose rate reaches
its budget first is the one that sets the threshold, and the recall between thresholds is what it costs.
"""
from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

import routeguard
from routeguard.data.build import read_split
from routeguard.training.fitting import to_conv
from routeguard.types import BatchItemError


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="guardzoo")
    ap.add_argument("--model", default="default")
    ap.add_argument("--thresholds", default="0.6,0.7,0.75,0.8,0.83,0.86,0.9")
    ap.add_argument("--out", default="benchmarks/results/binding_styles.json")
    a = ap.parse_args()
    guard = routeguard.load(a.model)
    recs = [r for r in read_split(Path(a.data), "dev") if r.target != "trajectory"]
    u, kept = [], []
    for i in range(0, len(recs), 256):
        part = recs[i:i + 256]
        for r, v in zip(part, guard.check_batch([to_conv(r) for r in part])):
            if isinstance(v, BatchItemError):
                continue
            u.append(next((x.scores["unsafe"] for x in v.experts if "unsafe" in x.scores), v.unsafe_score))
            kept.append(r)
    u = np.array(u)
    res = {"model": a.model, "data": a.data, "dev_records": len(kept), "targets": {}}
    for tgt in ("prompt", "response", "conversation"):
        idx = [i for i, r in enumerate(kept) if r.target == tgt]
        y = np.array([kept[i].label == "unsafe" for i in idx])
        by_style = defaultdict(list)
        for j, i in enumerate(idx):
            if not y[j]:
                by_style[kept[i].style].append(j)
        rows = []
        for t in (float(x) for x in a.thresholds.split(",")):
            pred = u[idx] >= t
            rows.append({"threshold": t, "recall": round(float(pred[y].mean()), 4),
                         "fpr_by_style": {s: round(float(pred[js].mean()), 4)
                                          for s, js in sorted(by_style.items()) if len(js) >= 20}})
            print(tgt, rows[-1], flush=True)
        res["targets"][tgt] = {"unsafe": int(y.sum()), "benign_by_style": {s: len(js) for s, js in sorted(by_style.items())},
                               "rows": rows}
    Path(a.out).write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
