"""The operator's command line (Typer): demo, serve, worker, db upgrade, import usage and
import greenbutton, and the client registrations: clients list/approve, messages send, files add,
requests list/approve/reject (CDS-WG1-02), greenbutton register/notify (NAESB REQ.21 ESPI third
parties), greenbutton custodian-token (the Data Custodian's own FB 33 token), beckn keys
show/rotate (our Beckn subscriber keys, BECKN-006), the connection desk's orders
list/show/advance (DEG Connections orders) and staff add (the desk's staff accounts)."""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, NoReturn

import typer
from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from gridshare.beckn import client_cli
from gridshare.config import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

app = typer.Typer(help="gridshare: a utility's data-sharing server.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
import_app = typer.Typer(help="Load the utility's records.", no_args_is_help=True)
_LINKS = " The links these commands write start with GRIDSHARE_BASE_URL: set it as for serve."
clients_app = typer.Typer(
    help="Registered Client Objects (CDS-WG1-02 §5)." + _LINKS, no_args_is_help=True
)
messages_app = typer.Typer(
    help="Messages to registered clients (CDS-WG1-02 §6).", no_args_is_help=True
)
files_app = typer.Typer(
    help="Files shared with registered clients (CDS-WG1-02 §9)." + _LINKS, no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(import_app, name="import")
app.add_typer(clients_app, name="clients")
app.add_typer(messages_app, name="messages")
requests_app = typer.Typer(
    help="Client requests awaiting review (CDS-WG1-02 §6.9)." + _LINKS, no_args_is_help=True
)
app.add_typer(files_app, name="files")
greenbutton_app = typer.Typer(
    help="Green Button Connect My Data third parties." + _LINKS, no_args_is_help=True
)
app.add_typer(greenbutton_app, name="greenbutton")
app.add_typer(requests_app, name="requests")
beckn_app = typer.Typer(help="Beckn / DEG: the utility as a BPP." + _LINKS, no_args_is_help=True)
beckn_keys_app = typer.Typer(
    help="Our Beckn subscriber keys (BECKN-006): publish, rotate.", no_args_is_help=True
)
beckn_app.add_typer(beckn_keys_app, name="keys")
app.add_typer(beckn_app, name="beckn")
app.add_typer(client_cli.app, name="beckn-client")
orders_app = typer.Typer(
    help="Connection orders (DEG Connections): the connection desk. A change is announced to the "
    "requester (an on_status the worker sends).",
    no_args_is_help=True,
)
app.add_typer(orders_app, name="orders")
staff_app = typer.Typer(
    help="Staff accounts for the connection desk (/desk).", no_args_is_help=True
)
app.add_typer(staff_app, name="staff")
console = Console(stderr=True)
output = Console()
"""What a command answers (ids, tables) goes to stdout; progress and errors to stderr."""

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
    mail_capture: bool | None = None,
) -> Settings:
    overrides: dict[str, Any] = {}
    if mail_capture is not None:
        overrides["mail_capture"] = mail_capture
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
    # Alembic announces each of its plugins on every schema check: noise before every command.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    return settings


def _serve(settings: Settings, with_worker: bool = True) -> None:
    import uvicorn

    from gridshare.app import create_app
    from gridshare.beckn import keys
    from gridshare.deliveries import handlers
    from gridshare.jobs.worker import Worker
    from gridshare.store.db import make_engine, session_factory, transaction

    engine = make_engine(settings.sqlalchemy_url)
    _require_schema(engine)
    with transaction(session_factory(engine)) as session:
        keys.current_key(session, settings)  # our Beckn key exists from the first start
    stop = threading.Event()
    worker = Worker(engine, settings, handlers(settings, engine))
    thread = threading.Thread(target=worker.run, args=(stop,), name="outbox-worker", daemon=True)
    if with_worker:
        thread.start()
    console.print(f"[bold]gridshare[/] serving {settings.utility_name} at {settings.base_url}")
    console.print(f"  metadata: {settings.url('/.well-known/cds-server-metadata.json')}")
    if settings.mail_capture:
        console.print(f"  email is kept, not sent: {settings.url('/demo/mail')}")
    try:
        uvicorn.run(create_app(settings, engine), host=settings.host, port=settings.port)
    finally:
        stop.set()
        if with_worker:
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
    """Build the synthetic "Demo Gas & Electric" utility (once) and serve it (email is kept, not
    sent: read it at /demo/mail)."""
    from gridshare.demo.generator import build, default_until
    from gridshare.store.db import make_engine
    from gridshare.store.migrate import upgrade

    settings = _settings(host, port, data_dir, base_url, mail_capture=True)
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
    no_worker: Annotated[
        bool,
        typer.Option(
            "--no-worker", help="Leave the outbox to `gridshare worker` processes run apart."
        ),
    ] = False,
) -> None:
    """Serve the APIs, with an in-process outbox worker unless --no-worker."""
    _serve(_settings(host, port, data_dir, base_url), with_worker=not no_worker)


