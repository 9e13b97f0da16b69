"""MODEL_CARD.md next to a trained model: what it is, what it was trained on, how well, and its limits."""
from __future__ import annotations

import json
from pathlib import Path

from ..data.registry import get_source

LIMITS = [
    "English only: non-English GuardZoo records are evaluation-only and the encoder (all-MiniLM-L6-v2) is English.",
    "A 6-layer encoder with small trained heads: it reads meaning from one 384-d sentence embedding per 256-token "
    "window, so subtle intent, sarcasm and long multi-step jailbreaks are its weak spots.",
    "Calibration and thresholds are fit on GuardZoo dev data; on another distribution re-check the thresholds.",
    "Many sources carry weak (file-level or LLM-judged) labels; the GuardZoo audit found the weak 'offensive' "
    "classes mostly profanity, so they are excluded from training (see configs/default.yaml).",
    "Not measured on the public benchmarks kept back for independent evaluation; see benchmarks/ for what was measured.",
]


def write_model_card(folder: Path) -> Path:
    cfg = json.loads((folder / "model.json").read_text())
    meta = cfg["meta"]
    pol = cfg["policy"]
    noncommercial, sharealike = [], []
    for name in sorted(_sources(meta)):
        try:
            s = get_source(name)
        except KeyError:
            continue
        if s.non_commercial:
            noncommercial.append(f"`{name}` ({s.license})")
        elif "SA" in s.license.replace("-", " ").split() or "share-alike" in s.license.lower():
            sharealike.append(f"`{name}` ({s.license})")
    mc = meta.get("config") or {}
    enc = _encoder_text(cfg["encoder"], mc)
    out = str(mc.get("out", ""))
    repro = ("`routeguard train --config configs/default.yaml` (builds GuardZoo from ../shared/datasets first)"
             if out.rstrip("/").endswith("src/routeguard/models") else
             f"`routeguard train --config <yaml>` with the config recorded in `model.json` (`meta.config`, out `{out}`)")
    L = [f"# Model card: {meta.get('name')}", "",
         f"- Architecture: {'router + ' + str(len(cfg['experts']) - 1) + ' domain experts' if cfg.get('router') else 'monolithic head (no router)'}"
         f" + always-on binary expert; MLP heads over {enc} embeddings (onnxruntime, no torch).",
         f"- Experts: {', '.join(f'`{k}` ({len(v)} outputs)' for k, v in cfg['experts'].items())}",
         f"- Trained on: GuardZoo build `{meta.get('trained_on')}` (fingerprint `{meta.get('data_fingerprint')}`), "
         f"{meta.get('train_records')} training records ({meta.get('train_rows')} chunk rows), seed {meta.get('seed')}, "
         f"OOD protocol: {meta.get('ood_protocol')}; {meta.get('train_seconds')} s.",
         f"- Reproduce: {repro}.",
         "", "## Dev-set results (GuardZoo dev split; used to calibrate and choose thresholds)", "",
         f"- Binary F1 of the always-on expert at its F1-optimal threshold "
         f"{meta.get('dev_binary_f1_threshold', '(not recorded)')}: {meta.get('dev_binary_f1')}",
         f"- Binary F1 of the full decision (category gate too) at F1-optimal thresholds, before the operating "
         f"points below: {meta.get('dev_decision_f1')}",
         "", "| category | threshold | dev F1 |", "|---|---|---|"]
    for c, f1 in (meta.get("dev_category_f1") or {}).items():
        L.append(f"| {c} | {pol['thresholds'].get(c, pol['default_threshold'])} | {f1 if f1 is not None else '–'} |")
    points = meta.get("operating_points") or {}
    if points:
        L += ["", "## Operating points (chosen on dev for a false-positive budget per style)", "",
              "Each is the decision rule that catches the most unsafe dev records while the benign dev records of "
              "every style stay within the budget (`routeguard.load(..., operating_point=NAME)`; the policy above "
              "is `default`). The rule is chosen per judged target where dev holds enough of it (the global value "
              "first, then each target's own); `strict` also lets categories flag on their own (standalone "
              "scores in `model.json`). Dev records are judged as at run time (every window, and the sentence rows "
              "of texts re-read sentence by sentence). Dev false-positive rates per style at each point (test "
              "and held-out rates: benchmarks/results/proxies/proxies.md):", "",
              "| operating point | P(unsafe) threshold | category gate | budget (over-refusal) | dev recall | "
              "worst style FPR | within budget |", "|---|---|---|---|---|---|---|"]
        for name, op in points.items():
            fpr = op.get("dev_fpr_by_style") or {}
            worst = max(fpr.items(), key=lambda kv: kv[1]) if fpr else ("-", 0.0)
            b = op.get("budgets") or {}
            per = op.get("by_target") or {}
            th = f"{op['unsafe_threshold']}" + ("".join(f"; {t} {r['unsafe_threshold']}" for t, r in per.items()))
            gt = f"{op['category_gate']}" + ("".join(f"; {t} {r['category_gate']}" for t, r in per.items()))
            L.append(f"| `{name}` | {th} | {gt} | {b.get('*')} "
                     f"({b.get('over_refusal', b.get('*'))}) | {op['dev_recall']} | {worst[1]} ({worst[0]}) | "
                     f"{'yes' if op['feasible'] else 'NO'} |")
        styles = sorted({s for op in points.values() for s in (op.get("dev_fpr_by_style") or {})})
        if styles:
            L += ["", "| style (dev benign records) | " + " | ".join(points) + " |", "|---|" + "---|" * len(points)]
            for st in styles:
                n = next((op.get("dev_benign_by_style", {}).get(st) for op in points.values()), "")
                L.append(f"| {st} ({n}) | " + " | ".join(str(op.get("dev_fpr_by_style", {}).get(st, "–"))
                                                   for op in points.values()) + " |")
    for ex in meta.get("expansions", []):
        L += ["", f"Expansion expert `{ex['expert']}` ({', '.join(ex['categories'])}), added without retraining the "
              f"others: {ex['positives']} positive training records; dev F1 {ex['dev_f1']}; dev router recall "
              f"{ex['dev_route_recall']}."]
    head = folder / "trajectory_head.json"
    if head.is_file():
        h = json.loads(head.read_text())
        m = h.get("meta", {})
        L += ["", f"Agent trajectory head (`trajectory_head.json`, used by `AgentGuard.check`): monotone logistic regression over "
              f"{len(h['features'])} scores of the guard on a run's parts, fitted on {m.get('n')} GuardZoo dev "
              f"trajectories ({m.get('n_unsafe')} unsafe); threshold {h['threshold']} "
              f"(out-of-fold dev F1 {m.get('cv_f1_at_threshold')}). A small fit on a few agent benchmarks: results "
              "vary across fits (benchmarks/results/agent.md); check it on your own agents' runs."]
    L += ["", "Held-out test and out-of-domain results: `benchmarks/results/` (see the README).", "", "## Licences", "",
          "Trained on public datasets under their own terms (see the GuardZoo card). AgentHarm is evaluation-only and "
          "not trained on. Sources with non-commercial terms in the training data: "
          + (", ".join(noncommercial) if noncommercial else "none") + ". Commercial users should retrain without them "
          "(add them to `exclude` in the training config). Share-alike sources in the training data: "
          + (", ".join(sharealike) if sharealike else "none") + ". Labels follow `docs/label_policy.md`.",
          "", "## Limits", ""]
    L += [f"- {x}" for x in LIMITS]
    p = folder / "MODEL_CARD.md"
    p.write_text("\n".join(L) + "\n")
    return p


