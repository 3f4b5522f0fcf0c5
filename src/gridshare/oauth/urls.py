"""Where each OAuth and CDS-WG1-02 endpoint lives (one place, so metadata and routes agree)."""

from __future__ import annotations

from typing import Final

AS_METADATA: Final = "/.well-known/oauth-authorization-server"
REGISTER: Final = "/oauth/register"
AUTHORIZE: Final = "/oauth/authorize"
PAR: Final = "/oauth/par"
TOKEN: Final = "/oauth/token"
INTROSPECT: Final = "/oauth/introspect"
REVOKE: Final = "/oauth/revoke"
DEFAULT_REDIRECT: Final = "/oauth/outcome"
"""The server-hosted default redirect_uri; `/{client_id}` follows (CDS-WG1-02 §4.2)."""
HUMAN_REGISTRATION: Final = "/developers"
TEST_ACCOUNTS: Final = "/developers/test-accounts"
API: Final = "/cds-api/v1"
CLIENTS: Final = f"{API}/clients"
MESSAGES: Final = f"{API}/messages"
CREDENTIALS: Final = f"{API}/credentials"
GRANTS: Final = f"{API}/grants"
FILES: Final = f"{API}/server-provided-files"
