"""A harmful sentence buried in a benign paragraph that fits one encoder window: how often the guard
catches it, what the sentence re-read costs, and what it adds to false positives.

    python benchmarks/buried_harm.py [--data guardzoo] [--model default] [--out benchmarks/results/buried_harm.json]

Benign paragraphs: single-message benign prompts of 300-1,000 characters from GuardZoo's test and held-out
splits (news, email, forum, dialogue, Q&A, reviews, tweets, medical, web). Harmful sentences: unsafe
single-message prompts of 20-200 characters from the same splits that the guard flags on their own; each is
inserted at a random sentence boundary of a paragraph. Compared, in one run: no re-read
(``reread_sentences_above=1``), the policy's bar, a re-read of every multi-sentence text (0), and the
per-sentence triage (``reread_triage="sentence"``: each sentence's span-pooled P(unsafe) from the window's
own pass decides whether it is re-read alone) at several bars (``--triage-bars``).
"""
from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import numpy as np

import routeguard
from routeguard.data.build import read_split
from routeguard.encoders import split_sentences

STYLES = ("news", "email", "forum", "dialogue", "qa", "review", "tweet", "medical", "web")


def single_text(r) -> str | None:
    m = r.messages
    return m[0]["content"] if len(m) == 1 and isinstance(m[0].get("content"), str) else None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="guardzoo")
    ap.add_argument("--model", default="default")
    ap.add_argument("--benign", type=int, default=600)
    ap.add_argument("--harmful", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--triage-bars", default="0.02,0.05,0.1,0.2",
                    help="bars of the per-sentence triage runs (comma-separated; empty: none)")
    ap.add_argument("--out", default="benchmarks/results/buried_harm.json")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    recs = read_split(Path(a.data), "heldout") + read_split(Path(a.data), "test")
    benign = [t for r in recs if r.label == "safe" and r.target == "prompt" and r.style in STYLES
              and (t := single_text(r)) and 300 <= len(t) <= 1000 and len(split_sentences(t)) >= 2]
    harmful = [t for r in recs if r.label == "unsafe" and r.target == "prompt"
               and (t := single_text(r)) and 20 <= len(t) <= 200]
    rng.shuffle(benign)
    rng.shuffle(harmful)
    benign, harmful = benign[:a.benign], harmful[:a.harmful]
    guard = routeguard.load(a.model)
    alone = [t for t, v in zip(harmful, guard.check_batch(harmful)) if v.flagged]
    buried = []
    for k, h in enumerate(alone):
        b = benign[k % len(benign)]
        cut = rng.choice([0] + _ends(b))
        buried.append(b[:cut] + " " + h.strip() + " " + b[cut:])
    res = {"model": a.model, "data": a.data, "benign_paragraphs": len(benign), "harmful_tried": len(harmful),
           "harmful_flagged_alone": len(alone), "policy_bar": guard.policy.reread_sentences_above, "runs": {}}
    runs = [("no re-read", 1.0, "text"), ("policy bar", guard.policy.reread_sentences_above, "text"),
            ("re-read all", 0.0, "text")]
    runs += [(f"sentence triage {b}", float(b), "sentence") for b in a.triage_bars.split(",") if b.strip()]
    for name, bar, triage in runs:
        pol = guard.policy.model_copy(update={"reread_sentences_above": bar, "reread_triage": triage})
        t0 = time.perf_counter()
        vb = guard.check_batch(benign, policy=pol)
        secs = time.perf_counter() - t0
        vh = guard.check_batch(buried, policy=pol)
        res["runs"][name] = {"bar": bar, "triage": triage, "buried_recall": round(float(np.mean([v.flagged for v in vh])), 4),
                             "benign_fpr": round(float(np.mean([v.flagged for v in vb])), 4),
                             "benign_reread_share": round(float(np.mean([v.chunks > 1 for v in vb])), 4),
                             "benign_texts_per_s": round(len(benign) / secs, 1)}
        print(name, res["runs"][name], flush=True)
    Path(a.out).write_text(json.dumps(res, indent=1) + "\n")


def _ends(text: str) -> list[int]:
    """Character offsets just after each sentence of ``text``."""
    out, pos = [], 0
    for s in split_sentences(text):
        i = text.find(s, pos)
        if i >= 0:
            pos = i + len(s)
            out.append(pos)
    return out


if __name__ == "__main__":
    main()