@app.command()
def worker(data_dir: DataDirOpt = None) -> None:
    """Run the outbox worker alone (delivers callbacks, notifications and email)."""
    from gridshare.deliveries import handlers
    from gridshare.jobs.worker import Worker
    from gridshare.store.db import make_engine

    settings = _settings(data_dir=data_dir)
    engine = make_engine(settings.sqlalchemy_url)
    _require_schema(engine)
    stop = threading.Event()
    console.print("outbox worker running; Ctrl-C stops it")
    try:
        Worker(engine, settings, handlers(settings, engine)).run(stop)
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
    with _importing(file) as (progress, advance):
        try:
            report = import_usage_csv(engine, settings, file, progress=advance)
        except UsageImportError as error:
            progress.stop()
            console.print(f"[red]Nothing was imported.[/] {error}")
            raise typer.Exit(1) from error
    console.print(report.summary())


@import_app.command("greenbutton")
def import_greenbutton(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    service_point: Annotated[
        str | None,
        typer.Option(
            "--service-point",
            help="Put the file's one UsagePoint on this existing service point and its current "
            "meter (default: create a service point and meter per UsagePoint).",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and count everything, write nothing.")
    ] = False,
    data_dir: DataDirOpt = None,
) -> None:
    """Import a Green Button (ESPI XML) file, all or nothing (see docs/operator-guide.md)."""
    from rich.markup import escape

    from gridshare.store.db import make_engine
    from gridshare.utility.imports.greenbutton import GreenButtonRefused
    from gridshare.utility.imports.greenbutton import import_greenbutton as run_import

    settings = _settings(data_dir=data_dir)
    engine = make_engine(settings.sqlalchemy_url)
    _require_schema(engine)
    with _importing(file) as (progress, advance):
        try:
            report = run_import(
                engine,
                settings,
                file,
                service_point=service_point,
                dry_run=dry_run,
                progress=advance,
            )
        except GreenButtonRefused as error:
            progress.stop()
            fatal = [p for p in error.problems if p.fatal]
            console.print(
                f"[red]Nothing was imported.[/] {file.name} was refused "
                f"({len(fatal)} problem{'s' if len(fatal) != 1 else ''}):"
            )
            for problem in error.problems:
                label = "[red]refused[/]" if problem.fatal else "[yellow]warning[/]"
                console.print(f"  {label} {escape(str(problem))}", highlight=False)
            raise typer.Exit(1) from error
    for problem in report.warnings:
        console.print(f"  [yellow]warning[/] {escape(str(problem))}", highlight=False)
    output.print(report.summary(), highlight=False, markup=False)


@contextmanager
def _importing(file: Path) -> Iterator[tuple[Progress, Callable[[int], None]]]:
    """A progress bar over the bytes of `file` (on stderr) and the callback that moves it."""
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

        yield progress, advance


@contextmanager
def _transaction(settings: Settings) -> Iterator[Session]:
    """A session on the configured database whose work commits together or not at all."""
    from gridshare.store.db import make_engine, session_factory, transaction

    engine = make_engine(settings.sqlalchemy_url)
    _require_schema(engine)
    try:
        with transaction(session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


def _fail(message: str) -> NoReturn:
    console.print(f"[red]Nothing was changed.[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


@clients_app.command("list")
def clients_list(
    registration: Annotated[
        str | None, typer.Option("--registration", help="Only this registration's objects.")
    ] = None,
    data_dir: DataDirOpt = None,
) -> None:
    """List Client Objects: a table per registration (titled with its id), oldest first."""
    from sqlalchemy import select

    from gridshare.store.tables.clients import Client

    query = select(Client).order_by(Client.registration_id, Client.created, Client.client_id)
    if registration is not None:
        query = query.where(Client.registration_id == registration)
    with _transaction(_settings(data_dir=data_dir)) as session:
        clients = session.scalars(query).all()
    if not clients:
        console.print("No Client Objects" + (f" in {registration}." if registration else "."))
        return
    by_registration: dict[str, list[Client]] = {}
    for client in clients:
        by_registration.setdefault(client.registration_id, []).append(client)
    for registration_id, members in by_registration.items():
        table = Table("client_id", "name", "scope", "status", "created", title=registration_id)
        table.columns[0].min_width = max(len(client.client_id) for client in members)
        for column in (table.columns[0], *table.columns[3:]):
            column.no_wrap = True
        table.columns[2].overflow = "fold"
        for client in members:
            table.add_row(
                client.client_id,
                client.client_name or "",
                client.scope,
                client.status,
                client.created.strftime("%Y-%m-%d %H:%M"),
            )
        output.print(table)


@clients_app.command("approve")
def clients_approve(
    client_id: Annotated[str, typer.Argument(help="The sandbox Client Object to approve.")],
    data_dir: DataDirOpt = None,
) -> None:
    """Approve a sandbox Client Object for production: prints the new production client_id (a
    Green Button third party is approved in place and keeps its client_id)."""
    from gridshare.grants import espi_clients, espi_notices
    from gridshare.grants.clients import ApprovalError, approve_for_production
    from gridshare.store.tables.clients import Client

    settings = _settings(data_dir=data_dir)
    try:
        with _transaction(settings) as session:
            client = session.get(Client, client_id)
            if client is not None and espi_clients.third_party(client) is not None:
                # A Green Button third party is approved in place and told so (DIGEST §8).
                espi_clients.approve(client)
                uri = espi_clients.application_uri(settings, client_id)
                espi_notices.notify(session, client, [uri], f"approved:{client_id}")
                new_id = client_id
            else:
                new_id = approve_for_production(session, settings, client_id).client_id
    except (ApprovalError, espi_clients.ThirdPartyError) as error:
        _fail(str(error))
    if new_id == client_id:
        console.print(f"{client_id} approved in place (a Green Button third party):")
    else:
        console.print(f"{client_id} approved; its production Client Object is:")
    output.print(new_id, highlight=False)


@greenbutton_app.command("register")
def greenbutton_register(
    name: Annotated[
        str, typer.Option("--name", help="The third party's name, as customers see it.")
    ],
    redirect_uri: Annotated[
        list[str], typer.Option("--redirect-uri", help="Where authorizations return (repeatable).")
    ],
    notify_uri: Annotated[
        str, typer.Option("--notify-uri", help="Where BatchList notifications are POSTed.")
    ],
    scope: Annotated[
        list[str],
        typer.Option(
            "--scope",
            help="A scope string such as 'FB=1_3_4_5_13_14_15_39;IntervalDuration=900;"
            "BlockDuration=daily;HistoryLength=34128000' (repeatable; the first is the default).",
        ),
    ],
    software_id: Annotated[str | None, typer.Option("--software-id")] = None,
    software_version: Annotated[str | None, typer.Option("--software-version")] = None,
    sandbox: Annotated[
        bool, typer.Option("--sandbox", help="For trying it with the sandbox test customers.")
    ] = False,
    data_dir: DataDirOpt = None,
) -> None:
    """Register a Green Button third party: prints its client_id, client_secret and
    registration_access_token as JSON (shown once; the server keeps only hashes)."""
    from gridshare import urls
    from gridshare.grants import espi_clients
    from gridshare.grants.scopes import load_catalogue

    settings = _settings(data_dir=data_dir)
    try:
        with _transaction(settings) as session:
            made = espi_clients.register(
                session,
                settings,
                load_catalogue(settings),
                name=name,
                redirect_uris=redirect_uri,
                notify_uri=notify_uri,
                scopes=scope,
                software_id=software_id or espi_clients.UNSPECIFIED,
                software_version=software_version or espi_clients.UNSPECIFIED,
                sandbox=sandbox,
            )
            client_id = made.client.client_id
    except espi_clients.ThirdPartyError as error:
        _fail(str(error))
    answer = {
        "client_id": client_id,
        "client_secret": made.client_secret,
        "registration_access_token": made.registration_access_token,
        "application_information": espi_clients.application_uri(settings, client_id),
        "authorization_endpoint": settings.url(urls.AUTHORIZE),
        "token_endpoint": settings.url(urls.TOKEN),
    }
    output.print_json(json.dumps(answer))


@greenbutton_app.command("notify")
def greenbutton_notify(
    hours: Annotated[
        int, typer.Option("--hours", min=1, help="Notify of data changed in the last HOURS.")
    ] = 24,
    data_dir: DataDirOpt = None,
) -> None:
    """Tell each third party which of its Subscriptions have new data (a BatchList POSTed to its
    notification URI by the worker). Run it daily, e.g. from cron, after the day's import."""
    from datetime import timedelta

    from gridshare.grants.espi_notices import new_data
    from gridshare.grants.scopes import load_catalogue
    from gridshare.store.db import utcnow

    settings = _settings(data_dir=data_dir)
    until = utcnow().replace(microsecond=0)
    with _transaction(settings) as session:
        queued = new_data(
            session, settings, load_catalogue(settings), until - timedelta(hours=hours), until
        )
    output.print(f"{queued} notification(s) queued for delivery by the worker.")


@greenbutton_app.command("custodian-token")
def greenbutton_custodian_token(
    hours: Annotated[
        int, typer.Option("--hours", min=1, max=720, help="How long the token lasts.")
    ] = 8,
    upload: Annotated[
        bool,
        typer.Option(
            "--upload", help="An upload_access_token: it may only upload Green Button files."
        ),
    ] = False,
    data_dir: DataDirOpt = None,
) -> None:
    """Issue a datacustodian_access_token for the Data Custodian's management REST (FB 33):
    every third party's ApplicationInformation, every UsagePoint, and Green Button uploads.
    Staff only: it reads every customer's usage. Prints it as JSON (shown once; the server keeps
    only its hash); it cannot be revoked at /oauth/revoke, so keep --hours short."""
    from datetime import timedelta

    from gridshare import urls
    from gridshare.grants import espi_clients

    settings = _settings(data_dir=data_dir)
    with _transaction(settings) as session:
        issued = espi_clients.issue_custodian_token(
            session, timedelta(hours=hours), upload_only=upload
        )
        expires_at = issued.record.expires_at
    assert expires_at is not None
    answer = {
        "access_token": issued.value,
        "token_type": "Bearer",
        "token_class": "upload_access_token" if upload else "datacustodian_access_token",
        "expires_in": hours * 3600,
        "expires_at": expires_at.isoformat(),
        "resource_endpoint": settings.url(urls.ESPI),
    }
    output.print_json(json.dumps(answer))


MESSAGE_TYPES: Final = ("notification", "private_message")
"""The Message types an operator sends from here; both are `complete` (CDS-WG1-02 §6.3)."""
RELATED_TYPES: Final = ("more_info", "documentation", "support")
"""What a notification or private message may link to (CDS-WG1-02 §6.1, §6.4)."""


@messages_app.command("send")
def messages_send(
    name: Annotated[str, typer.Option("--name", help="The subject.")],
    description: Annotated[str, typer.Option("--description", help="The body.")],
    registration: Annotated[
        str | None, typer.Option("--registration", help="The registration to write to.")
    ] = None,
    client_id: Annotated[
        str | None,
        typer.Option("--client", help="Or: any Client Object of the registration to write to."),
    ] = None,
    message_type: Annotated[
        str, typer.Option("--type", help=f"One of {', '.join(MESSAGE_TYPES)}.")
    ] = "notification",
    related_uri: Annotated[
        str | None, typer.Option("--related-uri", help="Where to find more (with --related-type).")
    ] = None,
    related_type: Annotated[
        str | None,
        typer.Option("--related-type", help=f"One of {', '.join(RELATED_TYPES)}."),
    ] = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Send a Message to a registration (it starts unread): prints its message_id."""
    from gridshare.grants.messages import create_message
    from gridshare.grants.scopes import is_url
    from gridshare.store.tables.clients import Client, Registration

    if (registration is None) == (client_id is None):
        _fail("name the recipient with either --registration or --client.")
    if message_type not in MESSAGE_TYPES:
        _fail(f"--type must be one of {', '.join(MESSAGE_TYPES)}.")
    if not name.strip() or len(name) > 500 or not description.strip():
        _fail("--name (up to 500 characters) and --description must not be blank.")
    if (related_uri is None) != (related_type is None) or (
        related_uri is not None and (related_type not in RELATED_TYPES or not is_url(related_uri))
    ):
        _fail(
            "--related-uri (an absolute http(s) URL) goes with --related-type, one of "
            f"{', '.join(RELATED_TYPES)}."
        )
    with _transaction(_settings(data_dir=data_dir)) as session:
        if client_id is not None:
            client = session.get(Client, client_id)
            if client is None:
                _fail(f"there is no Client Object {client_id}.")
            registration = client.registration_id
        assert registration is not None
        if session.get(Registration, registration) is None:
            _fail(f"there is no registration {registration}.")
        message = create_message(
            session,
            registration_id=registration,
            type=message_type,
            name=name,
            description=description,
            related_uri=related_uri,
            related_type=related_type,
        )
        message_id = message.message_id
    output.print(message_id, highlight=False)


@files_app.command("add")
def files_add(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    client_id: Annotated[
        str,
        typer.Option("--client", help="The Client Object registered for server-provided files."),
    ],
    name: Annotated[
        str | None, typer.Option("--name", help="The file name shown (default: FILE's name).")
    ] = None,
    description: Annotated[str, typer.Option("--description", help="What the file is.")] = "",
    mime_type: Annotated[
        str | None,
        typer.Option("--mime-type", help="Its content type (default: guessed from the name)."),
    ] = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Store FILE and share it with a Client Object: a server-created Grant names it (§3.3.3).

    Prints the file_id and the grant_id.
    """
    import mimetypes

    from gridshare.grants.files import FileError, add_file, share_file

    shown = name if name is not None else file.name
    kind = mime_type or mimetypes.guess_type(shown)[0] or "application/octet-stream"
    settings = _settings(data_dir=data_dir)
    try:
        with _transaction(settings) as session:
            stored = add_file(
                session, name=shown, mime_type=kind, data=file.read_bytes(), description=description
            )
            grant = share_file(session, settings, file_id=stored.file_id, client_id=client_id)
            file_id, grant_id = stored.file_id, grant.grant_id
    except FileError as error:
        _fail(str(error))
    console.print(f"{shown} ({kind}) shared with {client_id}")
    output.print(f"file_id {file_id}\ngrant_id {grant_id}", highlight=False)


@requests_app.command("list")
def requests_list(
    registration: Annotated[
        str | None, typer.Option("--registration", help="Only this registration's requests.")
    ] = None,
    data_dir: DataDirOpt = None,
) -> None:
    """List the production, grant, field-change and support requests awaiting review."""
    from gridshare.grants.reviews import pending_requests

    with _transaction(_settings(data_dir=data_dir)) as session:
        requests = pending_requests(session, registration)
    if not requests:
        console.print(
            "No requests await review" + (f" in {registration}." if registration else ".")
        )
        return
    table = Table("message_id", "type", "status", "name", "created", "registration")
    for index, shown in ((0, "message_id"), (1, "type")):
        table.columns[index].min_width = max(len(getattr(r, shown)) for r in requests)
        table.columns[index].no_wrap = True
    for column in table.columns[2:]:
        column.overflow = "fold"
    for request in requests:
        table.add_row(
            request.message_id,
            request.type,
            request.status,
            request.name,
            request.created.strftime("%Y-%m-%d %H:%M"),
            request.registration_id,
        )
    output.print(table)


@requests_app.command("approve")
def requests_approve(
    message_id: Annotated[str, typer.Argument(help="The request (a message_id) to approve.")],
    note: Annotated[str, typer.Option("--note", help="Added to the answer's description.")] = "",
    data_dir: DataDirOpt = None,
) -> None:
    """Approve a request and answer it: prints the answer's message_id."""
    from gridshare.grants.reviews import ReviewError, approve

    settings = _settings(data_dir=data_dir)
    try:
        with _transaction(settings) as session:
            answer = approve(session, settings, message_id, note)
            answer_id, related = answer.message_id, answer.related_uri
    except ReviewError as error:
        _fail(str(error))
    console.print(f"{message_id} approved" + (f": {related}" if related else "."), highlight=False)
    output.print(answer_id, highlight=False)


@requests_app.command("reject")
def requests_reject(
    message_id: Annotated[str, typer.Argument(help="The request (a message_id) to reject.")],
    reason: Annotated[str, typer.Option("--reason", help="Why: the client reads this.")],
    data_dir: DataDirOpt = None,
) -> None:
    """Reject a request, saying why: prints the answer's message_id."""
    from gridshare.grants.reviews import ReviewError, reject

    settings = _settings(data_dir=data_dir)
    try:
        with _transaction(settings) as session:
            answer_id = reject(session, settings, message_id, reason).message_id
    except ReviewError as error:
        _fail(str(error))
    console.print(f"{message_id} rejected.")
    output.print(answer_id, highlight=False)


@beckn_keys_app.command("show")
def beckn_keys_show(data_dir: DataDirOpt = None) -> None:
    """Print the registry subscribe payloads (one per accepted domain) of our current key, made
    now if there is none."""
    from gridshare.beckn import keys

    settings = _settings(data_dir=data_dir)
    with _transaction(settings) as session:
        payload = keys.subscriptions(settings, keys.current_key(session, settings))
    output.print_json(json.dumps(payload))


@beckn_keys_app.command("rotate")
def beckn_keys_rotate(data_dir: DataDirOpt = None) -> None:
    """Make a new key and retire the current one, which stays valid for verification during
    the grace period: prints the new subscribe payloads, to send to the registry."""
    from gridshare.beckn import keys

    settings = _settings(data_dir=data_dir)
    with _transaction(settings) as session:
        previous = keys.current_key(session, settings)
        new = keys.rotate(session, settings)
        payload = keys.subscriptions(settings, new)
    console.print(
        f"{previous.unique_key_id} retired: valid for verification until "
        f"{previous.valid_until:%Y-%m-%d %H:%M} UTC. New key {new.unique_key_id}: send the "
        "payloads below to the registry's /subscribe.",
        highlight=False,
        soft_wrap=True,
    )
    output.print_json(json.dumps(payload))


@orders_app.command("list")
def orders_list(
    status: Annotated[
        str | None, typer.Option("--status", help="Only orders of this status, e.g. PENDING.")
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=1000, help="At most this many, newest first.")
    ] = 50,
    data_dir: DataDirOpt = None,
) -> None:
    """List connection orders, newest first (times in the utility's time zone)."""
    from gridshare.utility import orders

    settings = _settings(data_dir=data_dir)
    try:
        with _transaction(settings) as session:
            found = orders.listing(session, status, limit)
    except orders.OrderError as error:
        _fail(str(error))
    if not found:
        console.print("No connection orders" + (f" with status {status}." if status else "."))
        return
    table = Table(
        "id",
        "created",
        "status",
        "item",
        "customer",
        "requester",
        "total",
        caption=f"times in {settings.timezone}",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    for index, column in enumerate(table.columns):
        column.no_wrap = index in (0, 2)
        column.overflow = "fold"
    for order in found:
        table.add_row(
            order.id,
            _local(settings, order.created),
            order.status,
            order.item_name,
            order.customer_name,
            order.requester,
            f"{order.total} {order.currency}",
        )
    output.print(table)


@orders_app.command("show")
def orders_show(
    order_id: Annotated[str, typer.Argument(metavar="ORDER", help="The order's id (CO-...).")],
    data_dir: DataDirOpt = None,
) -> None:
    """Show a connection order: terms, connection details, cancellation, history, documents
    submitted, ratings."""
    from gridshare.utility import order_documents, orders

    settings = _settings(data_dir=data_dir)
    with _transaction(settings) as session:
        order = orders.find(session, order_id)
        if order is None:
            console.print(f"[red]There is no connection order {order_id}.[/]", highlight=False)
            raise typer.Exit(1)
        history = orders.events(session, order.id)
        ratings = orders.ratings(session, order.id)
        documents = order_documents.of_submission(session, order.submission_id)
    fields = Table("field", "value", title=f"{order.id} ({settings.timezone})", show_header=False)
    for name, value in (
        ("status", order.status),
        ("created", _local(settings, order.created)),
        ("updated", _local(settings, order.updated)),
        ("channel", order.channel),
        ("requester", order.requester),
        ("transaction", order.transaction_id),
        ("item", f"{order.item_name} ({order.item_id})"),
        ("customer", order.customer_name),
        ("email", order.email),
        ("phone", order.phone),
        ("address", order.address),
        ("gps", order.gps),
        ("total", f"{order.total} {order.currency}"),
    ):
        fields.add_row(name, value or "")
    for name, value in order.details.items():
        fields.add_row(f"detail {name}", str(value))
    for name, value in (order.cancellation or {}).items():
        fields.add_row(f"cancellation {name}", "" if value is None else str(value))
    output.print(fields)
    events = Table("when", "change", "actor", "reason", title="history")
    for event in history:
        change = (
            f"{event.from_status} -> {event.to_status}" if event.from_status else event.to_status
        )
        events.add_row(_local(settings, event.at), change, event.actor, event.reason or "")
    output.print(events)
    if documents:
        files = Table("document", "file", "type", "bytes", title="documents submitted")
        for document in documents:
            files.add_row(
                document.label, document.filename, document.content_type, str(document.size)
            )
        output.print(files)
    if ratings:
        rated = Table("when", "category", "target", "value", title="ratings")
        for rating in ratings:
            rated.add_row(
                _local(settings, rating.at), rating.category, rating.target_id, rating.value
            )
        output.print(rated)


@orders_app.command("advance")
def orders_advance(
    order_id: Annotated[str, typer.Argument(metavar="ORDER", help="The order's id (CO-...).")],
    to: Annotated[
        str,
        typer.Option(
            "--to", help="The new status: IN_PROGRESS, COMPLETED, FAILED or CANCELLED, as allowed."
        ),
    ],
    reason: Annotated[str | None, typer.Option("--reason", help="Why, for the history.")] = None,
    detail: Annotated[
        list[str] | None,
        typer.Option(
            "--detail",
            metavar="CODE=VALUE",
            help="A connection detail to record, e.g. meter_id=M-123 (repeatable).",
        ),
    ] = None,
    as_name: Annotated[
        str | None, typer.Option("--as", help="Who makes the change (default: your login name).")
    ] = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Move a connection order to a new status; the requester is told (an on_status)."""
    import getpass

    from gridshare.utility import desk, orders, staff

    settings = _settings(data_dir=data_dir)
    try:
        who = staff.actor(as_name if as_name is not None else getpass.getuser())
        details = desk.checked_details(_pairs(detail or []))
        why = desk.checked_reason(reason)
        with _transaction(settings) as session:
            order = orders.find(session, order_id, lock=True)
            if order is None:
                _fail(f"there is no connection order {order_id}.")
            event = orders.advance(session, order, to, actor=who, reason=why, details=details)
            moved = f"{order.id}: {event.from_status} -> {event.to_status}"
    except (orders.OrderError, staff.StaffError) as error:
        _fail(f"{error}.")
    console.print(f"{moved} by {who}; the requester will be told.", highlight=False)
    output.print(event.to_status, highlight=False)


def _pairs(values: list[str]) -> dict[str, str]:
    """`CODE=VALUE` options as a mapping; a code given twice or without `=` is refused."""
    from gridshare.utility.orders import OrderError

    pairs: dict[str, str] = {}
    for value in values:
        code, equals, text = value.partition("=")
        code = code.strip()
        if not equals:
            raise OrderError(f"--detail {value!r} needs the form CODE=VALUE")
        if code in pairs:
            raise OrderError(f"--detail {code} is given twice")
        pairs[code] = text
    return pairs


def _local(settings: Settings, moment: datetime) -> str:
    return moment.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")


@staff_app.command("add")
def staff_add(
    name: Annotated[str, typer.Argument(help="The staff member's login name.")],
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read the password from the first line of stdin."),
    ] = False,
    data_dir: DataDirOpt = None,
) -> None:
    """Add a staff account for the connection desk (/desk); asks for the password twice unless
    --password-stdin."""
    import sys

    from gridshare.utility import staff

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    settings = _settings(data_dir=data_dir)
    try:
        with _transaction(settings) as session:
            staff.add(session, name, password)
    except staff.StaffError as error:
        _fail(f"{error}.")
    console.print(f"{name} can now log in at {settings.url('/desk/login')}", highlight=False)
