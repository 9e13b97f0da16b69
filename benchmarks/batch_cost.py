"""Why micro-batching does not double throughput on a 2-core CPU: the cost of one encoder call by
length (fixed part + per token), and the guard's cost per record when called once per record vs in
batches of 16 and 64, wall and CPU time, with onnxruntime's thread spinning on (its default) and off.
Same distinct prompts as benchmarks/load.py.

    python benchmarks/batch_cost.py [--out benchmarks/results/batch_cost.json]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import onnxruntime as ort

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import corpus  # noqa: E402

import routeguard  # noqa: E402
from routeguard.encoders.onnx_minilm import OnnxEncoder, _packaged_minilm  # noqa: E402

PER_MODE = 300


def call_cost(enc: OnnxEncoder, reps: int = 20) -> dict:
    """One encoder call on synthetic ids of 8..128 tokens (one text per call), and a least-squares fit
    ms = fixed + per_token x tokens: what batching can save is the fixed part."""
    import numpy as np

    rows = []
    for n in (8, 16, 32, 64, 128):
        ids = np.full((1, n), 1000, np.int64)
        ids[:, 0], ids[:, -1] = 101, 102
        mask = np.ones_like(ids)
        enc._encode_ids(ids, mask)
        t0 = time.perf_counter()
        for _ in range(reps):
            enc._encode_ids(ids, mask)
        rows.append((n, 1000 * (time.perf_counter() - t0) / reps))
    per_token, fixed = np.polyfit([r[0] for r in rows], [r[1] for r in rows], 1)
    return {"ms_per_call_by_tokens": {str(n): round(ms, 2) for n, ms in rows},
            "fit_fixed_ms_per_call": round(float(fixed), 2), "fit_ms_per_token": round(float(per_token), 3)}


def encoder(spinning: bool) -> OnnxEncoder:
    enc = OnnxEncoder()
    if not spinning:
        o = ort.SessionOptions()
        o.intra_op_num_threads = enc._sess.get_session_options().intra_op_num_threads
        o.inter_op_num_threads = 1
        o.add_session_config_entry("session.intra_op.allow_spinning", "0")
        enc._sess = ort.InferenceSession(str(_packaged_minilm() / "onnx" / "model.onnx"), o,
                                         providers=["CPUExecutionProvider"])
    return enc


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="benchmarks/results/batch_cost.json")
    a = ap.parse_args()
    texts = corpus(PER_MODE + 32)
    res: dict = {"benchmark": __doc__.split("\n\n")[0].replace("\n", " "),
                 "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "loadavg_before": os.getloadavg()},
                 "records_per_mode": PER_MODE, "modes": {}}
    res["one_text_call_cost"] = call_cost(encoder(True))
    print("call cost", res["one_text_call_cost"], flush=True)
    for spinning in (True, False):
        g = routeguard.load("default", encoder=encoder(spinning))
        g.check_batch(texts[-32:])                                    # warm-up
        row = {}
        for mode, bs in (("one_per_call", 1), ("batch_16", 16), ("batch_64", 64)):
            part = texts[:PER_MODE]          # the same records in every mode (nothing is cached between calls)
            c0, w0 = time.process_time(), time.perf_counter()
            for s in range(0, len(part), bs):
                g.check_batch(part[s:s + bs])
            row[mode] = {"wall_ms_per_record": round(1000 * (time.perf_counter() - w0) / len(part), 2),
                         "cpu_ms_per_record": round(1000 * (time.process_time() - c0) / len(part), 2)}
        res["modes"]["spinning_on" if spinning else "spinning_off"] = row
        print("spinning", spinning, row, flush=True)
    modes = res["modes"]
    best_single = min(m["one_per_call"]["wall_ms_per_record"] for m in modes.values())
    best_batched = min(m[k]["wall_ms_per_record"] for m in modes.values() for k in ("batch_16", "batch_64"))
    res["best_one_per_call_ms"], res["best_batched_ms"] = best_single, best_batched
    res["best_batched_speedup_over_best_one_per_call"] = round(best_single / best_batched, 2)
    res["machine"]["loadavg_after"] = os.getloadavg()
    Path(a.out).write_text(json.dumps(res, indent=2))
    print(f"wrote {a.out}: best batched {best_batched} ms/record vs best one-per-call {best_single} "
          f"({res['best_batched_speedup_over_best_one_per_call']}x)")


if __name__ == "__main__":
    main()
