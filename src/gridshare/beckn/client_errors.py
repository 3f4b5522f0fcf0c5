"""What goes wrong on the BAP's side of Beckn (`gridshare.beckn.client`): each error says what the
operator must fix. Refusals the BPP sends are not errors here: they are answers (BECKN-005
NACKs, reported by `client_send.Answer`)."""

from __future__ import annotations


class ClientError(Exception):
    """Something the operator must fix: the message says what."""


class KeySourceError(ClientError):
    """The BPP's keys cannot be read (its subscriber.json or the registry file)."""
