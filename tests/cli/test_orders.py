"""`gridshare orders list/show/advance`: the connection desk on the command line (DEG Connections
guide v1.1 connection-status), run with Typer's CliRunner on the test database. A change is an
order event by `staff:<name>` and one `order_event` outbox item (the Beckn face's on_status);
a refused change writes neither."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner, Result

from gridshare.cli import app
from gridshare.config import Settings
from gridshare.store.db import session_factory, transaction
from gridshare.store.tables.orders import ConnectionOrder
from gridshare.utility import order_documents, orders
from tests.utility.order_setup import BAP, history, move, new_order, outbox_items, place, status


class CliCall:
    """`gridshare ARGS` on the test database, on a wide terminal, as OS user `desk-op`."""

    def __init__(self, settings: Settings) -> None:
        assert settings.database_url is not None
        self.env = {
            "GRIDSHARE_DATABASE_URL": settings.database_url,
            "GRIDSHARE_DATA_DIR": str(settings.data_dir),
            "GRIDSHARE_BASE_URL": settings.base_url,
            "GRIDSHARE_TIMEZONE": "America/Los_Angeles",
            "COLUMNS": "250",
            "LOGNAME": "desk-op",
        }

    def __call__(self, *args: str) -> Result:
        return CliRunner().invoke(app, list(args), env=self.env)


@pytest.fixture
def gridshare(settings: Settings, engine: Engine) -> Iterator[CliCall]:
    yield CliCall(settings)


def test_list_shows_orders_newest_first_in_local_time(engine: Engine, gridshare: CliCall) -> None:
    empty = gridshare("orders", "list")
    assert empty.exit_code == 0, empty.output
    assert empty.stdout == "" and "No connection orders." in empty.stderr
    with transaction(session_factory(engine)) as session:
        older, _ = orders.take(
            session, new_order("txn-1"), now=datetime(2026, 11, 20, 17, 5, tzinfo=UTC)
        )
        newer, _ = orders.take(
            session,
            new_order("txn-2", customer_name="Maria Chen"),
            now=datetime(2026, 11, 21, 17, 5, tzinfo=UTC),
        )
    move(engine, newer.id, orders.IN_PROGRESS)
    listed = gridshare("orders", "list")
    assert listed.exit_code == 0, listed.output
    assert "times in America/Los_Angeles" in listed.stdout
    assert listed.stdout.index(newer.id) < listed.stdout.index(older.id)
    row = next(line for line in listed.stdout.splitlines() if older.id in line)
    for shown in ("2026-11-20 09:05", "PENDING", "New Residential Connection"):
        assert shown in row
    for shown in ("Jonathan Park", BAP, "200.00 USD"):
        assert shown in row
    pending = gridshare("orders", "list", "--status", "pending")
    assert older.id in pending.stdout and newer.id not in pending.stdout
    limited = gridshare("orders", "list", "--limit", "1")
    assert newer.id in limited.stdout and older.id not in limited.stdout
    bogus = gridshare("orders", "list", "--status", "shipped")
    assert bogus.exit_code == 1 and "not a connection status" in bogus.stderr


def test_show_prints_the_order_its_details_history_and_ratings(
    engine: Engine, gridshare: CliCall
) -> None:
    order_id = place(engine)
    with transaction(session_factory(engine)) as session:
        order = session.get_one(ConnectionOrder, order_id)
        orders.advance(
            session,
            order,
            orders.IN_PROGRESS,
            actor="staff:ana",
            reason="technician assigned",
            details={"meter_id": "der://puh.meter/84469825"},
        )
        orders.advance(session, order, orders.CANCELLED, actor="staff:ana", reason="site unsafe")
        orders.rate(session, order, "Provider", "sf_electric_authority", "4")
    shown = gridshare("orders", "show", order_id)
    assert shown.exit_code == 0, shown.output
    out = shown.stdout
    for text in (
        order_id,
        "CANCELLED",
        "Jonathan Park",
        "910 Pinecrest Blvd",
        "200.00 USD",
        "txn-1",
        "der://puh.meter/84469825",
        "cancelled_by",
        "PROVIDER",
        "PENDING -> IN_PROGRESS",
        "IN_PROGRESS -> CANCELLED",
        "technician assigned",
        "site unsafe",
        "staff:ana",
        "sf_electric_authority",
    ):
        assert text in out, text
    missing = gridshare("orders", "show", "CO-NOSUCHORDR")
    assert missing.exit_code == 1 and "no connection order CO-NOSUCHORDR" in missing.stderr


def test_advance_records_the_change_and_announces_it(engine: Engine, gridshare: CliCall) -> None:
    order_id = place(engine)
    done = gridshare(
        "orders",
        "advance",
        order_id,
        "--to",
        "IN_PROGRESS",
        "--reason",
        "technician assigned",
        "--as",
        "ana.lopez",
    )
    assert done.exit_code == 0, done.output
    assert done.stdout.strip() == "IN_PROGRESS"
    assert f"{order_id}: PENDING -> IN_PROGRESS by staff:ana.lopez" in done.stderr
    event = history(engine, order_id)[-1]
    assert (event.from_status, event.to_status) == ("PENDING", "IN_PROGRESS")
    assert (event.actor, event.reason) == ("staff:ana.lopez", "technician assigned")
    [item] = outbox_items(engine)
    assert item.kind == "order_event"
    assert item.payload == {"order_id": order_id, "event_id": event.id, "channel": "beckn"}


def test_advance_defaults_to_the_os_user_and_records_details(
    engine: Engine, gridshare: CliCall
) -> None:
    order_id = place(engine)
    move(engine, order_id, orders.IN_PROGRESS)
    done = gridshare(
        "orders",
        "advance",
        order_id,
        "--to",
        "completed",
        "--detail",
        "consumer_number=SFEA-928384",
        "--detail",
        "meter_id=der://puh.meter/84469825",
        "--detail",
        "connection_start_date=2025-05-10",
    )
    assert done.exit_code == 0, done.output
    assert history(engine, order_id)[-1].actor == "staff:desk-op"
    with session_factory(engine)() as session:
        details = session.get_one(ConnectionOrder, order_id).details
    assert details == {
        "consumer_number": "SFEA-928384",
        "meter_id": "der://puh.meter/84469825",
        "connection_start_date": "2025-05-10",
    }
    assert len(outbox_items(engine)) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--to", "COMPLETED"], "is PENDING; it can move to IN_PROGRESS, FAILED, CANCELLED"),
        (["--to", "ON_HOLD"], "not a connection status"),
        (["--to", "IN_PROGRESS", "--detail", "colour=blue"], "use consumer_number, meter_id"),
        (["--to", "IN_PROGRESS", "--detail", "meter_id"], "needs the form CODE=VALUE"),
        (["--to", "IN_PROGRESS", "--detail", "meter_id= "], "meter_id needs a value of 1 to 199"),
        (["--to", "IN_PROGRESS", "--detail", f"meter_id={'x' * 200}"], "1 to 199 characters"),
        (["--to", "IN_PROGRESS", "--detail", "meter_id=a", "--detail", "meter_id=b"], "twice"),
        (["--to", "IN_PROGRESS", "--reason", "x" * 1001], "at most 1000 characters"),
        (["--to", "IN_PROGRESS", "--as", "ana lopez"], "cannot name a staff member"),
    ],
)
def test_a_refused_change_exits_1_and_writes_nothing(
    engine: Engine, gridshare: CliCall, args: list[str], message: str
) -> None:
    order_id = place(engine)
    refused = gridshare("orders", "advance", order_id, *args)
    assert refused.exit_code == 1, refused.output
    assert "Nothing was changed." in refused.stderr
    assert message in " ".join(refused.stderr.split())
    assert status(engine, order_id) == orders.PENDING
    assert len(history(engine, order_id)) == 1
    assert outbox_items(engine) == []


def test_a_final_order_cannot_move(engine: Engine, gridshare: CliCall) -> None:
    order_id = place(engine)
    move(engine, order_id, orders.FAILED)
    refused = gridshare("orders", "advance", order_id, "--to", "CANCELLED")
    assert refused.exit_code == 1
    assert "none: FAILED is final" in refused.stderr
    assert len(outbox_items(engine)) == 1  # the move to FAILED only


def test_an_unknown_order_exits_1(gridshare: CliCall) -> None:
    refused = gridshare("orders", "advance", "CO-NOSUCHORDR", "--to", "IN_PROGRESS")
    assert refused.exit_code == 1
    assert "there is no connection order CO-NOSUCHORDR" in refused.stderr


def test_show_lists_the_documents_submitted(engine: Engine, gridshare: CliCall) -> None:
    with transaction(session_factory(engine)) as session:
        order_documents.add(
            session,
            "sub-1",
            [order_documents.NewDocument("ID proof", "id.pdf", "application/pdf", b"%PDF-1.4\n")],
        )
    order_id = place(engine, submission_id="sub-1")
    shown = gridshare("orders", "show", order_id)
    assert shown.exit_code == 0, shown.output
    assert "documents submitted" in shown.output
    assert "ID proof" in shown.output and "id.pdf" in shown.output
