"""Reports from a results dict: ``results.json``, ``report.md`` and a self-contained ``report.html``.

The HTML report embeds its plots as base64 PNG (matplotlib, Agg backend) and its CSS inline: it opens
offline, from a mail attachment or a CI artefact, and references no external URL.
"""
from __future__ import annotations

import base64
import html
import io
import json
import math
from pathlib import Path
from typing import Any, Iterable

from ..taxonomy import CATEGORIES

__all__ = ["render_html", "render_markdown", "write_reports"]

# Okabe-Ito + extras: distinguishable, colour-blind safe.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
           "#999999", "#882255"]

# (label, getter path, higher is better?, kind)
SUMMARY_COLS: list[tuple[str, tuple[str, ...], bool | None, str]] = [
    ("F1", ("binary", "f1"), True, "num"),
    ("Precision", ("binary", "precision"), True, "num"),
    ("Recall", ("binary", "recall"), True, "num"),
    ("FPR", ("binary", "fpr"), False, "num"),
    ("AUPRC", ("binary", "auprc"), True, "num"),
    ("Macro-F1 (15)", ("categories", "macro_f1"), True, "num"),
    ("Micro-F1 (15)", ("categories", "micro_f1"), True, "num"),
    ("Router recall", ("routing", "recall"), True, "num"),
    ("p50 ms", ("latency", "p50_ms"), False, "ms"),
    ("Errors", ("n_errors",), False, "int"),
]

DETAIL_ROWS: list[tuple[str, tuple[str, ...], str]] = [
    ("records", ("n",), "int"), ("unsafe records", ("binary", "n_unsafe"), "int"),
    ("flagged", ("binary", "n_flagged"), "int"), ("errors (counted as flagged)", ("n_errors",), "int"),
    ("precision", ("binary", "precision"), "num"), ("recall", ("binary", "recall"), "num"),
    ("F1", ("binary", "f1"), "num"), ("false-positive rate", ("binary", "fpr"), "num"),
    ("accuracy", ("binary", "accuracy"), "num"), ("AUPRC (average precision)", ("binary", "auprc"), "num"),
    ("TP / FP / FN / TN", ("_confusion",), "text"),
    ("category records (known categories)", ("categories", "n"), "int"),
    ("macro-F1 over categories with support", ("categories", "macro_f1"), "num"),
    ("micro precision", ("categories", "micro_precision"), "num"),
    ("micro recall", ("categories", "micro_recall"), "num"),
    ("micro-F1", ("categories", "micro_f1"), "num"),
    ("Hamming loss", ("categories", "hamming_loss"), "num"),
    ("exact match", ("categories", "exact_match"), "num"),
    ("routing accuracy (exact domain set)", ("routing", "accuracy"), "num"),
    ("router recall (every true domain reached)", ("routing", "recall"), "num"),
    ("domains consulted per record", ("routing", "mean_domains"), "num2"),
    ("domains consulted per safe record", ("routing", "mean_domains_safe"), "num2"),
    ("latency mean ms / record", ("latency", "mean_ms"), "ms"),
    ("latency p50 ms / record", ("latency", "p50_ms"), "ms"),
    ("latency p95 ms / record", ("latency", "p95_ms"), "ms"),
    ("throughput records / s", ("throughput_rps", ), "rate"),
]

NOTES = [
    "Binary metrics use each guard's own decision (its `flagged`); AUPRC is the average precision of "
    "its P(unsafe) and is omitted for guards that give no score or sets holding a single class.",
    "A record a guard could not judge (exception, HTTP failure, malformed input) counts as **flagged** "
    "with P(unsafe) = 1: errors are never counted as safe. Their number is in the Errors column.",
    "Category metrics cover records with known categories: safe records and unsafe records carrying "
    "at least one of the 15 taxonomy categories. Macro-F1 averages the categories with at least one "
    "true instance there; Hamming loss and exact match are over the 15 labels.",
    "Routing: a record's true domains are the expert domains of its categories (safe: none). Router "
    "recall = share of unsafe records with categories whose route reached every true domain; routing "
    "accuracy = share whose routed domain set equals the true set exactly (safe records routed nowhere).",
    "Peers judge the text of the judged turn (the rendered transcript for conversation/trajectory "
    "targets). They predict no taxonomy categories, so category metrics are not reported for them.",
    "Latency is wall time per record: in-process guards report their batch's time divided by its size "
    "(batch size in Settings; `--batch-size 1` measures single-request latency); HTTP guards report "
    "each request's round trip (8 requests in flight), so the two are not directly comparable.",
    "The `ood` set (records of held-out sources or categories across train/dev/test) is out-of-domain "
    "only for a model trained with the OOD protocol; a model trained on everything has seen them.",
    "A ratio with a zero denominator is shown as –.",
]


