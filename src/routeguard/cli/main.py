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
          exit_code: bool = typer.Option(False, "--exit-code", help="Exit with status 1 when TEXT is flagged."),
          trajectory: Optional[Path] = typer.Option(None, "--trajectory", "-t", help="JSON file: an agent trajectory "
                                                    "(a list of OpenAI messages, or {\"messages\": [...]})."),
          policy: Optional[list[str]] = typer.Option(None, "--policy", "-p", help="Operator policy the trajectory "
                                                     "must follow (repeatable; with --trajectory).")) -> None:
    """Judge a text, every conversation of a JSONL file (JSONL verdicts out), or an agent trajectory
    against operator policies (--trajectory, --policy)."""
    import routeguard
    from routeguard.errors import RouteGuardError

    if sum(x is not None for x in (text, file, trajectory)) != 1:
        _fail("give exactly one of TEXT, --file or --trajectory")
    if policy and trajectory is None:
        _fail("--policy needs --trajectory")
    try:
        guard = routeguard.load(model)
    except RouteGuardError as e:
        _fail(str(e))
    if trajectory is not None:
        _check_trajectory(guard, trajectory, policy or [], as_json, exit_code)
        return
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


def _check_trajectory(guard, path: Path, policies: list[str], as_json: bool, exit_code: bool) -> None:
    from rich.markup import escape

    from routeguard.agent import AgentGuard
    from routeguard.agent.trajectory import load_trajectory
    from routeguard.errors import RouteGuardError

    try:
        conv = load_trajectory(path)
        v = AgentGuard(guard).check(conv, policies)
    except RouteGuardError as e:
        _fail(str(e))
    if as_json:
        print(v.model_dump_json(indent=2))
        raise typer.Exit(1 if exit_code and v.flagged else 0)
    render_verdict(v.verdict)
    if v.trajectory is not None:
        t = v.trajectory
        out.print(f"[bold {'red' if t.flagged else 'green'}]trajectory head[/]: P(unsafe run)={t.score:.2f} "
                  f"({'>=' if t.flagged else '<'} {t.threshold:.2f})"
                  + (f"  driven by {', '.join(t.drivers)}" if t.flagged and t.drivers else "")
                  + "  [italic](decides over the whole-run verdict above)[/italic]")
    for p in v.policies:
        colour = "red" if p.violated else "green" if p.violated is False else "yellow"
        score = "" if p.score is None else f"  matcher={p.score:.2f}"
        out.print(f"[bold {colour}]{p.label.upper()}[/bold {colour}]  policy: {escape(repr(p.policy))}  "
                  f"checker={p.checker}{score}")
        if p.violated and p.step is not None:
            m = conv.messages[p.step]
            out.print(f"  step {p.step} ({m.role}): {escape(m.text()[-300:])}")
        out.print(f"  [italic]{escape(p.reason)}[/italic]")
    if v.injection is not None and v.injection.flagged:
        out.print(f"[bold red]prompt injection[/bold red] enters at step {v.injection.step} "
                  f"({v.injection.scorer} expert, threshold {v.injection.threshold:.2f})")
    head = "FLAGGED" if v.flagged else "allowed"
    out.print(f"[bold {'red' if v.flagged else 'green'}]trajectory {head}[/]: {escape(v.reason)}")
    raise typer.Exit(1 if exit_code and v.flagged else 0)


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
          log_level: Optional[str] = typer.Option(None, help="critical/error/warning/info/debug"),
          engine: str = typer.Option("local", "--engine", help="local (uvicorn) or ray (Ray Serve: router and "
                                     "experts as separate deployments; needs the ray extra)."),
          ray_config: Optional[Path] = typer.Option(None, "--ray-config", help="Ray Serve deployment YAML "
                                                    "(see docs/deploy_ray.md); only with --engine ray.")) -> None:
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
    if engine not in ("local", "ray"):
        _fail(f"--engine must be local or ray, not {engine!r}")
    if ray_config is not None and engine != "ray":
        _fail("--ray-config needs --engine ray")
    if engine == "ray":
        logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        import importlib.util

        if importlib.util.find_spec("ray") is None:
            _fail("`routeguard serve --engine ray` needs the ray extra (pip install 'routeguard[ray]')")
        from routeguard.scale.serve_ray import run as run_ray

        return run_ray(settings, ray_config, engine="ray")
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
        file: Optional[list[Path]] = typer.Option(None, "--file", "-f", help="JSONL records (repeatable): GuardZoo records, or minimal ones: "
                                                   '{"text" or "messages", "label"[, "target", "categories", "id", ...]}.'
                                                   " Other fields are kept."),
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
           config: Optional[Path] = typer.Option(None, "--config", "-c", help="Training YAML whose seed, head, "
                                                 "exclude, source_cap and max_chunks to use (e.g. configs/default.yaml)."),
           seed: int = typer.Option(13)) -> None:
    """Add an expert for a new threat without retraining or changing the existing experts."""
    from routeguard.errors import RouteGuardError
    from routeguard.training.expand import expand as run_expand

    from routeguard.training.config import TrainConfig

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        kw: dict = {"seed": seed}
        if config is not None:
            tc = TrainConfig.from_yaml(config)
            kw = {"seed": tc.seed, "head": tc.head, "exclude": tc.exclude, "source_cap": tc.source_cap,
                  "max_chunks": tc.max_chunks, "cache_dir": tc.cache_dir}
        folder = run_expand(model, expert, [c.strip() for c in categories.split(",") if c.strip()], data, out_dir,
                            **kw)
    except (RouteGuardError, FileNotFoundError) as e:
        _fail(str(e))
    err.print(f"saved expanded model -> {folder}")


