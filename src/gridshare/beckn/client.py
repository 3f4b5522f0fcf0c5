"""A Beckn BAP for operators and tests: the buyer's side of BECKN-003's async model, talking to a
BPP such as ours (core 1.1.0, the DEG Connections guide v1.1). `gridshare beckn-client`
(`client_cli.py`) drives it; this module gathers the parts, each in its own module:

- `client_identity`: the BAP's subscriber id, key pair and key file, and its registry
  `Subscription` (core registry API).
- `client_messages`: the request messages, as the Connections guide's examples have them.
- `client_requests`: a request's context (`schema/Context.yaml`), its BECKN-006 signature, the
  POST to the BPP and its ACK or NACK.
- `client_keys`: the BPP's keys for checking callbacks (its `subscriber.json` or a registry).
- `client_receiver`: the HTTP server taking the BPP's signed `on_{action}` callbacks.
- `client_inbox`: the callbacks received, paired with their requests by `message_id`.
- `client_forms`: a BPP's documents form (BECKN-007 XInput): read, filled, submitted signed.
- `client_state`: the transaction under way between commands, and where the journal sits.
- `client_errors`, `client_files`: what the operator must fix; the JSON files.
"""

from __future__ import annotations

from gridshare.beckn.client_errors import ClientError, KeySourceError
from gridshare.beckn.client_forms import (
    FileInput,
    fetch_form,
    form_input,
    form_inputs,
    submit_form,
)
from gridshare.beckn.client_identity import (
    Identity,
    init_identity,
    load_identity,
    new_identity,
    save_identity,
    write_registry_entry,
)
from gridshare.beckn.client_inbox import Callback, Inbox, latest, read_journal
from gridshare.beckn.client_keys import SubscriberDocumentKeys, registry_keys
from gridshare.beckn.client_messages import (
    Billing,
    cancel_message,
    confirm_order,
    gps,
    init_order,
    rating_message,
    search_message,
    select_order,
    status_message,
    support_message,
    track_message,
    update_message,
)
from gridshare.beckn.client_receiver import CallbackReceiver, Reply
from gridshare.beckn.client_requests import Answer, build_request, send, signed_headers
from gridshare.beckn.client_state import (
    Transaction,
    journal_path,
    load_transaction,
    save_transaction,
    state_path,
)

__all__ = [
    "Answer",
    "Billing",
    "Callback",
    "CallbackReceiver",
    "ClientError",
    "FileInput",
    "Identity",
    "Inbox",
    "KeySourceError",
    "Reply",
    "SubscriberDocumentKeys",
    "Transaction",
    "build_request",
    "cancel_message",
    "confirm_order",
    "fetch_form",
    "form_input",
    "form_inputs",
    "gps",
    "init_identity",
    "init_order",
    "journal_path",
    "latest",
    "load_identity",
    "load_transaction",
    "new_identity",
    "rating_message",
    "read_journal",
    "registry_keys",
    "save_identity",
    "save_transaction",
    "search_message",
    "select_order",
    "send",
    "signed_headers",
    "state_path",
    "status_message",
    "submit_form",
    "support_message",
    "track_message",
    "update_message",
    "write_registry_entry",
]
