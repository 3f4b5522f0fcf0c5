"""The operator's command line (Typer): demo, serve, worker, db upgrade, import usage."""

from __future__ import annotations

import json
import logging
import os
import threading
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from gridshare.config import Settings

app = typer.Typer(help="gridshare: a utility's data-sharing server.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
import_app = typer.Typer(help="Load the utility's records.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(import_app, name="import")
console = Console(stderr=True)

HostOpt = Annotated[str | None, typer.Option("--host", help="Interface to listen on.")]
PortOpt = Annotated[int | None, typer.Option("--port", help="Port to listen on (default 8000).")]
DataDirOpt = Annotated[
    Path | None, typer.Option("--data-dir", help="Where the SQLite database and files live.")
]
BaseUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--base-url", help="Public base URL for absolute links (default http://HOST:PORT)."
    ),
]


def _settings(
    host: str | None = None,
    port: int | None = None,
    data_dir: Path | None = None,
    base_url: str | None = None,
) -> Settings:
    overrides: dict[str, Any] = {}
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if base_url is not None:
        overrides["base_url"] = base_url
    settings = Settings(**overrides)
    if base_url is None and "GRIDSHARE_BASE_URL" not in os.environ:
        shown = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
        settings = Settings(**overrides, base_url=f"http://{shown}:{settings.port}")
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return settings


def _serve(settings: Settings) -> None:
    import uvicorn

    from gridshare.app import create_app
    from gridshare.jobs.worker import Worker
    from gridshare.store.db import make_engine

    engine = make_engine(settings.sqlalchemy_url)
    _require_schema(engine)
    stop = threading.Event()
    worker = Worker(engine, settings)
    thread = threading.Thread(target=worker.run, args=(stop,), name="outbox-worker", daemon=True)
    thread.start()
    console.print(f"[bold]gridshare[/] serving {settings.utility_name} at {settings.base_url}")
    console.print(f"  metadata: {settings.url('/.well-known/cds-server-metadata.json')}")
    try:
        uvicorn.run(create_app(settings, engine), host=settings.host, port=settings.port)
    finally:
        stop.set()
        thread.join(timeout=10)


def _require_schema(engine: Any) -> None:
    from gridshare.store.migrate import is_current

    if not is_current(engine):
        console.print(
            "[red]The database schema is not up to date.[/] Run `gridshare db upgrade` first."
        )
        raise typer.Exit(2)


@app.command()
def demo(
    host: HostOpt = None,
    port: PortOpt = None,
    data_dir: DataDirOpt = None,
    base_url: BaseUrlOpt = None,
    customers: Annotated[int, typer.Option(min=1, help="How many customers.")] = 50,
    years: Annotated[int, typer.Option(min=1, max=10, help="Years of history.")] = 2,
    until: Annotated[
        str | None, typer.Option(help="Last day of history, YYYY-MM-DD (default: yesterday).")
    ] = None,
    seed: Annotated[
        int, typer.Option(help="Random seed; the same seed builds the same utility.")
    ] = 1,
    reset: Annotated[
        bool, typer.Option(help="Rebuild the demo utility even if it exists.")
    ] = False,
) -> None:
    """Build the synthetic "Demo Gas & Electric" utility (once) and serve it."""
    from gridshare.demo.generator import build, default_until
    from gridshare.store.db import make_engine
    from gridshare.store.migrate import upgrade

    settings = _settings(host, port, data_dir, base_url)
    last_day = date.fromisoformat(until) if until else default_until(settings.tz)
    params = {"customers": customers, "years": years, "until": last_day.isoformat(), "seed": seed}
    marker = settings.data_dir / "demo.json"
    engine = make_engine(settings.sqlalchemy_url)
    fresh = reset or not marker.exists() or json.loads(marker.read_text()) != params
    if fresh:
        if settings.database_url is None:
            _remove_sqlite(settings)
            engine = make_engine(settings.sqlalchemy_url)
        upgrade(engine)
        console.print(f"Building the demo utility ({customers} customers, {years} years)...")
        summary = build(
            engine, settings, customers=customers, years=years, until=last_day, seed=seed
        )
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(json.dumps(params))
        console.print(summary)
    else:
        upgrade(engine)
        console.print(f"Using the demo utility in {settings.data_dir} (--reset rebuilds it).")
    engine.dispose()
    _serve(settings)


def _remove_sqlite(settings: Settings) -> None:
    base = settings.data_dir / "gridshare.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{base}{suffix}").unlink(missing_ok=True)


@app.command()
def serve(
    host: HostOpt = None,
    port: PortOpt = None,
    data_dir: DataDirOpt = None,
    base_url: BaseUrlOpt = None,
) -> None:
    """Serve the APIs with an in-process outbox worker."""
    _serve(_settings(host, port, data_dir, base_url))


@app.command()
def worker(data_dir: DataDirOpt = None) -> None:
    """Run the outbox worker alone (delivers callbacks, notifications and email)."""
    from gridshare.jobs.worker import Worker
    from gridshare.store.db import make_engine

    settings = _settings(data_dir=data_dir)
    engine = make_engine(settings.sqlalchemy_url)
    _require_schema(engine)
    stop = threading.Event()
    console.print("outbox worker running; Ctrl-C stops it")
    try:
        Worker(engine, settings).run(stop)
    except KeyboardInterrupt:
        stop.set()


@db_app.command("upgrade")
def db_upgrade(
    data_dir: DataDirOpt = None,
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Create or migrate the database schema to the newest revision."""
    from gridshare.store.db import make_engine
    from gridshare.store.migrate import upgrade

    settings = _settings(data_dir=data_dir)
    upgrade(make_engine(settings.sqlalchemy_url), revision)
    console.print(f"database at {revision}: {_shown_url(settings)}")


def _shown_url(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.sqlalchemy_url).render_as_string(hide_password=True)


@import_app.command("usage")
def import_usage(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    data_dir: DataDirOpt = None,
) -> None:
    """Import interval usage from a CSV file, all or nothing (see docs/operator-guide.md)."""
    from gridshare.store.db import make_engine
    from gridshare.utility.imports.csv_usage import UsageImportError, import_usage_csv

    settings = _settings(data_dir=data_dir)
    engine = make_engine(settings.sqlalchemy_url)
    _require_schema(engine)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task(f"importing {file.name}", total=file.stat().st_size)

        def advance(done_bytes: int) -> None:
            progress.update(task, completed=done_bytes)

        try:
            report = import_usage_csv(engine, settings, file, progress=advance)
        except UsageImportError as error:
            progress.stop()
            console.print(f"[red]Nothing was imported.[/] {error}")
            raise typer.Exit(1) from error
    console.print(report.summary())
