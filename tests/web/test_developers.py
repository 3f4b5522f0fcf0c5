"""The developer pages the authorization server metadata links to: human registration
(`cds_human_registration`) and test accounts (`cds_test_accounts`), CDS-WG1-02 §3.2."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from gridshare import urls
from gridshare.config import Settings
from gridshare.store.tables.customers import Customer
from gridshare.utility.customers import hash_password
from tests.oauth.authorization_setup import World, world


@pytest.fixture
def w(settings: Settings, engine: Engine) -> World:
    return world(settings, engine)


@pytest.mark.req("WG1-02-3.2-i")
def test_test_accounts_list_sandbox_customers_with_their_documented_passwords(w: World) -> None:
    with w.session() as session:
        session.add(
            Customer(
                id="cust-odd",
                name="Odd",
                username="odd",
                password_hash=hash_password("something-else"),
                is_test=True,
            )
        )
        session.commit()
    listing = w.http.get(urls.TEST_ACCOUNTS, headers={"Accept": "application/json"})
    assert listing.status_code == 200
    assert listing.json() == {
        "test_accounts": [
            {"username": "home", "password": "demo-home", "description": "home for tests"}
        ]
    }
    page = w.http.get(urls.TEST_ACCOUNTS)
    assert page.headers["content-type"].startswith("text/html")
    assert "<code>demo-home</code>" in page.text
    assert "alice" not in page.text  # a real customer
    assert "odd" not in page.text  # its password is not the documented one


@pytest.mark.req("WG1-02-3.2-g")
def test_the_human_registration_page_explains_registration(w: World) -> None:
    page = w.http.get(urls.HUMAN_REGISTRATION)
    assert page.status_code == 200
    assert f"http://testserver{urls.REGISTER}" in page.text
    assert f'href="http://testserver{urls.AS_METADATA}"' in page.text
    assert w.settings.support_email in page.text
