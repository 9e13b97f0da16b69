"""Latency, throughput, routing overhead and memory of a packaged guard on this machine.

    python benchmarks/speed.py [--model default] [--out benchmarks/results/speed.json]

All ratios are measured in one run. Texts are the project's own look-alike prompts (no external data);
the long-text figure joins them into texts of OpenAI-moderation length (~650 characters).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import time
from pathlib import Path

import numpy as np

import routeguard
from routeguard.data.sources.lookalikes import ASK, BENIGN, HARMFUL, QUESTIONS
from routeguard.features import encode_conversations
from routeguard.types import to_conversation


def texts(n: int) -> list[str]:
    pool = [a.format(o) for a in ASK for o in BENIGN + [x for v in HARMFUL.values() for x in v]] + QUESTIONS
    rng = np.random.default_rng(0)
    return [pool[i] for i in rng.integers(0, len(pool), n)]


def long_texts(n: int, mean_chars: int = 650) -> list[str]:
    """Texts of OpenAI-moderation length (lengths uniform in 0.6x..1.4x ``mean_chars``), each a run of
    the pool's prompts joined as sentences, so a harmful one may sit among benign ones."""
    pool = texts(4 * n)
    rng = np.random.default_rng(1)
    out, k = [], 0
    for _ in range(n):
        want, parts = rng.uniform(0.6, 1.4) * mean_chars, []
        while sum(len(x) + 1 for x in parts) < want:
            parts.append(pool[k % len(pool)].rstrip("?.!") + ".")
            k += 1
        out.append(" ".join(parts))
    return out


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="default")
    ap.add_argument("--single", type=int, default=300)
    ap.add_argument("--batch-total", type=int, default=4096)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--long-total", type=int, default=512, help="texts of ~650 characters, batched")
    ap.add_argument("--reread-triage", choices=["text", "sentence"], help="override the policy's reread_triage")
    ap.add_argument("--reread-bar", type=float, help="override the policy's reread_sentences_above")
    ap.add_argument("--out", default="benchmarks/results/speed.json")
    a = ap.parse_args()

    rss0 = rss_mb()
    t = time.perf_counter()
    guard = routeguard.load(a.model)
    load_s = time.perf_counter() - t
    changes = {k: v for k, v in (("reread_triage", a.reread_triage), ("reread_sentences_above", a.reread_bar))
               if v is not None}
    if changes:
        guard = guard.replace(policy=guard.policy.model_copy(update=changes))
    qs = texts(max(a.single, a.batch_total))
    for q in qs[:20]:
        guard.check(q)                                           # warm-up

    single = []
    for q in qs[:a.single]:
        t = time.perf_counter()
        guard.check(q)
        single.append((time.perf_counter() - t) * 1000)

    # The encoder pass vs routing + experts + policy, timed separately inside the same guard calls.
    batches = [qs[i:i + a.batch_size] for i in range(0, a.batch_total, a.batch_size)]
    enc_s = judge_s = 0.0
    t_all = time.perf_counter()
    for b in batches:
        t = time.perf_counter()
        enc = encode_conversations(guard.encoder, [to_conversation(q) for q in b])
        t1 = time.perf_counter()
        guard.judge(enc, guard.policy)
        enc_s += t1 - t
        judge_s += time.perf_counter() - t1
    full_s = time.perf_counter() - t_all

    # Long texts through the whole public path (chunking included), batched.
    longs = long_texts(a.long_total)
    guard.check_batch(longs[:a.batch_size])                      # warm-up
    t = time.perf_counter()
    for i in range(0, len(longs), a.batch_size):
        guard.check_batch(longs[i:i + a.batch_size])
    long_s = time.perf_counter() - t
    long_tokens = float(np.mean([guard.encoder.count_tokens(x) for x in longs])) \
        if hasattr(guard.encoder, "count_tokens") else None

    res = {
        "model": a.model,
        "reread": {"triage": guard.policy.reread_triage, "bar": guard.policy.reread_sentences_above},
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "load_seconds": round(load_s, 2),
        "single_p50_ms": round(statistics.median(single), 2),
        "single_p95_ms": round(float(np.percentile(single, 95)), 2),
        "batched_throughput_per_s": round(a.batch_total / full_s, 1),
        "batch_size": a.batch_size,
        "encoder_only_throughput_per_s": round(a.batch_total / enc_s, 1),
        "routing_overhead_ratio": round(judge_s / enc_s, 4),
        "long_throughput_per_s": round(len(longs) / long_s, 1),
        "long_mean_chars": round(float(np.mean([len(x) for x in longs])), 1),
        "long_mean_tokens": round(long_tokens, 1) if long_tokens is not None else None,
        "peak_rss_mb": round(rss_mb(), 1),
        "rss_before_load_mb": round(rss0, 1),
        "targets": {"single_p50_ms": "< 15", "batched_throughput_per_s": "> 200",
                    "routing_overhead_ratio": "< 0.25", "peak_rss_mb": "< 1024",
                    "long_throughput_per_s": "> 100"},
    }
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=2) + "\n")
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
