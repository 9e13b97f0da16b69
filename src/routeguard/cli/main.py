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


@app.command()
def serve(config: Optional[Path] = typer.Option(None, "--config", "-c", help="Server YAML (see routeguard.server.settings)."),
          model: Optional[str] = typer.Option(None, "--model", "-m", help="'default', 'monolith' or a model folder."),
          host: Optional[str] = typer.Option(None, help="Bind address (default 127.0.0.1)."),
          port: Optional[int] = typer.Option(None, help="Port (default 8000)."),
          workers: Optional[int] = typer.Option(None, help="Worker processes (each loads the model)."),
          no_batching: bool = typer.Option(False, "--no-batching", help="Judge each request on its own."),
          log_level: Optional[str] = typer.Option(None, help="critical/error/warning/info/debug")) -> None:
    """Serve the HTTP APIs: OpenAI moderation, LiteLLM guardrail, /v1/guard, a guarded chat proxy."""
    import os

    try:
        import uvicorn

        from routeguard.server.settings import CONFIG_ENV, ENV_PREFIX, load_settings
    except ImportError as e:
        _fail(f"`routeguard serve` needs the serve extra (pip install 'routeguard[serve]'): {e}")
    from routeguard.errors import ConfigError
    from routeguard.loading import PACKAGED, packaged_path

    overrides = {"model": model, "host": host, "port": port, "workers": workers, "log_level": log_level}
    if no_batching:
        overrides["batching"] = {"enabled": False}
    try:
        settings = load_settings(config, **overrides)
        folder = packaged_path(settings.model) if settings.model in PACKAGED else Path(settings.model)
    except ConfigError as e:
        _fail(str(e))
    if not (folder / "model.json").is_file():
        _fail(f"no model at {folder} (needs model.json and weights.npz); pass --model")
    # the app is rebuilt in each worker from the environment: hand the CLI choices on through it
    if config is not None:
        os.environ[CONFIG_ENV] = str(config.resolve())
    env = {"MODEL": model, "HOST": host, "PORT": port, "WORKERS": workers, "LOG_LEVEL": log_level,
           "BATCHING__ENABLED": "false" if no_batching else None}
    for k, v in env.items():
        if v is not None:
            os.environ[ENV_PREFIX + k] = str(v)
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    err.print(f"RouteGuard serving {settings.model} on http://{settings.host}:{settings.port} "
              f"({settings.workers} worker(s), batching {'on' if settings.batching.enabled else 'off'}, "
              f"auth {'on' if settings.api_keys else 'OFF'})")
    uvicorn.run("routeguard.server.app:create_app_from_env", factory=True, host=settings.host, port=settings.port,
                workers=settings.workers, log_level=settings.log_level.lower(), access_log=False)


