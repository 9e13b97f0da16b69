"""The packaged fp32 MiniLM against its int8 copy (``quantize_encoder: true`` in a training config): embedding
agreement, encoder speed on ~650-character texts, and the shipped heads' decisions over both, in one run.

    python benchmarks/int8_encoder.py [--data guardzoo] [--n 3000] [--out benchmarks/results/int8_encoder.json]

Needs the train extra (onnx) for the quantisation and a GuardZoo build for the decision comparison.
"""
from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

import numpy as np
from speed import long_texts, texts

import routeguard
from routeguard.data.build import read_split
from routeguard.encoders import base_encoder, folder_encoder
from routeguard.training.fitting import to_conv
from routeguard.training.quantize import quantize_packaged


def binary(flagged: np.ndarray, y: np.ndarray) -> dict[str, float]:
    tp = int((flagged & y).sum())
    p, r = tp / max(1, int(flagged.sum())), tp / max(1, int(y.sum()))
    return {"f1": round(2 * p * r / max(1e-9, p + r), 4), "fpr": round(float((flagged & ~y).sum() / max(1, (~y).sum())), 4)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="guardzoo")
    ap.add_argument("--n", type=int, default=3000, help="GuardZoo test records sampled (seed 0)")
    ap.add_argument("--out", default="benchmarks/results/int8_encoder.json")
    a = ap.parse_args()

    fp32 = base_encoder()
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        int8 = folder_encoder(str(quantize_packaged(Path(tmp) / "encoder")))
        quantize_s = time.perf_counter() - t
        xs = texts(2000) + long_texts(300)
        cos = (fp32.encode(xs) * int8.encode(xs)).sum(1)
        longs = long_texts(512)
        speed: dict[str, list[float]] = {"fp32": [], "int8": []}
        for _ in range(2):                                    # alternate, so drift hits both alike
            for name, enc in (("fp32", fp32), ("int8", int8)):
                t = time.perf_counter()
                enc.encode(longs)
                speed[name].append(len(longs) / (time.perf_counter() - t))

        recs = [r for r in read_split(Path(a.data), "test") if r.target != "trajectory"]
        recs = random.Random(0).sample(recs, min(a.n, len(recs)))
        convs = [to_conv(r) for r in recs]
        y = np.array([r.label == "unsafe" for r in recs])
        decisions, scores, seconds = {}, {}, {}
        for name, enc in (("fp32", fp32), ("int8", int8)):
            g = routeguard.load("default", encoder=enc)       # the shipped heads, trained on fp32 vectors
            t = time.perf_counter()
            vs = g.check_batch(convs)
            seconds[name] = time.perf_counter() - t
            decisions[name] = np.array([v.flagged for v in vs])
            scores[name] = np.array([v.unsafe_score for v in vs])

    d = np.abs(scores["fp32"] - scores["int8"])
    res = {
        "encoder": int8.name, "quantize_seconds": round(quantize_s, 1),
        "cosine_to_fp32": {"min": round(float(cos.min()), 4), "p1": round(float(np.percentile(cos, 1)), 4),
                           "mean": round(float(cos.mean()), 4)},
        "long_texts_per_s": {k: round(max(v), 1) for k, v in speed.items()},
        "long_speedup": round(max(speed["int8"]) / max(speed["fp32"]), 2),
        "guardzoo_test": {"records": len(recs), "fp32": binary(decisions["fp32"], y), "int8": binary(decisions["int8"], y),
                          "decision_agreement": round(float((decisions["fp32"] == decisions["int8"]).mean()), 4),
                          "score_abs_diff_p99": round(float(np.percentile(d, 99)), 4),
                          "guard_speedup": round(seconds["fp32"] / seconds["int8"], 2)},
    }
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=2) + "\n")
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
