"""CDS-WG1-02 §8.1-§8.2 Grants: creating them, their status rules, and the Grant object.

A Grant is the unit of consent: every token is bound to one (the token endpoint creates or reuses
one for `client_credentials`, the authorization form creates one per approval, the operator creates
them for server-provided files). Rules kept here so that every writer agrees:

- `enabled_scope` / `enabled_authorization_details` equal `scope` / `authorization_details` when
  access is fully granted, name the enabled part for the limited statuses (`partial`,
  `needs_authorization`, `needs_sub_grants`), and are `""` / `[]` whenever the status gives no
  access (§8.1-c, §8.2-d).
- `eta` is set only while the Grant is `pending` (§8.1-b).
- When a Grant's access ends for good (`disabled`, `revoked`, `closed`, `expired`) every token bound
  to it is revoked at once. `future` and `suspended` also give no access, but only for a while:
  their tokens stop working (`tokens.is_active` checks the Grant) and work again when the Grant
  does, so a refresh token survives a suspension.
- A Grant whose `not_after` or `expires` has passed is `expired`; a `future` Grant whose
  `not_before` has come is `active` (`apply_time`, `expire_due`).

The Grant `uri` is an absolute URL on the Grants API (`GRANTS_PATH`; the face `oauth.urls.GRANTS`
must name the same path, and a test says so).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import String, cast, or_, select
from sqlalchemy.orm import Session, object_session

from gridshare.config import Settings
from gridshare.grants import espi_notices, tokens
from gridshare.grants.secrets import new_id
from gridshare.store.db import utcnow
from gridshare.store.tables.grants import Grant, Token
from gridshare.timefmt import rfc3339

GRANTS_PATH: Final = "/cds-api/v1/grants"
"""Where the Grants API lives (CDS-WG1-02 §8); a Grant's `uri` is this path plus its id."""

STATUSES: Final = frozenset(
    {
        "active",
        "future",
        "pending",
        "partial",
        "needs_authorization",
        "needs_sub_grants",
        "disabled",
        "suspended",
        "revoked",
        "closed",
        "expired",
        "delayed",
        "stopped",
        "errored",
    }
)
"""Every Grant status (§8.2)."""

NO_ACCESS: Final = tokens.NO_ACCESS_STATUSES
"""Statuses that give no access at all (§8.2-d)."""

ENDED: Final = frozenset({"disabled", "revoked", "closed", "expired"})
"""No-access statuses that are final: tokens bound to such a Grant are revoked."""

LIMITED: Final = frozenset({"partial", "needs_authorization", "needs_sub_grants"})
"""Statuses whose enabled access is a part of the Grant that the caller names (§8.2)."""


class GrantStatusError(ValueError):
    """A status that §8.2 does not define."""


def grant_uri(settings: Settings, grant_id: str) -> str:
    """The Grant's `uri` (§8.1): where the Grants API shows and modifies it."""
    return settings.url(f"{GRANTS_PATH}/{grant_id}")


def create_grant(
    session: Session,
    *,
    client_id: str,
    scope: str,
    authorization_details: list[dict[str, Any]],
    customer_id: str | None = None,
    status: str = "active",
    enabled_scope: str | None = None,
    enabled_authorization_details: list[dict[str, Any]] | None = None,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    expires: datetime | None = None,
    eta: datetime | None = None,
    receipt_confirmations: Sequence[str] = (),
    parent_id: str | None = None,
    replacing: Sequence[str] = (),
    espi_scope: str | None = None,
) -> Grant:
    """Add a Grant (flushed, so its id and timestamps are set).

    `enabled_*` default to the full `scope` / `authorization_details` for statuses that give access,
    to `""` / `[]` for the no-access statuses (always) and for the limited statuses (unless given).
    `replacing` names Grants this one supersedes; their `replaced_by` gains this Grant.
    """
    _check_status(status)
    now = utcnow()
    grant = Grant(
        grant_id=new_id("g"),
        client_id=client_id,
        customer_id=customer_id,
        parent_id=parent_id,
        replacing=list(replacing),
        replaced_by=[],
        created=now,
        modified=now,
        not_before=not_before,
        not_after=not_after,
        eta=eta if status == "pending" else None,
        expires=expires,
        status=status,
        scope=scope,
        authorization_details=list(authorization_details),
        receipt_confirmations=list(receipt_confirmations),
        enabled_scope="",
        enabled_authorization_details=[],
        espi_scope=espi_scope,
    )
    _set_enabled(grant, status, enabled_scope, enabled_authorization_details, keep=False)
    session.add(grant)
    session.flush()
    for old_id in replacing:
        old = session.get(Grant, old_id)
        if old is not None and grant.grant_id not in old.replaced_by:
            old.replaced_by = [*old.replaced_by, grant.grant_id]
    return grant


