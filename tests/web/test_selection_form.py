"""The authorization form's Selection Components, the form error when nothing is chosen and the
Preselection Error page (CDS-WG3-01 §9.2.3, §9.2.1.6, §9.3.1), over HTTP through the real
authorize -> login -> form flow."""

from __future__ import annotations

import json
import re
from datetime import date
from html import escape
from typing import Any
from urllib.parse import urlencode

import pytest
from httpx import Response
from sqlalchemy import Engine, func, select

from gridshare import urls
from gridshare.config import Settings
from gridshare.store.tables.aggregations import Aggregation, AggregationMember
from gridshare.store.tables.contracts import ServiceContract
from gridshare.store.tables.grants import Grant
from gridshare.store.tables.meters import MeterDevice, MeterInstallation
from gridshare.store.tables.servicepoints import ServicePoint, ServicePointContract
from tests.oauth.authorization_setup import (
    ACCOUNTS,
    TEST_CUSTOMER,
    World,
    hidden,
    redirect_params,
    set_client,
    ticks,
    world,
)

CONTRACTS = "cds_service_contracts_1"


@pytest.fixture
def w(settings: Settings, engine: Engine) -> World:
    return world(settings, engine)


def _form(w: World, scope: str = ACCOUNTS, **details: Any) -> tuple[str, str]:
    """Log in and open the form for `scope`, with `details` as its authorization_details entry."""
    extra = {}
    if details:
        extra["authorization_details"] = json.dumps([{"type": scope, **details}])
    consent = w.consent_path(w.authorize(w.query(scope=scope, **extra)))
    w.log_in(*TEST_CUSTOMER, consent)
    page = w.http.get(consent)
    assert page.status_code == 200, page.text
    return consent, page.text


