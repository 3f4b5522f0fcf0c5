"""Checks of ESPI documents with independent tools, offline: the XSDs (strict Atom 3.3 + espi.xsd +
customer.xsd, tests/espi/specs/schema) and the Green Button Alliance's compiled function-block
Schematron checks (tests/espi/specs/schematron/FB_*.xsl), both run by lxml.

- `schema_errors(document)`: the XSD validation errors of a feed or entry (empty when valid);
  `assert_valid(document)` fails the test with them.
- `schematron_failures(document, *blocks)`: the failed assertions of the FB_nn checks (each one
  the XSL's `<assert TestID=...>`), empty when every check passes; `assert_schematron(...)`.
- `parse(document)`, `entries(tree)`, `links(entry)`: reading a feed back for graph checks.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final

from lxml import etree

SPECS: Final = Path(__file__).parent / "specs"
SCHEMA_DIR: Final = SPECS / "schema"
SCHEMATRON_DIR: Final = SPECS / "schematron"
ATOM: Final = "http://www.w3.org/2005/Atom"
ESPI: Final = "http://naesb.org/espi"
NS: Final = {"atom": ATOM, "espi": ESPI, "cust": "http://naesb.org/espi/customer"}
_WRAPPER: Final = f"""<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:import namespace="{ATOM}" schemaLocation="atom.xsd"/>
  <xs:import namespace="{ESPI}" schemaLocation="espi.xsd"/>
  <xs:import namespace="{NS["cust"]}" schemaLocation="customer.xsd"/>
</xs:schema>"""


@cache
def schema() -> etree.XMLSchema:
    """One schema holding Atom, espi and customer (a wrapper importing the three files)."""
    wrapper = etree.XML(_WRAPPER.encode(), base_url=(SCHEMA_DIR / "wrapper.xsd").as_uri())
    return etree.XMLSchema(wrapper)


def schema_errors(document: bytes) -> list[str]:
    checker = schema()
    if checker.validate(etree.fromstring(document)):
        return []
    logged: Iterable[etree._LogEntry] = checker.error_log  # type: ignore[assignment]
    return [f"line {e.line}: {e.message}" for e in logged]


def assert_valid(document: bytes) -> None:
    errors = schema_errors(document)
    assert not errors, "\n".join(errors[:20])


@dataclass(frozen=True)
class Failure:
    block: str
    test_id: str
    name: str
    report: str


@cache
def _transform(block: str) -> etree.XSLT:
    return etree.XSLT(etree.parse(str(SCHEMATRON_DIR / f"FB_{block}.xsl")))


def schematron_failures(document: bytes, *blocks: str) -> list[Failure]:
    """The failed assertions of the named function blocks' checks (`"01"`, `"04"`, ...)."""
    tree = etree.fromstring(document).getroottree()
    found = []
    for block in blocks:
        result = _transform(block)(tree)
        for failed in result.getroot().iter("assert"):
            found.append(
                Failure(
                    block,
                    str(failed.get("TestID")),
                    (failed.findtext("TestName") or "").strip(),
                    (failed.findtext("Report") or "").strip(),
                )
            )
    return found


def assert_schematron(document: bytes, *blocks: str) -> None:
    failures = schematron_failures(document, *blocks)
    assert not failures, "\n".join(map(str, failures[:20]))


def parse(document: bytes) -> etree._Element:
    return etree.fromstring(document)


def entries(feed: etree._Element, resource: str | None = None) -> list[etree._Element]:
    """The feed's entries, or those whose content is an espi `resource`."""
    if resource is None:
        return list(feed.iterfind("atom:entry", NS))
    return [e for e in feed.iterfind("atom:entry", NS) if content(e, resource) is not None]


def content(entry: etree._Element, resource: str) -> etree._Element | None:
    return entry.find(f"atom:content/espi:{resource}", NS)


def links(entry: etree._Element, rel: str) -> list[str]:
    return [
        str(link.get("href")) for link in entry.iterfind("atom:link", NS) if link.get("rel") == rel
    ]


def link(entry: etree._Element, rel: str) -> str:
    found = links(entry, rel)
    assert len(found) == 1, (rel, found)
    return found[0]
