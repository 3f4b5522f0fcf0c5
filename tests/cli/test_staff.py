"""`gridshare staff add NAME`: a staff account for the connection desk, the password asked twice
(hidden) or read from stdin."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner, Result

from gridshare.cli import app
from gridshare.config import Settings
from gridshare.store.db import session_factory
from gridshare.utility import staff

PASSWORD = "correct horse battery"


class CliCall:
    def __init__(self, settings: Settings) -> None:
        assert settings.database_url is not None
        self.env = {
            "GRIDSHARE_DATABASE_URL": settings.database_url,
            "GRIDSHARE_DATA_DIR": str(settings.data_dir),
            "GRIDSHARE_BASE_URL": settings.base_url,
        }

    def __call__(self, *args: str, stdin: str) -> Result:
        return CliRunner().invoke(app, ["staff", *args], input=stdin, env=self.env)


@pytest.fixture
def gridshare(settings: Settings, engine: Engine) -> Iterator[CliCall]:
    yield CliCall(settings)


def _verifies(engine: Engine, name: str, password: str) -> bool:
    with session_factory(engine)() as session:
        return staff.verify(session, name, password) is not None


def test_add_asks_for_the_password_twice_without_echoing_it(
    engine: Engine, gridshare: CliCall
) -> None:
    added = gridshare("add", "ana", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert added.exit_code == 0, added.output
    assert PASSWORD not in added.output
    assert "ana can now log in at http://testserver/desk/login" in added.stderr
    assert _verifies(engine, "ana", PASSWORD)


def test_add_asks_again_when_the_two_differ(engine: Engine, gridshare: CliCall) -> None:
    added = gridshare("add", "ana", stdin=f"{PASSWORD}\nsomething else\n{PASSWORD}\n{PASSWORD}\n")
    assert added.exit_code == 0, added.output
    assert "do not match" in added.output
    assert _verifies(engine, "ana", PASSWORD)


def test_add_reads_the_password_from_stdin(engine: Engine, gridshare: CliCall) -> None:
    added = gridshare("add", "ben", "--password-stdin", stdin=f"{PASSWORD}\n")
    assert added.exit_code == 0, added.output
    assert _verifies(engine, "ben", PASSWORD)


@pytest.mark.parametrize(
    ("name", "password", "message"),
    [
        ("ana lopez", PASSWORD, "cannot name a staff member"),
        ("ana", "short", "needs 10 to 1024 characters"),
        ("taken", PASSWORD, "already a staff member taken"),
    ],
)
def test_add_refuses_and_writes_nothing(
    engine: Engine, gridshare: CliCall, name: str, password: str, message: str
) -> None:
    assert gridshare("add", "taken", "--password-stdin", stdin="first password\n").exit_code == 0
    refused = gridshare("add", name, "--password-stdin", stdin=f"{password}\n")
    assert refused.exit_code == 1
    assert "Nothing was changed." in refused.stderr and message in refused.stderr
    assert not _verifies(engine, name, password)