def _post(w: World, consent: str, fields: list[tuple[str, str]]) -> Response:
    return w.http.post(
        consent,
        content=urlencode(fields),
        headers={"content-type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )


def _add_contract(w: World) -> None:
    """Give the test customer's account an electricity service."""
    with w.session() as session:
        session.add(
            ServiceContract(
                id="sc-home",
                account_id="acct-home",
                contract_number="SC-77",
                address="1 Main St, Davis, CA 95616",
                types=["residential"],
                status="active",
                service_types=["electric"],
            )
        )
        session.commit()


def _grants(w: World) -> list[Grant]:
    with w.session() as session:
        return list(session.scalars(select(Grant)))


@pytest.mark.req("WG3-9.2.3.1-a", "WG3-9.2.2.3-a", "WG3-9.2.1.4-a", "WG3-9.2.3-b")
def test_the_accounts_are_listed_with_number_name_and_address(w: World) -> None:
    _, html = _form(w)
    entry = re.search(r'<li data-text="[^"]*"><label>.*?</label></li>', html, re.S)
    assert entry is not None
    assert 'name="select.cds_accounts_1" value="acct-home"' in entry.group(0)
    for shown in ("Account HOME-1", "Home at home", "1 Main St, Davis, CA 95616"):
        assert shown in entry.group(0)
    assert "checked" not in entry.group(0), "nothing is preselected"
    assert "Select all accounts" in html
    assert 'name="future.cds_accounts_1"' in html
    assert "Also share accounts I add in the future" in html
    order = [html.index(mark) for mark in ('class="duration"', 'class="selection"')]
    assert order == sorted(order), "Data and Duration come before the Selection"


@pytest.mark.req("WG3-9.2.1.6-c")
def test_approving_with_nothing_selected_points_at_the_list_and_can_be_corrected(
    w: World,
) -> None:
    consent, html = _form(w)
    csrf = hidden(html, "csrf_token")
    refused = _post(w, consent, [("decision", "approve"), ("csrf_token", csrf)])
    assert refused.status_code == 422
    alert = re.search(r'<p class="error" role="alert" id="([^"]+)">([^<]+)</p>', refused.text)
    assert alert is not None
    assert alert.group(2) == "Choose at least one account to share, or choose Decline."
    assert f'aria-describedby="{alert.group(1)}"' in refused.text
    assert _grants(w) == []
    fields = [("decision", "approve"), ("csrf_token", csrf), *ticks(refused.text)]
    fields.append(("future.cds_accounts_1", "yes"))
    approved = _post(w, consent, fields)
    assert "code" in redirect_params(approved)
    [grant] = _grants(w)
    assert grant.selections == [
        {
            "scopes": [ACCOUNTS],
            "type": "account_selection",
            "ids": ["acct-home"],
            "include_future": True,
        }
    ]


def test_ticks_of_resources_the_customer_does_not_hold_are_ignored(w: World) -> None:
    consent, html = _form(w)
    fields = [("decision", "approve"), ("csrf_token", hidden(html, "csrf_token"))]
    refused = _post(w, consent, [*fields, ("select.cds_accounts_1", "acct-alice")])
    assert refused.status_code == 422, "another customer's account is not a choice"
    assert _grants(w) == []


@pytest.mark.req("WG3-9.2.3-d", "WG3-7.1-d")
def test_preselected_accounts_arrive_ticked(w: World) -> None:
    _, html = _form(w, account_numbers=["HOME-1"])
    assert re.search(r'value="acct-home" checked', html)
    assert not re.search(r'name="future.cds_accounts_1" value="yes" checked', html)
    _, html = _form(w, account_numbers=["_all", "_include_future"])
    assert re.search(r'value="acct-home" checked', html)
    assert re.search(r'name="future.cds_accounts_1" value="yes" checked', html)


@pytest.mark.req("WG3-9.3.1-a", "WG3-9.3.1-b", "WG3-7.4.3-b")
def test_a_request_for_resources_the_customer_lacks_shows_the_preselection_error(
    w: World,
) -> None:
    consent, html = _form(w, account_numbers=["NOPE-9", "NOPE-8"], error_if_no_preselections=True)
    assert "We could not find what Sunny App asked for" in html
    assert "<li>Accounts: NOPE-9, NOPE-8</li>" in html
    assert 'name="decision" value="approve"' not in html
    switch = re.search(rf'<form method="post" action="{urls.LOGOUT}">.*?</form>', html, re.S)
    assert switch is not None and "Log in as someone else" in switch.group(0)
    assert hidden(switch.group(0), "next") == consent
    csrf = hidden(html, "csrf_token")
    forced = _post(w, consent, [("decision", "approve"), ("csrf_token", csrf)])
    assert forced.status_code == 422 and _grants(w) == []
    declined = _post(w, consent, [("decision", "no_preselections"), ("csrf_token", csrf)])
    params = redirect_params(declined)
    assert params["error"] == "no_preselections"
    assert params["state"] == "st-123"
    assert _grants(w) == []


@pytest.mark.req("WG3-7.4.3-c")
def test_unmatched_preselections_without_the_error_field_show_the_form(w: World) -> None:
    _, html = _form(w, account_numbers=["NOPE-9"])
    assert 'name="decision" value="approve"' in html
    assert not re.search(r'value="acct-home" checked', html)


@pytest.mark.req("WG3-9.2.3.2-a", "WG3-7.4.1-c")
def test_service_contracts_show_number_services_account_and_address(w: World) -> None:
    _add_contract(w)
    set_client(w, scope=f"cds_client_admin {ACCOUNTS} {CONTRACTS}")
    _, html = _form(w, CONTRACTS)
    entry = re.search(r'<li data-text="[^"]*"><label>.*?</label></li>', html, re.S)
    assert entry is not None
    assert 'name="select.cds_service_contracts_1" value="sc-home"' in entry.group(0)
    for shown in ("Service SC-77", "electricity service on account HOME-1", "1 Main St"):
        assert shown in entry.group(0)
    _, html = _form(w, CONTRACTS, authorization_form_selection_type="account_selection")
    assert 'name="select.cds_service_contracts_1" value="acct-home"' in html


@pytest.mark.req("WG3-9.2.2.2-b")
def test_a_snapshot_request_says_there_will_be_no_updates(w: World) -> None:
    _, html = _form(w, sync_until="PT0S")
    assert "A one-time copy of your current details; no updates after today." in html


@pytest.mark.req("WG3-9.2.1.6-b")
def test_decline_needs_no_selection(w: World) -> None:
    consent, html = _form(w)
    declined = _post(
        w, consent, [("decision", "decline"), ("csrf_token", hidden(html, "csrf_token"))]
    )
    assert redirect_params(declined)["error"] == "access_denied"
    with w.session() as session:
        assert session.scalar(select(func.count()).select_from(Grant)) == 0


@pytest.mark.req("WG3-9.2.1.1-a", "WG3-9.2.1.1-d", "WG3-9.2.1.7-a", "WG3-9.2.1.7-b")
def test_header_and_footer(w: World, settings: Settings) -> None:
    consent, html = _form(w)
    header = html[html.index('class="form-header"') : html.index('class="requester"')]
    assert "Share your data with Sunny App?" in header
    assert f"An authorization request to {escape(settings.utility_name)}." in header
    assert "<nav" not in html, "no site navigation on the form"
    footer = html[html.index('class="form-footer"') :]
    switch = re.search(rf'<form method="post" action="{urls.LOGOUT}">.*?</form>', footer, re.S)
    assert switch is not None and hidden(switch.group(0), "next") == consent
    support = re.search(rf'<a href="{re.escape(settings.support)}"[^>]*>', footer)
    assert support is not None and 'target="_blank"' in support.group(0)
    logged_out = w.http.post(
        urls.LOGOUT,
        data={"csrf_token": hidden(switch.group(0), "csrf_token"), "next": consent},
        follow_redirects=False,
    )
    assert logged_out.status_code == 303
    back = w.http.get(consent, follow_redirects=False)
    assert back.status_code == 303 and back.headers["location"].startswith(urls.LOGIN)


def _meter_world(w: World) -> None:
    """Give the test customer a service with a service location, a meter and a building group."""
    _add_contract(w)
    with w.session() as session:
        session.add(
            ServicePoint(
                id="sp-home",
                servicepoint_number="SP-5",
                types=["electric_point"],
                address="1 Main St, Davis, CA 95616",
            )
        )
        session.add(MeterDevice(id="m-home", meter_number="MTR-9", types=["ami_meter"]))
        session.add(
            Aggregation(
                id="g-home",
                aggregation_number="BLDG-1",
                name="Main Street Lofts",
                types=["building"],
                addresses=["1 Main St, Davis, CA 95616"],
            )
        )
        session.flush()
        session.add(
            ServicePointContract(
                service_point_id="sp-home", contract_id="sc-home", start=date(2020, 1, 1)
            )
        )
        session.add(
            MeterInstallation(meter_id="m-home", service_point_id="sp-home", start=date(2020, 1, 1))
        )
        session.add(AggregationMember(aggregation_id="g-home", meter_id="m-home"))
        session.commit()
    set_client(w, scope=f"cds_client_admin {ACCOUNTS} cds_meters_1 cds_usage_1")


def _entry(html: str, scope: str) -> str:
    entry = re.search(
        rf'<li data-text="[^"]*"><label><input type="checkbox" data-entry name="select\.{scope}"'
        r".*?</label></li>",
        html,
        re.S,
    )
    assert entry is not None
    return entry.group(0)


@pytest.mark.req("WG3-9.2.3.3-a", "WG3-9.2.3.4-a", "WG3-9.2.3.5-b")
def test_service_location_meter_and_group_entries(w: World) -> None:
    _meter_world(w)
    meter = _entry(_form(w, "cds_meters_1")[1], "cds_meters_1")
    assert 'value="m-home"' in meter and "Meter MTR-9" in meter and "ami meter" in meter
    _, html = _form(w, "cds_meters_1", authorization_form_selection_type="servicepoint_selection")
    point = _entry(html, "cds_meters_1")
    for shown in ('value="sp-home"', "Service location SP-5", "electric point", "1 Main St"):
        assert shown in point
    _, html = _form(w, "cds_usage_1", authorization_form_selection_type="aggregation_selection")
    group = _entry(html, "cds_usage_1")
    for shown in ('value="g-home"', "Group BLDG-1", "Main Street Lofts", "building", "1 Main St"):
        assert shown in group


@pytest.mark.req("WG3-9.2.2.1-b")
def test_a_details_toggle_gives_each_kind_of_data_with_an_example(w: World) -> None:
    _, html = _form(w)
    toggle = re.search(r'<details class="data-details">(.*?)</details>', html, re.S)
    assert toggle is not None
    assert "<summary>See details</summary>" in toggle.group(1)
    kinds = re.findall(r"<dt>([^<]+)</dt><dd>For example: ([^<]+)</dd>", toggle.group(1))
    assert ("Your account numbers", "account 4100000291-9") in kinds
    assert len(kinds) == len(
        re.findall(r"<li>", html[: html.index("<details")].split("This includes:")[-1])
    )
    assert "include_" not in toggle.group(1)