# --- small helpers ---------------------------------------------------------------------------------

def _get(d: Any, path: Iterable[str]) -> Any:
    for k in path:
        if not isinstance(d, dict):
            return None
        if k == "_confusion":
            b = d.get("binary") or {}
            return f"{b.get('tp')} / {b.get('fp')} / {b.get('fn')} / {b.get('tn')}"
        d = d.get(k)
    return d


def _fmt(v: Any, kind: str = "num") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if kind == "int":
        return f"{int(v):,}"
    if kind == "ms":
        return f"{v:.2f}" if v < 10 else f"{v:.1f}"
    if kind == "rate":
        return f"{v:,.0f}" if v >= 100 else f"{v:.1f}"
    if kind == "num2":
        return f"{v:.2f}"
    if kind == "text":
        return str(v)
    return f"{v:.3f}"


def _guards(results: dict[str, Any]) -> list[str]:
    return list(results.get("results", {}))


def _datasets(results: dict[str, Any]) -> list[str]:
    return list(results.get("datasets", {}))


def _colors(results: dict[str, Any]) -> dict[str, str]:
    return {g: PALETTE[i % len(PALETTE)] for i, g in enumerate(_guards(results))}


def _m(results: dict[str, Any], guard: str, ds: str) -> dict[str, Any] | None:
    return results.get("results", {}).get(guard, {}).get(ds)


def _best(values: list[Any], higher: bool | None) -> set[int]:
    nums = [(i, v) for i, v in enumerate(values) if isinstance(v, (int, float)) and v is not None]
    if higher is None or len(nums) < 2:
        return set()
    target = max(v for _, v in nums) if higher else min(v for _, v in nums)
    if all(v == target for _, v in nums):
        return set()
    return {i for i, v in nums if v == target}


# --- plots -----------------------------------------------------------------------------------------

def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update({
        "font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9, "axes.spines.top": False,
        "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.25, "legend.frameon": False,
        "figure.dpi": 110, "savefig.bbox": "tight", "svg.hashsalt": "routeguard",
    })
    return plt


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def plot_pr(results: dict[str, Any], ds: str) -> str | None:
    """Precision-recall curves of every scored guard on one dataset; dots mark each guard's decision."""
    d = results.get("datasets", {}).get(ds, {})
    if not 0 < d.get("n_unsafe", 0) < d.get("n", 0):
        return None                      # one class only: precision-recall is undefined
    plt = _plt()
    colors = _colors(results)
    fig, ax = plt.subplots(figsize=(5.6, 4.0))
    drawn = 0
    base = None
    styles = ["-", "--", "-.", ":"]
    for k, g in enumerate(_guards(results)):
        m = _m(results, g, ds)
        if not m:
            continue
        b = m["binary"]
        if base is None and b["n"]:
            base = b["n_unsafe"] / b["n"]
        curve = b.get("pr_curve")
        if curve:
            ax.plot(curve["recall"], curve["precision"], color=colors[g], lw=1.8, drawstyle="steps-post",
                    ls=styles[k % len(styles)], alpha=0.9,
                    label=f"{g}  (AP {_fmt(b['auprc'])})")
            drawn += 1
        if b.get("precision") is not None and b.get("recall") is not None:
            ax.scatter([b["recall"]], [b["precision"]], color=colors[g], s=46, zorder=5, edgecolor="white",
                       linewidth=1.2, label=None if curve else f"{g}  (decision only)")
            drawn += 1
    if not drawn:
        plt.close(fig)
        return None
    if base is not None:
        ax.axhline(base, color="#888", lw=0.8, ls=":", label=f"chance ({base:.2f})")
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(0, 1.03)
    ax.set_xlabel("recall (unsafe)")
    ax.set_ylabel("precision")
    ax.set_title(f"Precision–recall on {ds}  (● = guard's own decision)")
    ax.legend(loc="lower left", fontsize=8)
    return _png(fig)


