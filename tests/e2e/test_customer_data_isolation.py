"""Two Customers authorize the same app over real HTTP; neither's token sees the other's data
(DESIGN rule 2, CDS-WG3-01 §6, §7.2, §10), and a revocation stops only the revoking Customer's
token (§9.4, WG1-02 §8).

`gridshare serve` runs in its own process over a small demo utility; the app registers, the
Customers log in and approve on the HTML forms, then every page of all nine Customer Data APIs is
read with each token. Objects legitimately shared between Customers are excepted: Aggregations
(they group many Customers' resources), entities (the utility itself) and `general` EACs (the
utility's certificates, shared by every Customer).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests

from gridshare import urls
from tests.e2e.servers import serving_small_demo
from tests.e2e.test_wg3_01_examples import _basic, approve, forms_of, log_in, pkce_pair

pytestmark = pytest.mark.slow

CALLBACK = "https://app.example/callback"
SCOPE = "cds_usage_1 cds_bill_statements_1"
USAGE = {
    "type": "cds_usage_1",
    "segment_start": "P3Y",
    "include_accounts": True,
    "include_account_numbers": False,
    "include_service_contracts": True,
    "include_contract_numbers": False,
    "include_service_points": True,
    "include_premises": False,
    "include_service_point_addresses": False,
    "include_coordinates": False,
    "include_meter_devices": True,
    "include_meter_numbers": False,
    "include_bill_sections": True,
    "include_bill_section_line_items": False,
}
BILLS = {
    "type": "cds_bill_statements_1",
    "statement_date_start": "P3Y",
    "include_bill_statement_files": False,
    "include_bill_statement_charges": False,
}
APIS = {
    urls.ACCOUNTS: ("accounts", "cds_account_id"),
    urls.SERVICE_CONTRACTS: ("service_contracts", "cds_servicecontract_id"),
    urls.SERVICE_POINTS: ("service_points", "cds_servicepoint_id"),
    urls.METER_DEVICES: ("meter_devices", "cds_meterdevice_id"),
    urls.BILL_STATEMENTS: ("bill_statements", "cds_billstatement_id"),
    urls.BILL_SECTIONS: ("bill_sections", "cds_billsection_id"),
    urls.AGGREGATIONS: ("aggregations", "cds_aggregation_id"),
    urls.USAGE_SEGMENTS: ("usage_segments", "cds_usagesegment_id"),
    urls.EACS: ("eacs", "cds_eac_id"),
}
"""Per API: its listing's name and its objects' id field."""
SHARED = {urls.AGGREGATIONS, urls.EACS}
"""APIs whose objects may be shared by Customers (Aggregations; the utility's general EACs)."""
SCOPED = {urls.AGGREGATIONS, urls.EACS}
"""APIs these scopes may not give at all (403 then, nothing listed)."""
FORBIDDEN = {
    # account_number is allowed: the Bill Statements scope includes account numbers (§6.1.7)
    "contract_number",  # include_contract_numbers false
    "meter_number",  # include_meter_numbers false
    "meter_numbers",
    "servicepoint_address",  # include_service_point_addresses false
    "coordinates",  # include_coordinates false
    "premise",  # include_premises false
    "line_items",  # include_bill_section_line_items false
    "file_uri",  # include_bill_statement_files false
    "file_mimetype",
}
"""Fields that the include flags above leave out, wherever they would appear."""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serving_small_demo(tmp_path_factory.mktemp("isolation"), "isolation") as base:
        yield base


def _every(base: str, path: str, token: str) -> tuple[int, list[dict[str, Any]]]:
    """The status and every object of a listing, following `next`."""
    name, _ = APIS[path]
    headers = {"Authorization": f"Bearer {token}"}
    answer = requests.get(base + path, headers=headers, timeout=60)
    found: list[dict[str, Any]] = []
    while answer.status_code == 200:
        body = answer.json()
        found += body[name]
        if body["next"] is None:
            break
        answer = requests.get(body["next"], headers=headers, timeout=60)
    return answer.status_code, found


def _ids(value: Any) -> Iterator[str]:
    """Every id anywhere in an object: `cds_*_id` fields and `related_*` / id-list values."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("account_entity", "contract_entity", "entity", "aggregation"):
                continue  # the utility entity is everyone's
            if key.startswith("cds_") and key.endswith("_id") and isinstance(item, str):
                yield item
            elif key.startswith(("related_", "current_")) and isinstance(item, list):
                yield from (i for i in item if isinstance(i, str))
            else:
                yield from _ids(item)
    elif isinstance(value, list):
        for item in value:
            yield from _ids(item)


def _keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item)


def _authorize(base: str, metadata: dict[str, Any], app: dict[str, str], username: str) -> Any:
    verifier, challenge = pkce_pair()
    link = requests.Request(
        "GET",
        metadata["authorization_endpoint"],
        params={
            "response_type": "code",
            "client_id": app["client_id"],
            "redirect_uri": CALLBACK,
            "scope": SCOPE,
            "state": username,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "authorization_details": json.dumps([USAGE, BILLS]),
        },
    ).prepare()
    callback = approve(
        requests.Session(), str(link.url), username, f"demo-{username}", tick_all=True
    )
    assert callback.startswith(CALLBACK + "?"), callback
    code = parse_qs(urlsplit(callback).query)["code"][0]
    token = requests.post(
        metadata["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "code_verifier": verifier,
        },
        auth=_basic(app["client_id"], app["secret"]),
        timeout=60,
    )
    assert token.status_code == 200, token.text
    return token.json()


def _app(base: str, metadata: dict[str, Any]) -> dict[str, str]:
    """A registered app's sandbox consent Client Object (with our callback) and its secret."""
    body = {
        "client_name": "Isolation App",
        "scope": f"cds_client_admin {SCOPE}",
        "cds_company_name": "Isolation Inc.",
    }
    admin = requests.post(metadata["registration_endpoint"], json=body, timeout=60).json()
    token = requests.post(
        metadata["token_endpoint"],
        data={"grant_type": "client_credentials", "scope": "cds_client_admin"},
        auth=_basic(admin["client_id"], admin["client_secret"]),
        timeout=60,
    ).json()
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    clients = requests.get(metadata["cds_clients_api"], headers=bearer, timeout=60).json()
    [sandbox] = [c for c in clients["clients"] if "code" in c["response_types"]]
    sandbox["redirect_uris"] = [*sandbox["redirect_uris"], CALLBACK]
    put = requests.put(sandbox["cds_client_uri"], json=sandbox, headers=bearer, timeout=60)
    assert put.status_code == 200, put.text
    credentials = requests.get(
        metadata["cds_credentials_api"],
        params={"client_ids": sandbox["client_id"]},
        headers=bearer,
        timeout=60,
    ).json()["credentials"]
    return {"client_id": sandbox["client_id"], "secret": credentials[0]["client_secret"]}


@pytest.mark.req("WG3-6-a", "WG3-7.2-a", "WG3-9.4-a", "WG3-10-b")
def test_two_customers_see_only_their_own_data_and_revocation_is_theirs(server: str) -> None:
    cds = requests.get(f"{server}/.well-known/cds-server-metadata.json", timeout=60).json()
    metadata = requests.get(cds["oauth_metadata"], timeout=60).json()
    app = _app(server, metadata)
    tokens = {name: _authorize(server, metadata, app, name) for name in ("home", "business")}

    seen: dict[str, dict[str, set[str]]] = {name: {} for name in tokens}
    for name, token in tokens.items():
        for path, (_, id_field) in APIS.items():
            status, objects = _every(server, path, token["access_token"])
            if path in SCOPED and status == 403:
                continue
            assert status == 200, f"{name} {path}: {status}"
            if path not in SCOPED:
                assert objects, f"{name} {path}: nothing listed"
            leaked = FORBIDDEN & set(_keys(objects))
            assert not leaked, f"{name} {path}: fields outside the include flags {leaked}"
            own = {o[id_field] for o in objects}
            related = set(_ids(objects)) - own
            seen[name][path] = own if path in SHARED else own | related
    home, business = seen["home"], seen["business"]
    for path in APIS:
        if path in SHARED:
            continue
        both = home.get(path, set()) & business.get(path, set())
        assert not both, f"{path}: ids seen by both customers {both}"
    every_home = set().union(*(ids for p, ids in home.items() if p not in SHARED))
    every_business = set().union(*(ids for p, ids in business.items() if p not in SHARED))
    assert not every_home & every_business, "an id reaches both customers"

    # home revokes on the connected-apps page; home's token stops, business's still works
    browser = requests.Session()
    page = log_in(browser, f"{server}{urls.CONNECTED_APPS}", "home", "demo-home")
    [revoke] = [f for f in forms_of(page) if f.action.endswith("/revoke")]
    done = browser.post(urljoin(page.url, revoke.action), data=revoke.fields)
    assert done.status_code == 200, done.text
    after = requests.get(
        server + urls.ACCOUNTS,
        headers={"Authorization": f"Bearer {tokens['home']['access_token']}"},
        timeout=60,
    )
    assert after.status_code == 401, after.text
    still = requests.get(
        server + urls.ACCOUNTS,
        headers={"Authorization": f"Bearer {tokens['business']['access_token']}"},
        timeout=60,
    )
    assert still.status_code == 200, still.text
