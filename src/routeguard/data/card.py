"""The GuardZoo dataset card: counts, licences, crosswalks, caveats, dedup/leakage and the audit."""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from importlib import resources
from pathlib import Path
from ..taxonomy import CATEGORIES, EXPANSION_INFO
from .registry import get_source
from .report import BuildReport

AUDIT_FILE = "audit.json"


def load_audit() -> dict:
    p = resources.files("routeguard.data") / AUDIT_FILE
    return json.loads(p.read_text()) if p.is_file() else {}


def stats(report: BuildReport) -> dict:
    recs = report.records
    cat_split: dict[str, Counter] = defaultdict(Counter)
    for r in recs:
        if r.label == "unsafe":
            for c in r.categories or ["(unknown)"]:
                cat_split[c][r.split] += 1
    rows: Counter = Counter()
    for r in recs:
        for c in (r.categories or ["-"]):
            rows[(r.source, c, r.target, r.label, r.split)] += 1
    train = [r for r in recs if r.split == "train"]
    return {
        "total": len(recs),
        "by_split": dict(Counter(r.split for r in recs)),
        "by_split_label": {f"{s}/{lab}": n for (s, lab), n in Counter((r.split, r.label) for r in recs).items()},
        "by_target_label": {f"{t}/{lab}": n for (t, lab), n in Counter((r.target, r.label) for r in recs).items()},
        "by_source_label": {f"{s}/{lab}": n for (s, lab), n in Counter((r.source, r.label) for r in recs).items()},
        "by_language": dict(Counter(r.language for r in recs)),
        "by_style_label": {f"{st}/{lab}": n for (st, lab), n in sorted(Counter((r.style, r.label) for r in recs).items())},
        "unsafe_by_category_split": {c: dict(v) for c, v in sorted(cat_split.items())},
        "train_safe": sum(r.label == "safe" for r in train),
        "train_unsafe_by_category": {c: cat_split.get(c, Counter())["train"] for c in CATEGORIES + tuple(EXPANSION_INFO)},
        "ood_source_records": sum(r.ood_source for r in recs),
        "ood_category_records": sum(r.ood_category for r in recs),
        "cells": [dict(zip(("source", "category", "target", "label", "split"), k), n=n) for k, n in sorted(rows.items())],
        "loaded_per_source": dict(report.loaded),
        "broken_sources": report.broken,
        "exact_duplicates_dropped": report.exact_dups,
        "near_duplicates_dropped": report.near_dups,
        "exact_label_conflicts": report.label_conflicts,
        "leakage_exact_texts_across_splits": report.leakage_exact,
        "leakage_near_groups_across_splits": report.leakage_near,
        "build_seconds": round(report.seconds, 1),
        "label_fixes": dict(getattr(report, "label_fixes", None) or {}),
    }