def set_status(
    session: Session,
    grant: Grant,
    status: str,
    *,
    enabled_scope: str | None = None,
    enabled_authorization_details: list[dict[str, Any]] | None = None,
    eta: datetime | None = None,
) -> int:
    """Change the Grant's status, keeping `enabled_*` and `eta` consistent with it (§8.1, §8.2).

    A final no-access status revokes the tokens bound to the Grant; returns how many.
    For limited statuses, omitted `enabled_*` keep their current values; for the other statuses
    that give access they become the full scope unless given.
    """
    _check_status(status)
    grant.status = status
    grant.eta = eta if status == "pending" else None
    _set_enabled(grant, status, enabled_scope, enabled_authorization_details, keep=True)
    grant.modified = utcnow()
    if status in ENDED:
        return revoke_tokens(session, grant)
    return 0


def revoke_grant(session: Session, settings: Settings, grant: Grant) -> bool:
    """The Customer withdraws their consent (from a receipt or the connected-apps page), or a Green
    Button third party deletes its Authorization: the Grant becomes `revoked`, its tokens stop at
    once, and a Green Button third party is notified (`espi_notices`). False, changing nothing, if
    its access has already ended for good."""
    if grant.status in ENDED:
        return False
    set_status(session, grant, "revoked")
    espi_notices.authorization_ended(session, settings, grant)
    return True


def apply_time(session: Session, grant: Grant, now: datetime | None = None) -> bool:
    """Bring the Grant's status up to date with its dates; returns whether it changed.

    Past `not_after` or `expires` → `expired` (tokens revoked); a `future` Grant past its
    `not_before` → `active`.
    """
    now = now or utcnow()
    if grant.status != "expired" and _past_end(grant, now):
        set_status(session, grant, "expired")
        return True
    if grant.status == "future" and grant.not_before is not None and grant.not_before <= now:
        set_status(session, grant, "active")
        return True
    return False


def expire_due(session: Session, now: datetime | None = None) -> int:
    """`apply_time` for every Grant whose dates call for a change; returns how many changed."""
    now = now or utcnow()
    due = session.scalars(
        select(Grant).where(
            or_(
                (Grant.status != "expired") & (Grant.not_after <= now),
                (Grant.status != "expired") & (Grant.expires <= now),
                (Grant.status == "future") & (Grant.not_before <= now),
            )
        )
    ).all()
    return sum(apply_time(session, grant, now) for grant in due)


def gives_access(session: Session, grant: Grant, now: datetime | None = None) -> bool:
    """Whether the Grant gives access now, after bringing its status up to date with its dates."""
    now = now or utcnow()
    apply_time(session, grant, now)
    return tokens.grant_gives_access(grant, now)


def access_ends(grant: Grant) -> datetime | None:
    """When the Grant's access ends by its dates (the earlier of `not_after` and `expires`)."""
    ends = [moment for moment in (grant.not_after, grant.expires) if moment is not None]
    return min(ends) if ends else None


