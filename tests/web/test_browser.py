"""What the Customer-facing pages share: redirects stay on this site."""

from __future__ import annotations

import pytest

from gridshare.web.browser import local_path


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/oauth/consent?request=a", "/oauth/consent?request=a"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("/\t/evil.example", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_next_stays_on_this_site(value: str | None, expected: str) -> None:
    assert local_path(value) == expected