def _sources(meta: dict) -> list[str]:
    """Sources the model trained on: every registered one, less those the config excluded, the held-out
    proxies (``HELDOUT_SOURCES``, whole sources) and those whose licence forbids training."""
    from ..data.build import HELDOUT_SOURCES
    from ..data.registry import source_names

    excluded = set((meta.get("config") or {}).get("exclude") or []) | set(HELDOUT_SOURCES)
    return [s for s in source_names() if s not in excluded and get_source(s).train_allowed]


def _encoder_text(enc: dict, train_cfg: dict) -> str:
    """How the model card names the encoder the heads read: fine-tuned, an int8 copy, or the packaged one."""
    ft = train_cfg.get("finetune")
    if ft:
        return (f"fine-tuned `{enc['name']}` (all-MiniLM-L6-v2 trained multi-task on GuardZoo train: "
                f"{ft.get('max_records')} records, {ft.get('epochs')} epoch(s), {ft.get('max_length')} tokens; "
                f"{'int8 ' if ft.get('quantize') else ''}ONNX in `{enc.get('folder', 'encoder')}`)")
    if train_cfg.get("quantize_encoder"):
        return f"an int8 copy of frozen all-MiniLM-L6-v2 (`{enc['name']}`, ONNX in `{enc.get('folder')}`)"
    return f"frozen `{enc['name']}`"
