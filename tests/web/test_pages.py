"""The pages the server metadata links to exist and carry no external assets."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gridshare.app import create_app
from gridshare.config import Settings


def test_home_and_support_pages(settings: Settings, engine: Engine) -> None:
    client = TestClient(create_app(settings, engine))
    home = client.get("/")
    assert home.status_code == 200
    assert settings.utility_name.replace("&", "&amp;") in home.text
    assert "/.well-known/cds-server-metadata.json" in home.text
    support = client.get("/support")
    assert support.status_code == 200
    assert settings.support_email in support.text
    for page in (home.text, support.text):
        assert not re.search(
            r"""(src|href)=["']https?://(?!testserver)""",
            page.replace(f'href="mailto:{settings.support_email}"', ""),
        )
