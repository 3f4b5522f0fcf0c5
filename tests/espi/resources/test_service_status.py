"""ReadServiceStatus: a bare `espi:ServiceStatus` document (not Atom) that validates."""

from __future__ import annotations

import pytest
from lxml import etree

from gridshare.espi import atom
from gridshare.espi.resources.service_status import service_status_document
from tests.espi.xml_checks import schema_errors


@pytest.mark.parametrize("status", [0, 1])
def test_a_bare_service_status_document(status: int) -> None:
    document = service_status_document(status)
    assert document.startswith(b"<?xml")
    assert schema_errors(document) == []
    root = etree.XML(document)
    assert root.tag == atom.espi("ServiceStatus")
    assert [(c.tag, c.text) for c in root] == [(atom.espi("currentStatus"), str(status))]


def test_the_default_is_normal_and_other_values_are_refused() -> None:
    assert etree.XML(service_status_document()).findtext(atom.espi("currentStatus")) == "1"
    with pytest.raises(ValueError, match="currentStatus"):
        service_status_document(2)
