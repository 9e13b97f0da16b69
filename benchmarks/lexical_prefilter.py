"""Could a lexical first stage clear the obvious benign texts before the encoder (the long-text speed item)?

TF-IDF (word 1-2-grams) + logistic regression trained on GuardZoo train with the style/target balancing
weights, scored on each sentence and on the whole text (max, so a buried harmful sentence counts). For
each kept unsafe recall, the threshold is set on dev and the share of benign dev records it would clear
(never reaching the encoder) is reported, overall and per style.

    python benchmarks/lexical_prefilter.py [--data guardzoo] [--out benchmarks/results/lexical_prefilter.json]
"""
from __future__ import annotations

import argparse
import json
import re
import time
from collections import Counter
from pathlib import Path

import numpy as np
import yaml

from routeguard.data.build import read_split
from routeguard.errors import InputError
from routeguard.training.fitting import _select, cap_sources, style_weights, to_conv

SENTENCE = re.compile(r"(?<=[.!?\n])\s+")


def judged(data: Path, split: str, exclude: list[str]) -> tuple[list[str], np.ndarray, list[str], list]:
    recs = _select(read_split(data, split), False, exclude)
    if split == "train":
        recs = cap_sources(recs, 4000, 13)
    out, y, style, kept = [], [], [], []
    for r in recs:
        if r.target == "trajectory":
            continue
        try:
            focus, _ = to_conv(r).focus_and_context()
        except (InputError, ValueError):
            continue
        out.append(focus)
        y.append(r.label == "unsafe")
        style.append(r.style)
        kept.append(r)
    return out, np.array(y), style, kept


def main() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="guardzoo")
    ap.add_argument("--config", default="configs/default.yaml", help="training config whose `exclude` applies")
    ap.add_argument("--out", default="benchmarks/results/lexical_prefilter.json")
    a = ap.parse_args()
    exclude = (yaml.safe_load(Path(a.config).read_text()) or {}).get("exclude") or []
    tr, ytr, _, rtr = judged(Path(a.data), "train", exclude)
    dv, ydv, sdv, _ = judged(Path(a.data), "dev", exclude)
    t = time.perf_counter()
    vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_features=200_000, sublinear_tf=True)
    clf = LogisticRegression(C=4.0, max_iter=2000).fit(vec.fit_transform(tr), ytr, sample_weight=style_weights(rtr))
    fit_s = time.perf_counter() - t

    t = time.perf_counter()
    score = clf.predict_proba(vec.transform(dv))[:, 1]
    sents, owner = [], []
    for i, x in enumerate(dv):
        for s in SENTENCE.split(x):
            if s.strip():
                sents.append(s)
                owner.append(i)
    np.maximum.at(score, np.array(owner), clf.predict_proba(vec.transform(sents))[:, 1])
    score_ms = (time.perf_counter() - t) * 1000 / len(dv)

    benign_style = np.array(sdv)[~ydv]
    n_style = Counter(benign_style)
    points = []
    for keep in (0.99, 0.995, 0.999):
        tau = float(np.quantile(score[ydv], 1 - keep))
        cleared = score[~ydv] < tau
        by_style = Counter(s for s, c in zip(benign_style, cleared) if c)
        points.append({"unsafe_recall_kept": keep, "threshold": round(tau, 4),
                       "benign_cleared": round(float(cleared.mean()), 4),
                       "benign_cleared_by_style": {s: round(by_style[s] / n, 3) for s, n in sorted(n_style.items())},
                       "max_speedup": round(1 / max(1e-9, 1 - float(cleared.mean())), 2)})
    res = {"train_records": len(tr), "dev_records": len(dv), "fit_seconds": round(fit_s, 1),
           "score_ms_per_text": round(score_ms, 3), "points": points}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=2) + "\n")
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
