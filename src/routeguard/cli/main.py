"""``routeguard`` command line. Every command is a thin layer over the public Python API."""
from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="RouteGuard: a router-expert safety guard for LLM apps and agents.")
data_app = typer.Typer(no_args_is_help=True, help="GuardZoo: build the unified benchmark.")
app.add_typer(data_app, name="data")
err = Console(stderr=True)
out = Console()


def _fail(msg: str, code: int = 2) -> None:
    err.print(f"[red]error:[/red] {msg}")
    raise typer.Exit(code)


def _bar(p: float, width: int = 24) -> str:
    n = int(round(p * width))
    return "█" * n + "·" * (width - n)


def render_verdict(v, text: str | None = None, top: int = 6) -> None:
    colour = "red" if v.flagged else "green"
    head = "FLAGGED" if v.flagged else "safe"
    if v.degraded:
        head += " (DEGRADED)"
    out.print(f"[bold {colour}]{head}[/bold {colour}]  P(unsafe)={v.unsafe_score:.3f}  target={v.target}  "
              f"route={'+'.join(v.route.experts)}{' (fallback)' if v.route.fallback else ''}  "
              f"{v.latency_ms:.1f} ms")
    if text:
        out.print(f"[dim]{text[:160]}{'…' if len(text) > 160 else ''}[/dim]")
    t = Table(show_header=True, header_style="bold", box=None)
    t.add_column("category")
    t.add_column("score", justify="right")
    t.add_column("")
    for c, s in sorted(v.category_scores.items(), key=lambda kv: -kv[1])[:top]:
        style = "red" if v.categories.get(c) else ""
        t.add_row(f"[{style}]{c}[/{style}]" if style else c, f"{s:.3f}", f"[{style or 'cyan'}]{_bar(s)}[/]")
    out.print(t)
    out.print(f"[italic]{v.reason}[/italic]\n")


@app.command()
def check(text: Optional[str] = typer.Argument(None, help="Text to judge (a user prompt)."),
          file: Optional[Path] = typer.Option(None, "--file", "-f", help="JSONL: one conversation per line "
                                              "(a string, a list of messages, or {\"messages\": [...]})."),
          model: str = typer.Option("default", "--model", "-m", help="'default', 'monolith' or a model folder."),
          target: Optional[str] = typer.Option(None, help="prompt / response / conversation / trajectory"),
          as_json: bool = typer.Option(False, "--json", help="Print the full verdict as JSON."),
          batch_size: int = typer.Option(64, help="Conversations per encoder pass with --file."),
          exit_code: bool = typer.Option(False, "--exit-code", help="Exit with status 1 when TEXT is flagged.")) -> None:
    """Judge a text, or every conversation of a JSONL file (JSONL verdicts out)."""
    import routeguard
    from routeguard.errors import RouteGuardError

    if (text is None) == (file is None):
        _fail("give either TEXT or --file")
    try:
        guard = routeguard.load(model)
    except RouteGuardError as e:
        _fail(str(e))
    if text is not None:
        try:
            v = guard.check(text, target=target)  # type: ignore[arg-type]
        except RouteGuardError as e:
            _fail(str(e))
        if as_json:
            print(v.model_dump_json(indent=2))
        else:
            render_verdict(v)
        raise typer.Exit(1 if exit_code and v.flagged else 0)
    _check_file(guard, file, target, batch_size)  # type: ignore[arg-type]


def _check_file(guard, file: Path, target: str | None, batch_size: int) -> None:
    from routeguard.types import BatchItemError

    try:
        fh = open(file, "rb")
    except OSError as e:
        _fail(f"cannot read {file}: {e}")
    items, lines = [], []
    with fh:
        for n, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as e:
                obj = e
            items.append(obj)
            lines.append(n)
    flagged = 0
    for s in range(0, len(items), batch_size):
        part = items[s:s + batch_size]
        ok = [x if not isinstance(x, Exception) else "" for x in part]
        res = guard.check_batch(ok, target=target)
        for x, line, r in zip(part, lines[s:s + batch_size], res):
            if isinstance(x, Exception):
                row = {"line": line, "error": f"line {line}: not valid JSON/UTF-8: {x}", "flagged": True}
            elif isinstance(r, BatchItemError):
                row = {"line": line, "error": f"line {line}: {r.error}", "flagged": True}
            else:
                row = {"line": line, **json.loads(r.model_dump_json())}
            flagged += bool(row["flagged"])
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
    err.print(f"{len(items)} conversations, {flagged} flagged or invalid")


@data_app.command("build")
def data_build(root: Path = typer.Option(Path("../shared/datasets"), help="Folder holding the source datasets."),
               out_dir: Path = typer.Option(Path("guardzoo"), "--out", help="Output folder."),
               sources: Optional[str] = typer.Option(None, help="Comma-separated source names (default: all)."),
               fmt: str = typer.Option("jsonl", "--format", help="jsonl or parquet"),
               skip_broken: bool = typer.Option(False, "--skip-broken", help="Continue when a source fails."),
               seed: int = typer.Option(13)) -> None:
    """Build GuardZoo: load, deduplicate, split, write records and the dataset card."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from routeguard.data.build import build, write
    from routeguard.data.registry import source_names
    from routeguard.data.schema import SourceError

    if fmt not in ("jsonl", "parquet"):
        _fail(f"--format must be jsonl or parquet, not {fmt!r}")
    if not root.is_dir():
        _fail(f"datasets root {root} does not exist")
    names = [s.strip() for s in sources.split(",")] if sources else source_names()
    try:
        for n in names:
            from routeguard.data.registry import get_source
            get_source(n)
    except KeyError as e:
        _fail(str(e.args[0]))
    logging.basicConfig(level=logging.WARNING)
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total} sources"),
                  TimeElapsedColumn(), console=err) as prog:
        task = prog.add_task("loading", total=len(names))

        def tick(name: str, n: int) -> None:
            prog.update(task, advance=1, description=f"loaded {name} ({n})")

        try:
            report = build(root, names, skip_broken=skip_broken, seed=seed, progress=tick)
        except SourceError as e:
            _fail(f"{e} (use --skip-broken to build the other sources)")
        prog.update(task, description="writing")
        write(report, out_dir, fmt)
    for name, why in report.broken.items():
        err.print(f"[yellow]skipped {name}:[/yellow] {why}")
    err.print(f"{len(report.records)} records -> {out_dir} (card: {out_dir / 'CARD.md'}) in {report.seconds:.0f} s")


@app.command()
def train(config: Path = typer.Option(..., "--config", "-c", help="Training YAML (see configs/default.yaml).")) -> None:
    """Train the router, experts and monolithic baseline from a GuardZoo build."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from routeguard.errors import ConfigError
    from routeguard.training.config import TrainConfig
    from routeguard.training.train import train as run_train

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        cfg = TrainConfig.from_yaml(config)
    except ConfigError as e:
        _fail(str(e))
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=err) as prog:
        tasks: dict[str, int] = {}

        def tick(stage: str, done: int, total: int) -> None:
            key = "encode" if stage == "encode" else "fit"
            if key not in tasks:
                tasks[key] = prog.add_task(stage, total=total)
            prog.update(tasks[key], completed=done, total=total, description=stage)

        saved = run_train(cfg, progress=tick)
    for name, folder in saved.items():
        err.print(f"saved {name} -> {folder}")


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