@app.command("eval")
def eval_cmd(
        data: Optional[Path] = typer.Option(None, "--data", "-d", help="GuardZoo build folder (train/dev/test/... .jsonl)."),
        split: Optional[list[str]] = typer.Option(None, "--split", "-s", help="Split to evaluate (repeatable); "
                                                  "'ood' = held-out sources/categories across train/dev/test. Default: test."),
        guard: Optional[list[str]] = typer.Option(None, "--guard", "-g", help="Guard spec (repeatable): routeguard, "
                                                  "monolith, routeguard:<folder>, securevector, profanity, prompt-guardrail, "
                                                  "http:<url>, moderation:<url>, label=<spec>. Default: routeguard."),
        file: Optional[list[Path]] = typer.Option(None, "--file", "-f", help="Unified GuardZoo JSONL file (repeatable)."),
        limit: Optional[int] = typer.Option(None, "--limit", "-n", min=1, help="At most N records per split/file "
                                            "(deterministic sample)."),
        out_dir: Path = typer.Option(Path("eval_out"), "--out", "-o", help="Folder for results.json, report.md, report.html."),
        batch_size: int = typer.Option(64, "--batch-size", "-b", min=1, help="Records per guard call."),
        seed: int = typer.Option(0, help="Seed of the --limit sample."),
        predictions: bool = typer.Option(True, "--predictions/--no-predictions",
                                         help="Also write per-record predictions under <out>/predictions/."),
        list_guards: bool = typer.Option(False, "--list-guards", help="List the guard names and exit."),
        share_encoder: bool = typer.Option(False, "--share-encoder", help="RouteGuard-family guards share one "
                                           "memoising encoder (faster; their latency then excludes re-encoding)."),
        cache_dir: Optional[Path] = typer.Option(None, "--embedding-cache", help="With --share-encoder: read "
                                                 "vectors from a training embedding cache folder (e.g. guardzoo/.cache)."),
) -> None:
    """Evaluate guards on GuardZoo splits or JSONL files; write JSON, Markdown and HTML reports."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from routeguard.errors import ConfigError
    from routeguard.eval import create_guard, guard_names, load_datasets, run, write_reports
    from routeguard.eval.runner import predictions_writer

    if list_guards:
        for name, help_text in guard_names().items():
            out.print(f"[bold]{name}[/bold]  {help_text}")
        return
    if data is None and not file:
        _fail("give --data <GuardZoo build folder> (with --split) and/or --file <records.jsonl>")
    try:
        datasets = load_datasets(data, split or ["test"], file or [], limit=limit, seed=seed)
    except (ConfigError, OSError) as e:
        _fail(str(e))
    guards = []
    for spec in guard or ["routeguard"]:
        try:
            with err.status(f"loading guard {spec}"):
                if share_encoder and not guards:
                    from routeguard.eval.guards import share_encoder as _share
                    _share(cache_dir=cache_dir)
                guards.append(create_guard(spec))
        except ConfigError as e:
            for g in guards:
                g.close()
            _fail(f"guard {spec!r}: {e}")
    sizes = ", ".join(f"{k} {len(v)}" for k, v in datasets.items())
    err.print(f"{len(guards)} guard(s) × datasets: {sizes}")
    try:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=err) as prog:
            tasks: dict[tuple[str, str], int] = {}

            def tick(g: str, d: str, done: int, total: int) -> None:
                if (g, d) not in tasks:
                    tasks[(g, d)] = prog.add_task(f"{g} · {d}", total=total)
                prog.update(tasks[(g, d)], completed=done)

            results = run(guards, datasets, batch_size=batch_size, progress=tick,
                          on_predictions=predictions_writer(out_dir / "predictions") if predictions else None,
                          meta={"data": str(data) if data else None, "splits": list(split or ["test"]) if data else [],
                                "files": [str(f) for f in file or []], "limit": limit, "seed": seed})
    finally:
        for g in guards:
            g.close()
    with err.status("writing reports"):
        paths = write_reports(results, out_dir)
    from rich import box

    def f(v, nd=2):
        return "–" if v is None else f"{v:.{nd}f}"

    for ds in results["datasets"]:
        t = Table(title=f"{ds} ({results['datasets'][ds]['n']} records)", header_style="bold", box=box.SIMPLE,
                  pad_edge=False, padding=(0, 1), caption="AP = AUPRC · mF1 = 15-category macro-F1 · rtR = router recall · err = errors (flagged)")
        t.add_column("guard", no_wrap=True)
        for col in ("F1", "P", "R", "FPR", "AP", "mF1", "rtR", "p50ms", "err"):
            t.add_column(col, justify="right", no_wrap=True, min_width=len(col))
        for g, per in results["results"].items():
            m, b = per[ds], per[ds]["binary"]
            t.add_row(g, f(b["f1"]), f(b["precision"]), f(b["recall"]), f(b["fpr"]), f(b["auprc"]),
                      f((m["categories"] or {}).get("macro_f1")), f((m["routing"] or {}).get("recall")),
                      f(m["latency"]["p50_ms"], 1), str(m["n_errors"]))
        out.print(t)
    for kind, p in paths.items():
        err.print(f"{kind}: {p}")


@app.command()
def expand(model: Path = typer.Option(..., "--model", "-m", help="Trained RouteGuard model folder to extend."),
           expert: str = typer.Option(..., "--expert", help="Name of the new expert (its router domain)."),
           categories: str = typer.Option(..., "--categories", help="Comma-separated taxonomy ids it scores."),
           data: Path = typer.Option(Path("guardzoo"), "--data", help="GuardZoo build folder."),
           out_dir: Path = typer.Option(..., "--out", help="Folder for the expanded model (may equal --model)."),
           seed: int = typer.Option(13)) -> None:
    """Add an expert for a new threat without retraining or changing the existing experts."""
    from routeguard.errors import RouteGuardError
    from routeguard.training.expand import expand as run_expand

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        folder = run_expand(model, expert, [c.strip() for c in categories.split(",") if c.strip()], data, out_dir,
                            seed=seed)
    except (RouteGuardError, FileNotFoundError) as e:
        _fail(str(e))
    err.print(f"saved expanded model -> {folder}")


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