def revoke_tokens(session: Session, grant: Grant) -> int:
    """Revoke the live tokens bound to the Grant, unless another of their Grants gives access."""
    now = utcnow()
    candidates = session.scalars(
        select(Token).where(
            cast(Token.grant_ids, String).contains(f'"{grant.grant_id}"', autoescape=True),
            Token.revoked_at.is_(None),
        )
    ).all()
    bound = [t for t in candidates if grant.grant_id in t.grant_ids]
    others = {g for t in bound for g in t.grant_ids if g != grant.grant_id}
    still_open = {
        g.grant_id
        for g in session.scalars(select(Grant).where(Grant.grant_id.in_(others))).all()
        if tokens.grant_gives_access(g, now)
    }
    doomed = [t.token_hash for t in bound if not set(t.grant_ids) & still_open]
    if not doomed:
        return 0
    return tokens.revoke_where(session, Token.token_hash.in_(doomed), now)


def grant_json(
    settings: Settings, grant: Grant, children: Iterable[str] | None = None
) -> dict[str, Any]:
    """The Grant object (§8.1). `children` (sub-Grant ids) is looked up when not given."""
    if children is None:
        children = _children(grant)
    return {
        "grant_id": grant.grant_id,
        "uri": grant_uri(settings, grant.grant_id),
        "replacing": [grant_uri(settings, g) for g in grant.replacing],
        "replaced_by": [grant_uri(settings, g) for g in grant.replaced_by],
        "parent": grant.parent_id,
        "children": list(children),
        "created": rfc3339(grant.created),
        "modified": rfc3339(grant.modified),
        "not_before": _optional_time(grant.not_before),
        "not_after": _optional_time(grant.not_after),
        "eta": _optional_time(grant.eta) if grant.status == "pending" else None,
        "expires": _optional_time(grant.expires),
        "status": grant.status,
        "client_id": grant.client_id,
        "scope": grant.scope,
        "authorization_details": grant.authorization_details,
        "receipt_confirmations": grant.receipt_confirmations,
        "enabled_scope": grant.enabled_scope,
        "enabled_authorization_details": grant.enabled_authorization_details,
    }


def grants_json(
    settings: Settings, session: Session, grants: Sequence[Grant]
) -> list[dict[str, Any]]:
    """Several Grant objects, their `children` looked up in one query."""
    ids = [grant.grant_id for grant in grants]
    children: dict[str, list[str]] = {grant_id: [] for grant_id in ids}
    if ids:
        rows = session.execute(
            select(Grant.parent_id, Grant.grant_id)
            .where(Grant.parent_id.in_(ids))
            .order_by(Grant.created, Grant.grant_id)
        )
        for parent_id, child_id in rows:
            children[str(parent_id)].append(child_id)
    return [grant_json(settings, grant, children[grant.grant_id]) for grant in grants]


def _optional_time(moment: datetime | None) -> str | None:
    return None if moment is None else rfc3339(moment)


def _children(grant: Grant) -> list[str]:
    session = object_session(grant)
    if session is None:
        return []
    return list(
        session.scalars(
            select(Grant.grant_id)
            .where(Grant.parent_id == grant.grant_id)
            .order_by(Grant.created, Grant.grant_id)
        )
    )


def _check_status(status: str) -> None:
    if status not in STATUSES:
        raise GrantStatusError(f"{status!r} is not a Grant status (§8.2)")


def _set_enabled(
    grant: Grant,
    status: str,
    enabled_scope: str | None,
    enabled_details: list[dict[str, Any]] | None,
    *,
    keep: bool,
) -> None:
    if status in NO_ACCESS:
        grant.enabled_scope, grant.enabled_authorization_details = "", []
        return
    if status in LIMITED:
        fallback_scope = grant.enabled_scope if keep else ""
        fallback_details = list(grant.enabled_authorization_details) if keep else []
    else:
        fallback_scope, fallback_details = grant.scope, list(grant.authorization_details)
    grant.enabled_scope = fallback_scope if enabled_scope is None else enabled_scope
    grant.enabled_authorization_details = (
        fallback_details if enabled_details is None else list(enabled_details)
    )


def _past_end(grant: Grant, now: datetime) -> bool:
    ends = access_ends(grant)
    return ends is not None and ends <= now