def write_card(report: BuildReport, out: Path) -> None:
    st = stats(report)
    (out / "card.json").write_text(json.dumps(st, indent=1))
    L: list[str] = ["# GuardZoo dataset card", ""]
    L.append(f"{st['total']} records after deduplication, built in {st['build_seconds']} s. "
             "One schema (OpenAI chat messages), one 15-category taxonomy (+ `prompt_attack` expansion).")
    L += ["", "## Splits", "", "| split | safe | unsafe |", "|---|---|---|"]
    for s in ("train", "dev", "test", "heldout", "multilingual", "eval_only"):
        L.append(f"| {s} | {st['by_split_label'].get(f'{s}/safe', 0)} | {st['by_split_label'].get(f'{s}/unsafe', 0)} |")
    L += ["", "`heldout`: whole sources kept out of every model's training and calibration (one benign source "
          "per style, an over-refusal set, a harmful-prompt source), so false positives and recall are measured "
          "out of domain (`HELDOUT_SOURCES` in `routeguard/data/build.py`). "
          "`multilingual`: non-English records (evaluation only). `eval_only`: sources whose licence "
          "forbids training (AgentHarm). Out-of-domain protocol: records of held-out sources "
          f"({st['ood_source_records']} records) and of held-out categories `child_abuse`, "
          f"`terrorism_organized_crime` ({st['ood_category_records']} records) are flagged `ood_source` / "
          "`ood_category`; OOD models train without them.", ""]
    L += ["## Styles", "", "A style must not predict the label: every style the unsafe side has also needs benign text "
          "(training weights balance them, see `routeguard.training.fitting.style_weights`).", "",
          "| style | safe | unsafe |", "|---|---|---|"]
    by_style = st["by_style_label"]
    for sty in sorted({k.split("/")[0] for k in by_style}):
        L.append(f"| {sty} | {by_style.get(f'{sty}/safe', 0)} | {by_style.get(f'{sty}/unsafe', 0)} |")
    L += [""]
    L += ["## Unsafe records per category and split", "", "| category | train | dev | test | multilingual | eval_only |",
          "|---|---|---|---|---|---|"]
    for c, v in st["unsafe_by_category_split"].items():
        L.append(f"| {c} | " + " | ".join(str(v.get(s, 0)) for s in ("train", "dev", "test", "multilingual", "eval_only")) + " |")
    L += ["", f"Safe training records: {st['train_safe']}.", "", "## Targets", "", "| target/label | records |", "|---|---|"]
    L += [f"| {k} | {n} |" for k, n in sorted(st["by_target_label"].items())]
    L += ["", "## Deduplication and leakage", "",
          f"- exact duplicates dropped (normalised text): {st['exact_duplicates_dropped']}",
          f"- near duplicates dropped (MinHash Jaccard >= 0.8, same label): {st['near_duplicates_dropped']}",
          f"- exact duplicates with conflicting labels (kept as unsafe): {st['exact_label_conflicts']}",
          f"- leakage check: texts in more than one split: {st['leakage_exact_texts_across_splits']}; "
          f"near-duplicate groups spanning splits: {st['leakage_near_groups_across_splits']}",
          "- near-duplicates with different labels (contrastive pairs) are kept, in the same split.", ""]
    fixes = getattr(report, "label_fixes", None) or {}
    if fixes:
        from .label_fixes import rule_table

        L += ["## Label fixes", "", "Rules from the label audit (`docs/label_policy.md`, `label_fixes.py`), "
              "applied before deduplication; counts are records changed.", "",
              "| rule | source | subsets | action | selected by | records | reason |", "|---|---|---|---|---|---|---|"]
        L += [f"| `{r['name']}` | `{r['source']}` | {', '.join(r['subsets']) or 'all'} | {r['action']} | "
              f"{r['selection']} | {fixes.get(r['name'], 0)} | {r['reason']} |" for r in rule_table(fixes)]
        L.append("")
    if st["broken_sources"]:
        L += ["## Sources skipped as broken", ""] + [f"- `{k}`: {v}" for k, v in st["broken_sources"].items()] + [""]
    audit = load_audit()
    if audit.get("items"):
        ids = {r.id for r in report.records}
        items = [i for i in audit["items"] if i["id"] in ids]
        agree = sum(i["agree"] for i in items)
        L += ["## Audit", "", f"{len(items)} randomly sampled records (seed {audit.get('seed')}) were read by "
              f"{audit.get('by', 'a maintainer')}: the label and mapped categories were judged right for "
              f"{agree} of {len(items)} ({agree / max(1, len(items)):.0%}). Disagreements:", ""]
        L += [f"- `{i['id']}`: {i.get('note', '')}" for i in items if not i["agree"]] + [""]
    L += ["## Sources", "", "| source | records | safe | unsafe | licence | weak labels | train allowed | upstream |",
          "|---|---|---|---|---|---|---|---|"]
    for name in sorted(st["loaded_per_source"]):
        s = get_source(name)
        L.append(f"| `{name}` | {st['loaded_per_source'][name]} | {st['by_source_label'].get(f'{name}/safe', 0)} | "
                 f"{st['by_source_label'].get(f'{name}/unsafe', 0)} | {s.license}{' (non-commercial)' if s.non_commercial else ''} | "
                 f"{'yes' if s.weak_labels else 'no'} | {'yes' if s.train_allowed else 'no (evaluation only)'} | "
                 f"{s.upstream.repo}{'@' + s.upstream.commit[:10] if s.upstream.commit else ''} |")
    L += ["", "## Crosswalks and caveats", ""]
    for name in sorted(st["loaded_per_source"]):
        s = get_source(name)
        L += [f"### `{name}`", "", s.description or "", ""]
        if s.crosswalk:
            L += ["| original label | categories | note |", "|---|---|---|"]
            L += [f"| {m.original} | {', '.join(m.categories) or '(none: binary only)'} | {m.note} |" for m in s.crosswalk]
            L.append("")
        L += [f"- caveat: {c}" for c in s.caveats]
        L.append("")
    (out / "CARD.md").write_text("\n".join(L))
