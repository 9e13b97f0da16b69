"""Render a :class:`~routeguard.explain.critique.Critique` for a person (rich)."""
from __future__ import annotations

from typing import Any

from .critique import Critique

__all__ = ["render_critique"]


def _bar(p: float, width: int = 20) -> str:
    n = int(round(max(0.0, min(1.0, p)) * width))
    return "█" * n + "·" * (width - n)


def render_critique(c: Critique, console: Any = None, text: str | None = None, top: int = 5) -> None:
    from rich import box
    from rich.console import Console
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    con = console or Console()
    colour = "red" if c.flagged else "green"
    head = "FLAGGED" if c.flagged else "SAFE"
    if c.verdict.degraded:
        head += " (DEGRADED)"
    con.print(f"[bold {colour}]{head}[/bold {colour}]  P(unsafe)={c.unsafe_score:.3f} "
              f"(threshold {c.unsafe_threshold:.2f})  target={c.target}  "
              f"route={'+'.join(c.verdict.route.experts)}")
    con.print(f"[bold]{c.summary}[/bold]")
    for r in c.reasons:
        con.print(f"  • {r}")

    if c.evidence is not None and c.spans and (c.evidence.decisive or c.evidence.drop >= 0.02):
        ev = c.evidence
        # the whole judged text when the caller passes it (a plain prompt), else the span alone
        if text is not None and c.target == "prompt" and text[ev.start:ev.end] == ev.text:
            body, lo, hi = text, ev.start, ev.end
        else:
            body, lo, hi = ev.text, 0, len(ev.text)
        t = Text(body)
        t.stylize("bold red underline" if ev.decisive else "bold yellow", lo, hi)
        title = "decisive evidence" if ev.decisive else "most suspicious span (below threshold)"
        con.print(Panel(t, title=f"{title} · {ev.method} · {ev.measure}", border_style=colour, expand=False))
        tab = Table(box=box.SIMPLE, header_style="bold", title="attribution over the fast experts")
        tab.add_column("span")
        tab.add_column("drop", justify="right")
        tab.add_column("without", justify="right")
        tab.add_column("alone", justify="right")
        for sp in sorted(c.spans, key=lambda s: -s.drop)[:top]:
            snippet = sp.text if len(sp.text) <= 70 else sp.text[:67] + "…"
            tab.add_row(snippet, f"{sp.drop:+.3f}", f"{sp.score_without:.3f}",
                        "–" if sp.score_alone is None else f"{sp.score_alone:.3f}")
        con.print(tab)

    tab = Table(box=box.SIMPLE, header_style="bold", title="categories")
    tab.add_column("category")
    tab.add_column("score", justify="right")
    tab.add_column("threshold", justify="right")
    tab.add_column("")
    for cr in c.categories[:top]:
        style = "red" if cr.flagged else ""
        name = f"[{style}]{cr.category}[/{style}]" if style else cr.category
        tab.add_row(name, f"{cr.score:.3f}", f"{cr.threshold:.2f}", f"[{style or 'cyan'}]{_bar(cr.score)}[/]")
    con.print(tab)

    if c.exemplars:
        con.print("[bold]nearest labelled training examples (provenance)[/bold]")
        for e in c.exemplars:
            lab = f"[red]{e.label}[/red]" if e.label == "unsafe" else f"[green]{e.label}[/green]"
            cats = ", ".join(e.categories) or ("category not given" if e.label == "unsafe" else "–")
            con.print(f"  {e.similarity:.2f}  {lab}  {cats}  [cyan]{e.source}[/cyan]  [dim]{e.id}[/dim]")
            if e.text:
                snippet = e.text.replace("\n", " ")
                con.print(f"        [italic]“{snippet[:150]}{'…' if len(snippet) > 150 else ''}”[/italic]")
    for r in c.rationales:
        con.print(Panel(r.rationale or "(no rationale given)",
                        title=f"{r.judge} · {'unsafe' if r.unsafe else 'safe'} {r.score:.2f} "
                              f"{', '.join(r.categories)}", border_style="magenta", expand=False))
    for n in c.notes:
        con.print(f"[dim]note: {n}[/dim]")
    con.print(f"[dim]explained in {c.latency_ms:.0f} ms[/dim]")