@app.command()
def score(input_path: Path = typer.Option(..., "--input", "-i", help="JSONL or Parquet file, or a folder of them. "
                                          "Records: strings, lists of messages, {id, messages|text, target?} or GuardZoo records."),
          output: Path = typer.Option(..., "--output", "-o", help="Folder for the verdict shards (resumable)."),
          engine: str = typer.Option("local", "--engine", "-e", help="local (this process) or ray (Ray Data actor pool)."),
          model: str = typer.Option("default", "--model", "-m", help="'default', 'monolith' or a model folder."),
          batch_size: int = typer.Option(256, "--batch-size", "-b", help="Records per guard call."),
          shard_size: int = typer.Option(10_000, "--shard-size", help="Records per output shard (the resume unit)."),
          fmt: str = typer.Option("jsonl", "--format", help="Output shard format: jsonl or parquet."),
          address: Optional[str] = typer.Option(None, "--address", help="Ray cluster: auto, host:6379 or ray://host:10001 "
                                                "(default: start a local Ray). Needs --engine ray."),
          workers: Optional[int] = typer.Option(None, "--workers", "-w", help="Ray actors, each holding a guard (default 2). "
                                                "Needs --engine ray."),
          cpus_per_worker: float = typer.Option(1.0, "--cpus-per-worker", help="num_cpus of each Ray actor."),
          as_json: bool = typer.Option(False, "--json", help="Print the run report as JSON on stdout.")) -> None:
    """Batch-score a corpus into resumable shards: id, flagged, unsafe_score, categories, route, degraded, error."""
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)

    from routeguard.errors import RouteGuardError
    from routeguard.scale import score as run_score

    with Progress(TextColumn("scoring ({task.fields[engine]})"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TimeRemainingColumn(), console=err) as prog:
        task = prog.add_task("score", total=None, engine=engine, rate="")
        started: list[float] = []

        def tick(done: int, total: int) -> None:
            import time

            if not started:
                started.append(time.perf_counter())
            dt = time.perf_counter() - started[0]
            prog.update(task, completed=done, total=total, rate=f"{done / dt:.0f} rec/s" if dt > 0 and done else "")

        try:
            report = run_score(input_path, output, engine=engine, model=model, batch_size=batch_size,
                               shard_size=shard_size, fmt=fmt, address=address, workers=workers,
                               cpus_per_worker=cpus_per_worker, progress=tick)
        except (RouteGuardError, OSError) as e:
            prog.stop()
            _fail(str(e))
    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
    err.print(f"{report.scored} records scored ({report.flagged} flagged, {report.errors} errors), "
              f"{report.shards_skipped}/{report.shards} shards already done; {report.seconds:.1f} s, "
              f"{report.records_per_s:.0f} records/s ({report.engine}, {report.workers} worker(s)) -> {report.output}")


@app.command()
def explain(text: str = typer.Argument(..., help="Text to judge and explain (a user prompt)."),
            model: str = typer.Option("default", "--model", "-m", help="'default', 'monolith' or a model folder."),
            target: Optional[str] = typer.Option(None, help="prompt / response / conversation / trajectory"),
            as_json: bool = typer.Option(False, "--json", help="Print the critique as JSON."),
            index: Optional[str] = typer.Option("default", "--index", help="Exemplar index (.npz); 'none' for no provenance."),
            guardzoo: Optional[Path] = typer.Option(None, "--guardzoo", help="GuardZoo build folder for exemplar texts "
                                                    "(default $ROUTEGUARD_GUARDZOO or ./guardzoo)."),
            k: int = typer.Option(5, "-k", min=1, max=50, help="Nearest training examples to show."),
            judge: Optional[str] = typer.Option(None, "--judge", help="Also ask an LLM judge (spec "
                                                "<format>@<url>#<model>) and show its rationale."),
            band: str = typer.Option("0,1", "--band", help="With --judge: escalate when P(unsafe) is in lo,hi.")) -> None:
    """Judge a text and explain the verdict: categories, decisive span, nearest training examples."""
    import routeguard
    from routeguard.errors import RouteGuardError
    from routeguard.explain import explain as run_explain
    from routeguard.explain.render import render_critique

    try:
        guard = routeguard.load(model)
        if judge:
            from routeguard.judges import CascadeGuard, judge_from_spec

            try:
                lo, hi = (float(v) for v in band.split(","))
            except ValueError:
                _fail(f"--band must be lo,hi (e.g. 0.2,0.8), not {band!r}")
            j, _ = judge_from_spec(judge)
            guard = CascadeGuard(guard, j, band=(lo, hi))
        c = run_explain(guard, text, target=target, index=None if (index or "").lower() == "none" else index,  # type: ignore[arg-type]
                        guardzoo=guardzoo, k=k)
    except RouteGuardError as e:
        _fail(str(e))
    if as_json:
        print(c.model_dump_json(indent=2))
    else:
        render_critique(c, console=out, text=text)


@app.command("judge")
def judge_cmd(text: str = typer.Argument(..., help="Text to judge (a user prompt)."),
              spec: str = typer.Option(..., "--judge", "-j", help="Judge spec: <format>@<base url>#<model>[?opts] "
                                       "or <format>@gguf:<file.gguf>."),
              target: Optional[str] = typer.Option(None, help="prompt / response / conversation / trajectory"),
              as_json: bool = typer.Option(False, "--json", help="Print the judgement as JSON.")) -> None:
    """Ask one LLM judge (Llama Guard, WildGuard, Qwen3Guard, ShieldGemma, ...) about a text."""
    from routeguard.errors import RouteGuardError
    from routeguard.judges import judge_from_spec

    try:
        j, _ = judge_from_spec(spec)
    except RouteGuardError as e:
        _fail(str(e))
    try:
        res = j.judge(text, target=target)
    except RouteGuardError as e:
        _fail(str(e))
    finally:
        j.close()
    if as_json:
        print(res.model_dump_json(indent=2))
        return
    colour = "red" if res.unsafe else "green"
    out.print(f"[bold {colour}]{'UNSAFE' if res.unsafe else 'safe'}[/bold {colour}]  P(unsafe)={res.score:.3f} "
              f"({res.score_source})  {res.judge}  {res.latency_ms:.0f} ms")
    if res.categories or res.native_categories:
        out.print(f"categories: {', '.join(res.categories) or '–'}  (native: {', '.join(res.native_categories) or '–'})")
    if res.rationale:
        out.print(f"[italic]{res.rationale}[/italic]")


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
