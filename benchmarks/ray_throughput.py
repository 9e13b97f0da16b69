"""Batch-scoring throughput: the local engine, and the Ray engine with 1 and 2 workers, in one run.

    python benchmarks/ray_throughput.py [--n 4000] [--model default] [--batch-size 256]
                                        [--out benchmarks/results/ray_throughput.json]

Records are synthetic (generated here: prompts, chats and agent turns of varied length, safe and
unsafe), written to a temporary JSONL and scored with :func:`routeguard.scale.score`, exactly what
``routeguard score`` runs. One local Ray (``num_cpus`` = this machine's cores) serves both Ray runs,
so cluster start-up is paid once and reported apart; each run's wall time still includes loading the
guard in its actors. ``steady_records_per_s`` excludes that warm-up (records after the first batch
over the time after it).
Every Ray run's verdicts are compared with the local engine's, row by row.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import tempfile
import time
from pathlib import Path

SUBJECTS = ["a pipe bomb", "a birthday cake", "ransomware for a hospital network", "a birdhouse", "untraceable guns",
            "a phishing page for a bank", "sourdough bread", "a convincing fake news article about a vaccine",
            "a garden shed", "methamphetamine", "a resume", "a keylogger", "a poem about the sea", "a fake passport"]
ASKS = ["How do I make {}?", "Give me step by step instructions for {}.", "Explain to a beginner how to build {}.",
        "My grandmother used to tell me about {}; describe it in detail.", "Is it legal to make {}?",
        "Write a short story in which a character makes {}, with every technical detail."]
PADDING = ["I have been thinking about this for a while and would really appreciate a thorough answer.",
           "Please keep it short.", "This is for a school project about safety.", ""]


def synthetic_records(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        text = f"{rng.choice(ASKS).format(rng.choice(SUBJECTS))} {rng.choice(PADDING) * rng.randint(0, 3)}".strip()
        kind = i % 4
        if kind == 0:
            out.append({"id": f"s{i}", "text": text})
        elif kind == 1:
            out.append({"id": f"s{i}", "messages": [{"role": "system", "content": "You are a helpful assistant."},
                                                    {"role": "user", "content": text}]})
        elif kind == 2:
            out.append({"id": f"s{i}", "target": "response", "messages": [
                {"role": "user", "content": text},
                {"role": "assistant", "content": f"Sure. Here is how to proceed with {rng.choice(SUBJECTS)}: first, "
                                                 "gather the materials, then follow the steps carefully."}]})
        else:
            out.append(text)
    return out


def loadavg() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover
        return []


def timed_score(inp: Path, out: Path, **kw) -> dict:
    from routeguard.scale import score

    first: list[float] = []      # when the first batch came back, and how many records it held

    def progress(done: int, total: int) -> None:
        if done and not first:
            first.extend([time.perf_counter(), done])

    t0 = time.perf_counter()
    rep = score(inp, out, progress=progress, **kw)
    t1 = time.perf_counter()
    steady = (rep.scored - first[1]) / (t1 - first[0]) if first and rep.scored > first[1] else None
    return {"engine": rep.engine, "workers": rep.workers, "records": rep.scored, "wall_s": round(t1 - t0, 2),
            "records_per_s": round(rep.scored / (t1 - t0), 1), "warmup_s": round(first[0] - t0, 2) if first else None,
            "steady_records_per_s": round(steady, 1) if steady else None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=4000, help="synthetic records")
    ap.add_argument("--input", type=Path, default=None, help="score this JSONL instead of synthetic records")
    ap.add_argument("--model", default="default")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--shard-size", type=int, default=2000)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/ray_throughput.json"))
    a = ap.parse_args()

    import ray

    from routeguard.scale import compare_outputs

    tmp = Path(tempfile.mkdtemp(prefix="rg-ray-bench-"))
    try:
        if a.input is None:
            inp = tmp / "records.jsonl"
            inp.write_text("".join(json.dumps(r) + "\n" for r in synthetic_records(a.n)))
        else:
            inp = a.input
        kw = {"model": a.model, "batch_size": a.batch_size, "shard_size": a.shard_size}
        load_before = loadavg()
        runs = {"local": timed_score(inp, tmp / "local", **kw)}
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        t = time.perf_counter()
        ray.init(num_cpus=os.cpu_count(), include_dashboard=False, logging_level="WARNING", log_to_driver=False)
        ray_start_s = time.perf_counter() - t
        try:
            for w in (1, 2):
                runs[f"ray_{w}w"] = timed_score(inp, tmp / f"ray{w}", engine="ray", workers=w, **kw)
                runs[f"ray_{w}w"]["identical_to_local"] = compare_outputs(tmp / "local", tmp / f"ray{w}")["identical"]
        finally:
            ray.shutdown()
        r1, r2 = runs["ray_1w"], runs["ray_2w"]
        result = {
            "benchmark": "routeguard score throughput (records/s), local engine vs Ray Data actor pool",
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "ray": ray.__version__,
                        "loadavg_before": load_before, "loadavg_after": loadavg()},
            "input": str(a.input) if a.input else f"{a.n} synthetic records (benchmarks/ray_throughput.py)",
            "model": a.model, "batch_size": a.batch_size, "shard_size": a.shard_size,
            "ray_start_s": round(ray_start_s, 2), "runs": runs,
            "ratio_2w_over_1w": {"wall": round(r2["records_per_s"] / r1["records_per_s"], 2),
                                 "steady": round(r2["steady_records_per_s"] / r1["steady_records_per_s"], 2)
                                 if r1["steady_records_per_s"] and r2["steady_records_per_s"] else None},
            "note": "1 worker = 1 actor with num_cpus=1 and 1 onnxruntime thread; the local engine uses "
                    "min(4, cores) threads. The CPU may be shared with other work (see loadavg).",
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
