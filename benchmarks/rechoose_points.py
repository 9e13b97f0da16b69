"""Re-choose a trained model folder's operating points with some base-policy fields changed, into a copy:
what the operating-point search of ``routeguard train`` would pick if the policy (say, the re-read triage) had
been different, without retraining the heads. Dev is judged as at run time, through the embedding cache.

    python benchmarks/rechoose_points.py src/routeguard/models/routeguard runs/tri1/routeguard \
        --data guardzoo --set '{"reread_triage": "sentence", "reread_sentences_above": 0.1}'

Prints the default and strict points (thresholds per target, dev recall, dev FPR per style).
"""
from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from routeguard.data.build import read_split
from routeguard.guard import RouteGuard
from routeguard.training.embed_cache import CachedEncoder, EmbeddingCache
from routeguard.training.fitting import _select, prepare
from routeguard.training.operating_points import choose_all


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--data", type=Path, default=Path("guardzoo"))
    ap.add_argument("--set", default="{}", help="JSON object of Policy fields to change before the search")
    a = ap.parse_args()
    changes = json.loads(a.set)
    if a.out.exists():
        shutil.rmtree(a.out)
    shutil.copytree(a.model, a.out)
    spec = json.loads((a.model / "model.json").read_text())
    if spec.get("encoder", {}).get("folder"):           # the copy keeps reading the same encoder folder
        spec["encoder"]["folder"] = str((a.model / spec["encoder"]["folder"]).resolve())
        (a.out / "model.json").write_text(json.dumps(spec, indent=2))
    cfg = spec["meta"]["config"]
    cache = EmbeddingCache(RouteGuard.from_folder(a.out).encoder, a.data / ".cache")
    dv = prepare(_select(read_split(a.data, "dev"), cfg.get("ood_protocol", False), cfg.get("exclude", [])),
                 cache, cfg.get("max_chunks", 4))
    guard = RouteGuard.from_folder(a.out, encoder=CachedEncoder(cache))
    guard.policy = guard.policy.model_copy(update=changes)
    points = choose_all(guard, dv)
    guard.operating_points = {k: op.policy for k, op in points.items()}
    guard.policy = points["default"].policy
    guard.meta["operating_points"] = {k: op.summary() for k, op in points.items()}
    guard.meta["operating_points_rechosen_with"] = changes
    guard.save(a.out)
    keep = ("unsafe_threshold", "by_target", "dev_recall", "dev_fpr_by_style")
    print(json.dumps({k: {f: v for f, v in op.summary().items() if f in keep} for k, op in points.items()}, indent=1))


if __name__ == "__main__":
    main()