def plot_categories(results: dict[str, Any], ds: str) -> str | None:
    """Per-category F1 bars (guards with categories side by side) on one dataset."""
    plt = _plt()
    import numpy as np

    colors = _colors(results)
    gs = [g for g in _guards(results) if (_m(results, g, ds) or {}).get("categories")]
    if not gs:
        return None
    cats = [c for c in CATEGORIES
            if any(_m(results, g, ds)["categories"]["per_category"][c]["support"] for g in gs)]  # type: ignore[index]
    if not cats:
        return None
    fig, ax = plt.subplots(figsize=(6.0, 0.36 * len(cats) * max(1, len(gs)) ** 0.5 + 1.3))
    h = 0.8 / len(gs)
    y = np.arange(len(cats))
    for k, g in enumerate(gs):
        per = _m(results, g, ds)["categories"]["per_category"]  # type: ignore[index]
        vals = [per[c]["f1"] or 0.0 for c in cats]
        pos = y + (k - (len(gs) - 1) / 2) * h
        ax.barh(pos, vals, height=h * 0.92, color=colors[g], label=g)
        for yy, v in zip(pos, vals):
            ax.text(v + 0.01, yy, f"{v:.2f}", va="center", fontsize=7, color="#444")
    sup = _m(results, gs[0], ds)["categories"]["per_category"]  # type: ignore[index]
    ax.set_yticks(y, [f"{c.replace('_', ' ')}  (n={sup[c]['support']})" for c in cats])
    ax.invert_yaxis()
    ax.set_xlim(0, 1.08)
    ax.set_xlabel("F1")
    ax.set_title(f"Per-category F1 on {ds} (categories with support)")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(axis="y", alpha=0)
    return _png(fig)


def plot_confusions(results: dict[str, Any], ds: str) -> str | None:
    """Binary confusion matrices of every guard on one dataset, side by side."""
    plt = _plt()
    import numpy as np

    gs = [g for g in _guards(results) if _m(results, g, ds)]
    if not gs:
        return None
    cols = min(len(gs), 5)
    rows = math.ceil(len(gs) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.3 * cols, 2.3 * rows), squeeze=False)
    for ax in axes.flat:
        ax.set_visible(False)
    for ax, g in zip(axes.flat, gs):
        ax.set_visible(True)
        c = np.array(_m(results, g, ds)["confusion"]["counts"], float)  # type: ignore[index]
        norm = c / np.maximum(c.sum(1, keepdims=True), 1)
        ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
        for i in range(2):
            for j in range(2):
                ax.text(j, i, f"{int(c[i, j])}\n{norm[i, j]:.0%}", ha="center", va="center", fontsize=8,
                        color="white" if norm[i, j] > 0.55 else "#222")
        ax.set_xticks([0, 1], ["safe", "flagged"])
        ax.set_yticks([0, 1], ["safe", "unsafe"])
        ax.set_xlabel("guard said", fontsize=8)
        ax.set_ylabel("label", fontsize=8)
        ax.set_title(g, fontsize=9)
        ax.grid(False)
    fig.suptitle(f"Confusion matrices on {ds} (row-normalised)", fontsize=10)
    fig.tight_layout()
    return _png(fig)


def plot_routing(results: dict[str, Any], guard: str, ds: str) -> str | None:
    """True domain x routed domain, row-normalised, counts annotated."""
    m = _m(results, guard, ds)
    if not m or not m.get("routing"):
        return None
    plt = _plt()
    import numpy as np

    mat = m["routing"]["matrix"]
    c = np.array(mat["counts"], float)
    tot = np.array(mat.get("row_records") or c.sum(1), float)
    keep = tot > 0
    if not keep.any():
        return None
    rows = [f"{r} (n={int(t)})" for r, t, k in zip(mat["rows"], tot, keep) if k]
    c, tot = c[keep], tot[keep]
    norm = c / tot[:, None]
    fig, ax = plt.subplots(figsize=(0.75 * len(mat["cols"]) + 1.8, 0.5 * len(rows) + 1.3))
    ax.imshow(norm, cmap="Purples", vmin=0, vmax=1, aspect="auto")
    for i in range(c.shape[0]):
        for j in range(c.shape[1]):
            if c[i, j]:
                ax.text(j, i, f"{int(c[i, j])}\n{norm[i, j]:.0%}", ha="center", va="center", fontsize=7.5,
                        color="white" if norm[i, j] > 0.55 else "#222")
    ax.set_xticks(range(len(mat["cols"])), mat["cols"], rotation=30, ha="right")
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlabel("expert consulted (a record may consult several)")
    ax.set_ylabel("true domain")
    ax.set_title(f"{guard} routing on {ds}: share of each row's records")
    ax.grid(False)
    return _png(fig)


# --- Markdown --------------------------------------------------------------------------------------

def _routed_domains(results: dict[str, Any], routed: list[tuple[str, str]]) -> list[str]:
    from ..taxonomy import ALL_DOMAINS

    seen = {d for g, ds in routed for d in _m(results, g, ds)["routing"]["per_domain_recall"]}  # type: ignore[index]
    return [d for d in ALL_DOMAINS if d in seen]


