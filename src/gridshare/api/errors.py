"""OAuth error responses (RFC 6749 §5.2, RFC 6750 §3, RFC 9396 §5): one JSON shape everywhere."""

from __future__ import annotations

from fastapi import HTTPException


class OAuthError(HTTPException):
    """An error answered as `{"error": ..., "error_description": ...}` with `status`."""

    def __init__(
        self,
        error: str,
        description: str,
        status: int = 400,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(
            status_code=status,
            detail={"error": error, "error_description": description},
            headers={"Cache-Control": "no-store", **(headers or {})},
        )
        self.error = error
        self.description = description


def invalid_request(description: str) -> OAuthError:
    return OAuthError("invalid_request", description)


def invalid_client(description: str = "client authentication failed") -> OAuthError:
    return OAuthError(
        "invalid_client", description, 401, {"WWW-Authenticate": 'Basic realm="gridshare"'}
    )


def invalid_token(
    description: str = "the access token is missing, expired or revoked",
) -> OAuthError:
    return OAuthError(
        "invalid_token",
        description,
        401,
        {
            "WWW-Authenticate": f'Bearer realm="gridshare", error="invalid_token", '
            f'error_description="{description}"'
        },
    )


def insufficient_scope(needed: str, description: str | None = None) -> OAuthError:
    """403 naming the scope(s) (space-separated) a token needs (RFC 6750 §3.1)."""
    return OAuthError(
        "insufficient_scope",
        description or f"this API needs a token with the {needed} scope",
        403,
        {
            "WWW-Authenticate": f'Bearer realm="gridshare", error="insufficient_scope", '
            f'scope="{needed}"'
        },
    )