def _md_table(head: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" if i == 0 else "---:" for i in range(len(head))) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def _summary_rows(results: dict[str, Any], ds: str) -> tuple[list[str], list[list[Any]]]:
    gs = [g for g in _guards(results) if _m(results, g, ds)]
    return gs, [[_get(_m(results, g, ds), path) for (_, path, _, _) in SUMMARY_COLS] for g in gs]


def _breakdown_keys(results: dict[str, Any], ds: str, field: str) -> list[str]:
    keys: dict[str, int] = {}
    for g in _guards(results):
        for k, b in ((_m(results, g, ds) or {}).get(field) or {}).items():
            keys[k] = b["n"]
    return sorted(keys, key=lambda k: (-keys[k], k))


def render_markdown(results: dict[str, Any]) -> str:
    gs_all = _guards(results)
    lines = ["# RouteGuard evaluation report", "",
             f"Created {results.get('created', '')} · routeguard {results.get('routeguard_version', '')} · "
             f"guards: {', '.join(gs_all)}", ""]
    lines += ["## Datasets", "", _md_table(
        ["dataset", "records", "unsafe", "sources", "languages"],
        [[d, _fmt(v["n"], "int"), _fmt(v["n_unsafe"], "int"), str(len(v["sources"])),
          ", ".join(list(v["languages"])[:6])] for d, v in results.get("datasets", {}).items()]), ""]
    lines += ["## Summary", ""]
    for ds in _datasets(results):
        gs, rows = _summary_rows(results, ds)
        marks = [_best([r[j] for r in rows], SUMMARY_COLS[j][2]) for j in range(len(SUMMARY_COLS))]
        body = [[g] + [("**" + _fmt(v, SUMMARY_COLS[j][3]) + "**") if i in marks[j] else _fmt(v, SUMMARY_COLS[j][3])
                       for j, v in enumerate(r)] for i, (g, r) in enumerate(zip(gs, rows))]
        lines += [f"### {ds}", "", _md_table(["guard"] + [c[0] for c in SUMMARY_COLS], body), ""]
    lines += ["## Per-category F1", ""]
    for ds in _datasets(results):
        gs = [g for g in gs_all if (_m(results, g, ds) or {}).get("categories")]
        if not gs:
            continue
        per = {g: _m(results, g, ds)["categories"]["per_category"] for g in gs}  # type: ignore[index]
        rows = [[c, str(per[gs[0]][c]["support"])] + [_fmt(per[g][c]["f1"]) for g in gs] for c in CATEGORIES]
        lines += [f"### {ds}", "", _md_table(["category", "support"] + gs, rows), ""]
    routed = [(g, ds) for ds in _datasets(results) for g in gs_all if (_m(results, g, ds) or {}).get("routing")]
    if routed:
        lines += ["## Routing", ""]
        doms = _routed_domains(results, routed)
        rows = []
        for g, ds in routed:
            r = _m(results, g, ds)["routing"]  # type: ignore[index]
            rows.append([f"{g} / {ds}", _fmt(r["accuracy"]), _fmt(r["recall"]), _fmt(r["mean_domains"], "num2")]
                        + [_fmt(r["per_domain_recall"].get(d)) for d in doms])
        lines += [_md_table(["guard / dataset", "accuracy", "router recall", "domains / record"]
                            + [f"recall {d}" for d in doms], rows), ""]
    for field, title in (("by_source", "Per source"), ("by_language", "Per language"), ("by_target", "Per target")):
        lines += [f"## {title} (recall on unsafe / FPR on safe)", ""]
        for ds in _datasets(results):
            gs = [g for g in gs_all if _m(results, g, ds)]
            keys = _breakdown_keys(results, ds, field)
            rows = []
            for k in keys:
                b0 = next(_m(results, g, ds)[field][k] for g in gs if k in _m(results, g, ds)[field])  # type: ignore[index]
                row = [k, _fmt(b0["n"], "int"), _fmt(b0["n_unsafe"], "int")]
                for g in gs:
                    b = _m(results, g, ds)[field].get(k)  # type: ignore[index]
                    row.append(f"{_fmt(b and b['recall'])} / {_fmt(b and b['fpr'])}")
                rows.append(row)
            lines += [f"### {ds}", "", _md_table([field[3:], "n", "unsafe"] + gs, rows), ""]
    lines += ["## All metrics", ""]
    for ds in _datasets(results):
        gs = [g for g in gs_all if _m(results, g, ds)]
        rows = [[label] + [_fmt(_get(_m(results, g, ds), path), kind) for g in gs] for label, path, kind in DETAIL_ROWS]
        lines += [f"### {ds}", "", _md_table(["metric"] + gs, rows), ""]
    errs = [(g, ds, e) for ds in _datasets(results) for g in gs_all
            for e in (_m(results, g, ds) or {}).get("error_examples", [])]
    if errs:
        lines += ["## Errors (counted as flagged)", ""]
        lines += [f"- **{g}** on {ds}: {e['count']} × `{e['error'][:160]}`" for g, ds, e in errs]
        lines += [""]
    lines += ["## How to read this", ""] + [f"- {n}" for n in NOTES] + [""]
    lines += ["## Guards", "", _md_table(
        ["guard", "kind", "model / package / endpoint", "categories predicted", "router"],
        [[g, str(info.get("kind", "")), _origin(info), str(len(info.get("categories") or [])),
          "yes" if info.get("routed") else "no"] for g, info in results.get("guards", {}).items()]), ""]
    lines += ["## Settings", "", f"`{json.dumps(results.get('settings', {}), ensure_ascii=False)}` · "
              f"machine `{json.dumps(results.get('machine', {}), ensure_ascii=False)}`", ""]
    return "\n".join(lines)


# --- HTML ------------------------------------------------------------------------------------------

CSS = """
:root{--ink:#1d2433;--muted:#5b6478;--line:#e4e7ee;--bg:#f6f7fb;--card:#fff;--accent:#3b5bdb;
--good:#2b8a3e;--bad:#c92a2a}
*{box-sizing:border-box}
body{margin:0;font:14px/1.5 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
color:var(--ink);background:var(--bg)}
header{background:linear-gradient(120deg,#1f2a44,#3b5bdb);color:#fff;padding:28px 40px 22px}
header h1{margin:0 0 6px;font-size:24px;font-weight:650;letter-spacing:.2px}
header .meta{opacity:.85;font-size:13px}
nav{position:sticky;top:0;z-index:5;background:#fff;border-bottom:1px solid var(--line);padding:8px 40px;
display:flex;gap:18px;flex-wrap:wrap;font-size:13px}
nav a{color:var(--muted);text-decoration:none;font-weight:500}nav a:hover{color:var(--accent)}
main{max-width:1280px;margin:0 auto;padding:18px 40px 60px}
section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:18px 22px;margin:18px 0;
box-shadow:0 1px 2px rgba(20,30,60,.04)}
h2{font-size:18px;margin:0 0 12px}h3{font-size:14px;margin:18px 0 8px;color:var(--muted);font-weight:600}
.chips{display:flex;gap:10px;flex-wrap:wrap;margin-top:12px}
.chip{background:rgba(255,255,255,.14);border:1px solid rgba(255,255,255,.25);border-radius:8px;padding:6px 12px;font-size:12.5px}
.chip b{font-size:15px}
table{border-collapse:collapse;width:100%;font-size:13px;font-variant-numeric:tabular-nums}
th,td{padding:6px 10px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
th{background:#fafbfd;color:var(--muted);font-weight:600}
td:first-child,th:first-child{text-align:left}
tbody tr:hover{background:#f3f6ff}
td.best{font-weight:700;color:var(--good)}
td.na{color:#aab}
.sw{display:inline-block;width:10px;height:10px;border-radius:3px;margin-right:7px;vertical-align:-1px}
.scroll{overflow-x:auto}
.figs{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start;margin-top:14px}
.half{flex:1 1 calc(50% - 16px);max-width:calc(50% - 8px)}
thead tr.groups th{text-align:center;border-bottom:0;color:var(--ink)}
td.sep,th.sep{border-left:1px solid var(--line)}
figure{margin:0;background:#fff;border:1px solid var(--line);border-radius:8px;padding:8px}
figure img{display:block;max-width:100%;height:auto}
figcaption{font-size:12px;color:var(--muted);padding:4px 4px 0}
.note{color:var(--muted);font-size:12.5px}
ul.notes li{margin:4px 0;color:var(--muted)}
details summary{cursor:pointer;color:var(--accent);font-weight:600;margin:8px 0}
code{background:#f1f3f8;padding:1px 5px;border-radius:4px;font-size:12px}
.err{color:var(--bad)}
"""


def _origin(info: dict[str, Any]) -> str:
    """Where a guard comes from, in a few words."""
    if info.get("package"):
        return f"{info['package']}=={info.get('version') or '?'}"
    if info.get("url"):
        return str(info["url"])
    if info.get("model"):
        name = info.get("model_name")
        return f"{info['model']}" + (f" ({name})" if name and name != info["model"] else "")
    return ""


def _e(s: Any) -> str:
    return html.escape(str(s), quote=True)


def _md_inline(s: str) -> str:
    """Escape, then the two bits of Markdown the notes use."""
    out = _e(s)
    parts = out.split("**")
    out = "".join(f"<b>{p}</b>" if i % 2 else p for i, p in enumerate(parts))
    parts = out.split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def _heat(v: float | None, good_high: bool) -> str:
    """Background tint for a 0..1 value: green when good, red when bad."""
    if v is None:
        return ""
    goodness = v if good_high else 1.0 - v
    hue = 120 * goodness
    return f' style="background:hsla({hue:.0f},70%,55%,0.16)"'


def _html_table(head: list[str], rows: list[str], cls: str = "") -> str:
    th = "".join(f"<th>{h}</th>" for h in head)
    return f'<div class="scroll"><table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'


def _fig(b64: str | None, caption: str, width: int | None = None, cls: str = "") -> str:
    if not b64:
        return ""
    style = f' style="max-width:{width}px"' if width else ""
    return (f'<figure class="{cls}"{style}><img alt="{_e(caption)}" src="data:image/png;base64,{b64}">'
            f"<figcaption>{_e(caption)}</figcaption></figure>")


def _have_matplotlib() -> bool:
    import importlib.util

    return importlib.util.find_spec("matplotlib") is not None


def render_html(results: dict[str, Any], *, plots: bool = True) -> str:
    no_plots_note = ""
    if plots and not _have_matplotlib():
        plots = False
        no_plots_note = ('<p class="note err">Plots omitted: matplotlib is not installed '
                         "(pip install 'routeguard[eval]').</p>")
    gs_all = _guards(results)
    colors = _colors(results)
    dss = _datasets(results)

    def sw(g: str) -> str:
        return f'<span class="sw" style="background:{colors.get(g, "#999")}"></span>{_e(g)}'

    parts: list[str] = []
    chips = "".join(f'<div class="chip">{_e(d)} · <b>{v["n"]:,}</b> records · {v["n_unsafe"]:,} unsafe · '
                    f'{len(v["sources"])} source{"s" if len(v["sources"]) != 1 else ""}</div>' for d, v in results.get("datasets", {}).items())
    parts.append(f"""<header><h1>RouteGuard evaluation</h1>
<div class="meta">{_e(results.get('created', ''))} · routeguard {_e(results.get('routeguard_version', ''))} ·
{len(gs_all)} guards: {_e(', '.join(gs_all))}</div><div class="chips">{chips}</div></header>""")
    nav = [("summary", "Summary"), ("pr", "Precision–recall"), ("categories", "Categories"),
           ("confusion", "Confusion"), ("routing", "Routing"), ("breakdowns", "Breakdowns"),
           ("details", "All metrics"), ("notes", "How to read")]
    parts.append("<nav>" + "".join(f'<a href="#{a}">{t}</a>' for a, t in nav) + "</nav><main>")

    # Summary
    sec = ['<section id="summary"><h2>Summary</h2><p class="note">Best value per column in green. '
           "Errors are counted as flagged. Macro/micro-F1 over the 15 taxonomy categories; – = not "
           "applicable (no categories, no router, or an empty denominator).</p>", no_plots_note]
    for ds in dss:
        gs, rows = _summary_rows(results, ds)
        marks = [_best([r[j] for r in rows], SUMMARY_COLS[j][2]) for j in range(len(SUMMARY_COLS))]
        trs = []
        for i, (g, r) in enumerate(zip(gs, rows)):
            tds = [f"<td>{sw(g)}</td>", f"<td>{_fmt(_m(results, g, ds)['n'], 'int')}</td>"]  # type: ignore[index]
            for j, v in enumerate(r):
                cls = "best" if i in marks[j] else ("na" if v is None else "")
                if SUMMARY_COLS[j][0] == "Errors" and v:
                    cls = "err"
                tds.append(f'<td class="{cls}">{_fmt(v, SUMMARY_COLS[j][3])}</td>')
            trs.append("<tr>" + "".join(tds) + "</tr>")
        d = results["datasets"][ds]
        sec.append(f"<h3>{_e(ds)} · {d['n']:,} records, {d['n_unsafe']:,} unsafe</h3>")
        sec.append(_html_table(["guard", "n"] + [c[0] for c in SUMMARY_COLS], trs))
    sec.append("</section>")
    parts.append("".join(sec))

    # PR curves
    if plots:
        figs = "".join(_fig(plot_pr(results, ds), f"Precision–recall, {ds}", cls="half") for ds in dss)
        single = [ds for ds in dss if not 0 < results["datasets"][ds]["n_unsafe"] < results["datasets"][ds]["n"]]
        skip = (f'<p class="note">No curve for {_e(", ".join(single))}: a single class there, so only '
                f"recall (or FPR) is defined.</p>") if single else ""
        parts.append(f'<section id="pr"><h2>Precision–recall</h2><p class="note">Curves from each guard\'s '
                     f"P(unsafe); the dot is the guard's own decision. AP = average precision.</p>"
                     f'<div class="figs">{figs}</div>{skip}</section>')

    # Categories
    sec = ['<section id="categories"><h2>Per-category F1</h2><p class="note">Guards that predict taxonomy '
           "categories, on records with known categories; n = true instances.</p>"]
    cat_ds = [ds for ds in dss if any((_m(results, g, ds) or {}).get("categories") for g in gs_all)]
    if plots and cat_ds:
        sec.append('<div class="figs">' + "".join(
            _fig(plot_categories(results, ds), f"Per-category F1, {ds}", cls="half") for ds in cat_ds) + "</div>")
    for ds in cat_ds:
        gs = [g for g in gs_all if (_m(results, g, ds) or {}).get("categories")]
        per = {g: _m(results, g, ds)["categories"]["per_category"] for g in gs}  # type: ignore[index]
        trs = []
        for c in CATEGORIES:
            sup = per[gs[0]][c]["support"]
            tds = [f"<td>{_e(c)}</td>", f"<td>{sup}</td>"]
            for g in gs:
                pc = per[g][c]
                tds.append(f'<td{_heat(pc["f1"], True) if sup else ""} title="P {_fmt(pc["precision"])} · '
                           f'R {_fmt(pc["recall"])} · predicted {pc["predicted"]}">{_fmt(pc["f1"])}</td>')
            trs.append("<tr>" + "".join(tds) + "</tr>")
        sec.append(f"<details><summary>Per-category F1 table · {_e(ds)} (hover a cell for precision / recall)"
                   "</summary>" + _html_table(["category", "support"] + [sw(g) for g in gs], trs) + "</details>")
    if not cat_ds:
        sec.append('<p class="note">No guard here predicts taxonomy categories.</p>')
    sec.append("</section>")
    parts.append("".join(sec))

    # Confusion
    if plots:
        figs = "".join(_fig(plot_confusions(results, ds), f"Confusion matrices, {ds}") for ds in dss)
        parts.append(f'<section id="confusion"><h2>Confusion matrices</h2><div class="figs">{figs}</div></section>')

    # Routing
    sec = ['<section id="routing"><h2>Routing</h2><p class="note">Did each unsafe record reach the expert '
           "domain(s) owning its categories? Router recall needs every true domain reached; accuracy needs "
           "the routed set to match exactly (safe records: no domain).</p>"]
    routed = [(g, ds) for ds in dss for g in gs_all if (_m(results, g, ds) or {}).get("routing")]
    if routed:
        doms = _routed_domains(results, routed)
        trs = []
        for g, ds in routed:
            r = _m(results, g, ds)["routing"]  # type: ignore[index]
            tds = [f"<td>{sw(g)} · {_e(ds)}</td>", f"<td>{_fmt(r['accuracy'])}</td>",
                   f"<td{_heat(r['recall'], True)}>{_fmt(r['recall'])}</td>",
                   f"<td>{_fmt(r['mean_domains'], 'num2')}</td>", f"<td>{_fmt(r['mean_domains_safe'], 'num2')}</td>"]
            tds += [f"<td{_heat(r['per_domain_recall'].get(d), True)}>{_fmt(r['per_domain_recall'].get(d))}</td>"
                    for d in doms]
            trs.append("<tr>" + "".join(tds) + "</tr>")
        sec.append(_html_table(["guard · dataset", "accuracy", "router recall", "domains / record",
                                "domains / safe record"] + [f"recall {_e(d)}" for d in doms], trs))
        if plots:
            sec.append('<div class="figs">' + "".join(
                _fig(plot_routing(results, g, ds), f"Routing matrix, {g} on {ds}", cls="half") for g, ds in routed) + "</div>")
    else:
        sec.append('<p class="note">No routed guard in this run.</p>')
    sec.append("</section>")
    parts.append("".join(sec))

    # Breakdowns
    sec = ['<section id="breakdowns"><h2>Breakdowns</h2><p class="note">Each cell: recall on the unsafe '
           "records / false-positive rate on the safe ones (– when the group has none). Sorted by size.</p>"]
    for field, title in (("by_source", "Per source"), ("by_language", "Per language"), ("by_target", "Per target")):
        for ds in dss:
            gs = [g for g in gs_all if _m(results, g, ds)]
            keys = _breakdown_keys(results, ds, field)
            trs = []
            for k in keys:
                b0 = next(_m(results, g, ds)[field][k] for g in gs if k in _m(results, g, ds)[field])  # type: ignore[index]
                tds = [f"<td>{_e(k)}</td>", f"<td>{b0['n']:,}</td>", f"<td>{b0['n_unsafe']:,}</td>"]
                for g in gs:
                    b = _m(results, g, ds)[field].get(k) or {}  # type: ignore[index]
                    tds.append(f"<td class=\"sep\"{_heat(b.get('recall'), True)}>{_fmt(b.get('recall'))}</td>"
                               f"<td{_heat(b.get('fpr'), False)}>{_fmt(b.get('fpr'))}</td>")
                trs.append("<tr>" + "".join(tds) + "</tr>")
            groups = ('<tr class="groups"><th></th><th></th><th></th>'
                      + "".join(f'<th class="sep" colspan="2">{sw(g)}</th>' for g in gs) + "</tr>")
            sub = (f"<tr><th>{_e(field[3:])}</th><th>n</th><th>unsafe</th>"
                   + '<th class="sep">recall</th><th>FPR</th>' * len(gs) + "</tr>")
            table = (f'<div class="scroll"><table><thead>{groups}{sub}</thead>'
                     f'<tbody>{"".join(trs)}</tbody></table></div>')
            if field == "by_source":
                sec.append(f"<h3>{title} · {_e(ds)}</h3>{table}")
            else:
                sec.append(f"<details><summary>{title} · {_e(ds)}</summary>{table}</details>")
    sec.append("</section>")
    parts.append("".join(sec))

    # Details
    sec = ['<section id="details"><h2>All metrics</h2>']
    for ds in dss:
        gs = [g for g in gs_all if _m(results, g, ds)]
        trs = ["<tr>" + f"<td>{_e(label)}</td>" + "".join(
            f"<td>{_fmt(_get(_m(results, g, ds), path), kind)}</td>" for g in gs) + "</tr>"
            for label, path, kind in DETAIL_ROWS]
        sec.append(f"<h3>{_e(ds)}</h3>" + _html_table(["metric"] + [sw(g) for g in gs], trs))
    errs = [(g, ds, e) for ds in dss for g in gs_all for e in (_m(results, g, ds) or {}).get("error_examples", [])]
    if errs:
        sec.append("<h3>Errors (counted as flagged)</h3><ul>" + "".join(
            f'<li class="err"><b>{_e(g)}</b> on {_e(ds)}: {e["count"]} × <code>{_e(e["error"][:200])}</code></li>'
            for g, ds, e in errs) + "</ul>")
    trs = ["<tr>" + f"<td>{sw(g)}</td><td>{_e(info.get('kind', ''))}</td><td>{_e(_origin(info))}</td>"
           f"<td>{len(info.get('categories') or [])}</td><td>{'yes' if info.get('routed') else 'no'}</td></tr>"
           for g, info in results.get("guards", {}).items()]
    sec.append("<h3>Guards</h3>" + _html_table(["guard", "kind", "model / package / endpoint",
                                                "categories predicted", "router"], trs))
    sec.append(f"<h3>Settings</h3><p><code>{_e(json.dumps(results.get('settings', {}), ensure_ascii=False))}</code>"
               f" · <code>{_e(json.dumps(results.get('machine', {}), ensure_ascii=False))}</code></p></section>")
    parts.append("".join(sec))

    parts.append('<section id="notes"><h2>How to read this report</h2><ul class="notes">'
                 + "".join(f"<li>{_md_inline(n)}</li>" for n in NOTES) + "</ul></section></main>")
    return ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>RouteGuard evaluation · {_e(', '.join(dss))}</title><style>{CSS}</style></head><body>"
            + "\n".join(parts) + "</body></html>\n")


def write_reports(results: dict[str, Any], out: str | Path, *, plots: bool = True) -> dict[str, Path]:
    """Write ``results.json``, ``report.md`` and ``report.html`` into ``out``; returns their paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "results.json", "markdown": out / "report.md", "html": out / "report.html"}
    paths["json"].write_text(json.dumps(results, indent=2, ensure_ascii=False, allow_nan=False) + "\n",
                             encoding="utf-8")
    paths["markdown"].write_text(render_markdown(results), encoding="utf-8")
    paths["html"].write_text(render_html(results, plots=plots), encoding="utf-8")
    return paths
