"""`gridshare beckn-client`: a Beckn BAP on the command line, for operators and tests (core
1.1.0 actions, DEG Connections guide v1.1 messages; the library is `gridshare.beckn.client`).

Usage: `gridshare beckn-client [OPTIONS] COMMAND [COMMAND OPTIONS]`. The options every command
shares (the key file, the BPP, the registry file, where and how long to take callbacks, the
request's ttl) are the group's, given once before the command; `_Options` carries them to it.

`init` makes the BAP's key file (and its registry entry). Each request command signs its request
(BECKN-006), POSTs it to the BPP, reports the BPP's ACK or NACK, then takes callbacks on the
callback URL's port until the `on_{action}` answering its `message_id` arrives, and prints it as
JSON on stdout. It exits 1 on a NACK, on no callback within `--timeout`, or on a callback that
carries an `error`. With `--no-wait` it prints the ACK instead; `listen` (in another shell)
then prints the callbacks. The transaction (its id, the BPP, the orders sent) is kept beside the
key file in `{key file}.state.json`, and every callback received in `{key file}.callbacks.jsonl`:
later steps read them (init's fulfillment from on_select, confirm's payments from on_init, the
order id from on_confirm). `documents` submits the documents form on_init offered (BECKN-007),
and the confirm then names the submission.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, NoReturn

import typer
from rich.console import Console

if TYPE_CHECKING:
    from gridshare.beckn.client import Callback, Identity, Transaction
    from gridshare.beckn.signing import KeyLookup

app = typer.Typer(
    help="A Beckn BAP (buyer app) for operators and tests: sign requests to a BPP and print its "
    "callbacks.\n\nThe options below are shared by every command and go before it, e.g. "
    "`gridshare beckn-client --bpp http://127.0.0.1:8000/beckn search`.",
    no_args_is_help=True,
)
console = Console(stderr=True)
"""Progress and errors; stdout carries only the JSON a command answers."""

DEFAULT_KEY_FILE: Final = Path("beckn-bap.json")
REQUEST_TIMEOUT: Final = 30.0
"""Seconds a request command waits for its callback unless --timeout says otherwise."""
SHARED_OPTIONS: Final = (
    "--key-file, --bpp, --registry-file, --host, --port, --timeout, --no-wait and --ttl go "
    "before the command: see `gridshare beckn-client --help`."
)
_BAP, _REQUESTS, _CALLBACKS = "The BAP", "Requests", "Callbacks"
"""The panels of the shared options in the help."""

TransactionOpt = Annotated[
    str | None,
    typer.Option("--transaction-id", help="Work on this transaction (it becomes the current one)."),
]
OrderIdOpt = Annotated[
    str | None,
    typer.Option("--order-id", help="The order (default: the one on_confirm gave)."),
]


@dataclass(frozen=True)
class _Options:
    """The options every command shares, as the group took them."""

    key_file: Path
    bpp: str | None
    registry_file: Path | None
    host: str
    port: int | None
    timeout: float | None
    wait: bool
    ttl: str


@app.callback()
def shared_options(
    ctx: typer.Context,
    key_file: Annotated[
        Path,
        typer.Option(
            "--key-file",
            help="The BAP's key file (made by init); its state and callbacks sit beside it.",
            rich_help_panel=_BAP,
        ),
    ] = DEFAULT_KEY_FILE,
    registry_file: Annotated[
        Path | None,
        typer.Option(
            "--registry-file",
            help="A registry file (JSON array of Subscriptions): init writes the BAP's "
            "Subscription into it (point the BPP's GRIDSHARE_BECKN_REGISTRY_FILE at it); the "
            "other commands check callbacks with the BPP's key from it instead of "
            "{bpp}/subscriber.json.",
            rich_help_panel=_BAP,
        ),
    ] = None,
    bpp: Annotated[
        str | None,
        typer.Option(
            "--bpp",
            help="The BPP's Beckn base URL, e.g. http://127.0.0.1:8000/beckn; search needs it, "
            "the other commands default to the current transaction's.",
            rich_help_panel=_REQUESTS,
        ),
    ] = None,
    ttl: Annotated[
        str,
        typer.Option(
            "--ttl",
            help="A request's ttl (ISO 8601), also its signature's life.",
            rich_help_panel=_REQUESTS,
        ),
    ] = "PT10M",
    host: Annotated[
        str,
        typer.Option("--host", help="Interface to take callbacks on.", rich_help_panel=_CALLBACKS),
    ] = "127.0.0.1",
    port: Annotated[
        int | None,
        typer.Option(
            "--port",
            help="Port to take callbacks on (default: the callback URL's).",
            rich_help_panel=_CALLBACKS,
        ),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            help=f"Seconds to wait: for a request's callback (default {REQUEST_TIMEOUT:g}); for "
            "listen's --count callbacks (default: no limit).",
            min=0,
            rich_help_panel=_CALLBACKS,
        ),
    ] = None,
    no_wait: Annotated[
        bool,
        typer.Option(
            "--no-wait",
            help="A request prints the ACK and exits without taking its callback (leave that to "
            "a running listen).",
            rich_help_panel=_CALLBACKS,
        ),
    ] = False,
) -> None:
    """Take the shared options once, for the command that follows."""
    ctx.obj = _Options(key_file, bpp, registry_file, host, port, timeout, not no_wait, ttl)


def _command(name: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """A command of this group, whose help points at the shared options."""
    return app.command(name, epilog=SHARED_OPTIONS)


@dataclass
class _Step:
    """What a request command works with."""

    identity: Identity
    transaction: Transaction
    journal: list[Callback]

    def latest(self, action: str) -> Callback | None:
        from gridshare.beckn import client

        return client.latest(self.journal, self.transaction.transaction_id, action)

    def bpp_id(self) -> str | None:
        """The BPP's id as its callbacks in this transaction gave it."""
        ids = [
            c.context.get("bpp_id")
            for c in self.journal
            if c.transaction_id == self.transaction.transaction_id
        ]
        return next((i for i in reversed(ids) if isinstance(i, str)), None)

    def order_id(self, given: str | None) -> str:
        if given:
            return given
        confirmed = self.latest("on_confirm")
        order_id = confirmed.order.get("id") if confirmed else None
        if not isinstance(order_id, str):
            _fail(
                f"no on_confirm with an order id is recorded for transaction "
                f"{self.transaction.transaction_id}: give --order-id"
            )
        return order_id

    def sent_order(self, action: str, command: str) -> dict[str, Any]:
        """The order sent with `action` in this transaction; if none, say to run `command`."""
        order = self.transaction.orders.get(action)
        if order is None:
            _fail(
                f"transaction {self.transaction.transaction_id} has no {action} yet: run {command}"
            )
        return order

    def keep_order(self, action: str, order: dict[str, Any]) -> dict[str, Any]:
        """The message carrying `order`, kept as the order sent with `action` for later steps."""
        self.transaction.orders[action] = order
        return {"order": order}


@_command("init")
def init(
    ctx: typer.Context,
    subscriber_id: Annotated[
        str, typer.Option("--subscriber-id", help="The BAP's subscriber id, e.g. bap.example.com.")
    ],
    callback_url: Annotated[
        str,
        typer.Option(
            "--callback-url",
            help="bap_uri: where the BPP POSTs on_* callbacks, e.g. http://127.0.0.1:8765/bap.",
        ),
    ],
    domain: Annotated[
        str | None,
        typer.Option("--domain", help="context.domain (default: the key file's, else service)."),
    ] = None,
    new_key: Annotated[
        bool, typer.Option("--new-key", help="Replace the key of an existing key file.")
    ] = False,
) -> None:
    """Make the BAP's key file and print its registry Subscription.

    The key file (--key-file) holds an Ed25519 key pair and its key id; with --registry-file the
    Subscription is written there too. Run again to change the callback URL or domain of an
    existing key file (its key changes only with --new-key).
    """
    from gridshare.beckn import client

    options = _options(ctx)
    with _reporting():
        identity = client.init_identity(
            options.key_file,
            subscriber_id,
            callback_url,
            domain=domain,
            registry_file=options.registry_file,
            new_key=new_key,
        )
    where = f" and {options.registry_file}" if options.registry_file else ""
    console.print(
        f"{identity.subscriber_id} key {identity.unique_key_id} in {options.key_file}{where}.",
        highlight=False,
        markup=False,
    )
    _print(identity.registry_entry())


@_command("search")
def search(
    ctx: typer.Context,
    text: Annotated[str | None, typer.Option("--text", help="Free text.")] = None,
    category: Annotated[
        str, typer.Option("--category", help="The category code.")
    ] = "ELECTRICITY_CONNECTION",
    point: Annotated[
        str | None, typer.Option("--gps", help='Where the connection is: "lat,lon".')
    ] = None,
    transaction_id: Annotated[
        str | None,
        typer.Option("--transaction-id", help="The new transaction's id (default: a new UUID)."),
    ] = None,
) -> None:
    """Start a transaction: search the BPP's catalog; print on_search."""
    from gridshare.beckn import client

    _request(
        ctx,
        "search",
        lambda step: client.search_message(text, category or None, point),
        start=transaction_id or str(uuid.uuid4()),
    )


@_command("select")
def select(
    ctx: typer.Context,
    provider: Annotated[str, typer.Option("--provider", help="The provider id (on_search).")],
    item: Annotated[str, typer.Option("--item", help="The item id (on_search).")],
    load_kw: Annotated[
        str | None, typer.Option("--load-kw", help="requested_load_kw, e.g. 5.")
    ] = None,
    monthly_kwh: Annotated[
        str | None,
        typer.Option("--monthly-kwh", help="estimated_monthly_consumption_kwh, e.g. 300."),
    ] = None,
    user_type: Annotated[
        str, typer.Option("--user-type", help="connection-type user_type.")
    ] = "CONSUMER",
) -> None:
    """Choose a connection product and the load wanted; print on_select (the quote)."""
    from gridshare.beckn import client

    def message(step: _Step) -> dict[str, Any]:
        order = client.select_order(
            provider, item, load_kw=load_kw, monthly_kwh=monthly_kwh, user_type=user_type
        )
        return step.keep_order("select", order)

    _request(ctx, "select", message)


@_command("init-order")
def init_order(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("--name", help="The customer's name (billing).")],
    address: Annotated[str, typer.Option("--address", help="The site's address (billing).")],
    email: Annotated[str | None, typer.Option("--email", help="Billing email.")] = None,
    phone: Annotated[str | None, typer.Option("--phone", help="Billing phone.")] = None,
    point: Annotated[str | None, typer.Option("--gps", help='The site: "lat,lon".')] = None,
) -> None:
    """Beckn `init`: billing and the site; print on_init.

    The order is the selected product with the fulfillment on_select offered, the customer and
    the site as its end stop. on_init answers the payment terms and the document form.
    """
    from gridshare.beckn import client

    def message(step: _Step) -> dict[str, Any]:
        order = client.init_order(
            step.sent_order("select", "select"),
            client.Billing(name=name, address=address, email=email, phone=phone),
            point=point,
            fulfillment=_offered_fulfillment(step.latest("on_select")),
        )
        return step.keep_order("init", order)

    _request(ctx, "init", message)


@_command("documents")
def documents(
    ctx: typer.Context,
    files: Annotated[
        list[str],
        typer.Option(
            "--file",
            help='A document as "WHAT=PATH": WHAT is the label the form gives it (e.g. '
            '"ID proof"), its field name or its number; repeat for each document.',
        ),
    ],
) -> None:
    """Submit the documents form on_init offered (BECKN-007), signed; print the answer.

    The confirm that follows names the submission.
    """
    from gridshare.beckn import client

    options = _options(ctx)
    with _reporting():
        step = _step(options)
        url = _form_url(step.latest("on_init"))
        if url is None:
            _fail(
                f"no on_init with a documents form is recorded for transaction "
                f"{step.transaction.transaction_id}: run init-order (the product may need none)"
            )
        inputs = client.fetch_form(url)
        chosen = []
        for given in files:
            what, sep, path = given.partition("=")
            if not sep or not what.strip() or not path:
                _fail(f'--file {given!r} must be WHAT=PATH, e.g. "ID proof=id.pdf"')
            chosen.append((client.form_input(inputs, what.strip()), Path(path)))
        status, answer = client.submit_form(url, chosen, step.identity, options.ttl)
        _print(answer)
        submission_id = answer.get("submission_id")
        if status != 200 or answer.get("status") is not True or not isinstance(submission_id, str):
            raise typer.Exit(1)
        order = step.sent_order("init", "init-order")
        order["items"][0]["xinput"] = {"form": {"url": url, "submission_id": submission_id}}
        client.save_transaction(client.state_path(options.key_file), step.transaction)


@_command("confirm")
def confirm(ctx: typer.Context) -> None:
    """Place the order; print on_confirm (the order id).

    The order is init's again, with the payments on_init offered.
    """
    from gridshare.beckn import client

    def message(step: _Step) -> dict[str, Any]:
        initialised = step.sent_order("init", "init-order")
        offered = step.latest("on_init")
        payments = offered.order.get("payments") if offered else None
        if not isinstance(payments, list):
            _fail(
                f"no on_init with payments is recorded for transaction "
                f"{step.transaction.transaction_id}: run init-order and let it take the "
                "callback (or keep `listen` running)"
            )
        return {"order": client.confirm_order(initialised, payments)}

    _request(ctx, "confirm", message)


@_command("status")
def status(
    ctx: typer.Context, order_id: OrderIdOpt = None, transaction_id: TransactionOpt = None
) -> None:
    """Ask for the order's state; print on_status."""
    from gridshare.beckn import client

    _on_order(ctx, "status", order_id, transaction_id, client.status_message)


@_command("cancel")
def cancel(
    ctx: typer.Context,
    reason_id: Annotated[
        str | None,
        typer.Option("--reason-id", help="cancellation_reason_id, as the BPP lists them."),
    ] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="Free text.")] = None,
    order_id: OrderIdOpt = None,
    transaction_id: TransactionOpt = None,
) -> None:
    """Cancel the order; print on_cancel."""
    from gridshare.beckn import client

    _on_order(
        ctx,
        "cancel",
        order_id,
        transaction_id,
        lambda order: client.cancel_message(order, reason_id, reason),
    )


@_command("update")
def update(
    ctx: typer.Context,
    target: Annotated[
        str, typer.Option("--target", help='update_target, e.g. "billing" or "fulfillment".')
    ],
    order: Annotated[
        str,
        typer.Option(
            "--order", help="The changed parts of the order as JSON, e.g. '{\"billing\": {...}}'."
        ),
    ],
    order_id: OrderIdOpt = None,
    transaction_id: TransactionOpt = None,
) -> None:
    """Change the order; print on_update."""
    from gridshare.beckn import client

    try:
        changes = json.loads(order)
    except ValueError as exc:
        _fail(f"--order is not JSON: {exc}")
    if not isinstance(changes, dict):
        _fail("--order must be a JSON object (the changed parts of the order)")
    _on_order(
        ctx,
        "update",
        order_id,
        transaction_id,
        lambda order: client.update_message(order, target, changes),
    )


@_command("track")
def track(
    ctx: typer.Context,
    callback_url: Annotated[
        str | None, typer.Option("--callback-url", help="Where to send tracking updates.")
    ] = None,
    order_id: OrderIdOpt = None,
    transaction_id: TransactionOpt = None,
) -> None:
    """Ask for tracking of the order; print on_track."""
    from gridshare.beckn import client

    _on_order(
        ctx,
        "track",
        order_id,
        transaction_id,
        lambda order: client.track_message(order, callback_url),
    )


@_command("rating")
def rating(
    ctx: typer.Context,
    value: Annotated[str, typer.Option("--value", help="The rating, e.g. 5.")],
    category: Annotated[
        str, typer.Option("--category", help="rating_category: Item, Order, Fulfillment, ...")
    ] = "Order",
    rated_id: Annotated[
        str | None, typer.Option("--id", help="What is rated (default: the order id).")
    ] = None,
    order_id: OrderIdOpt = None,
    transaction_id: TransactionOpt = None,
) -> None:
    """Rate the order (or an item, the fulfillment, ...); print on_rating."""
    from gridshare.beckn import client

    _on_order(
        ctx,
        "rating",
        rated_id or order_id,
        transaction_id,
        lambda rated: client.rating_message(category, rated, value),
    )


@_command("support")
def support(
    ctx: typer.Context,
    ref_id: Annotated[
        str | None, typer.Option("--ref-id", help="What it is about (default: the order id).")
    ] = None,
    callback_phone: Annotated[
        str | None, typer.Option("--callback-phone", help="A phone to be called back on.")
    ] = None,
    order_id: OrderIdOpt = None,
    transaction_id: TransactionOpt = None,
) -> None:
    """Ask for the BPP's support contacts; print on_support."""
    from gridshare.beckn import client

    _on_order(
        ctx,
        "support",
        ref_id or order_id,
        transaction_id,
        lambda ref: client.support_message(ref, callback_phone),
    )


@_command("listen")
def listen(
    ctx: typer.Context,
    count: Annotated[
        int,
        typer.Option(
            "--count",
            help="Exit after this many callbacks (0: never); exit 1 if --timeout passes first.",
            min=0,
        ),
    ] = 0,
) -> None:
    """Take callbacks (e.g. unsolicited on_status) until interrupted, printing each as JSON."""
    import time

    from gridshare.beckn import client

    options = _options(ctx)
    with _reporting():
        identity = client.load_identity(options.key_file)
        current = client.load_transaction(client.state_path(options.key_file))
        keys = _keys(options.registry_file, options.bpp or (current.bpp_uri if current else None))
        inbox = client.Inbox(client.journal_path(options.key_file))
        receiver = client.CallbackReceiver(
            identity, keys, inbox, host=options.host, port=options.port
        )
        timeout = options.timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        seen = 0
        with receiver:
            console.print(
                f"Taking callbacks at {identity.callback_url}/on_* (port {receiver.port}); "
                "Ctrl-C to stop.",
                highlight=False,
                markup=False,
            )
            try:
                while count == 0 or seen < count:
                    left = 1.0 if deadline is None else deadline - time.monotonic()
                    if left <= 0:
                        break
                    for callback in inbox.since(seen, min(left, 1.0)):
                        _print(callback.body)
                        seen += 1
            except KeyboardInterrupt:
                pass
        if seen < count:
            within = "before the interruption" if timeout is None else f"within {timeout:g} s"
            _fail(f"{seen} of {count} callbacks arrived {within}")


def _options(ctx: typer.Context) -> _Options:
    """The shared options the group callback took."""
    options: _Options = ctx.obj
    return options


def _request(
    ctx: typer.Context,
    action: str,
    message: Callable[[_Step], dict[str, Any]],
    *,
    start: str | None = None,
    switch: str | None = None,
) -> None:
    """Send `action` with the message `message` builds for the transaction (see `_step`), then
    print its callback; a ClientError ends the command with its message."""
    options = _options(ctx)
    with _reporting():
        step = _step(options, start, switch)
        _exchange(options, step, action, message(step))


def _on_order(
    ctx: typer.Context,
    action: str,
    order_id: str | None,
    transaction_id: str | None,
    message: Callable[[str], dict[str, Any]],
) -> None:
    """`_request` for an action about an order: `message` gets the order id given, else the one
    on_confirm gave in the transaction (the one given, else the current one)."""
    _request(ctx, action, lambda step: message(step.order_id(order_id)), switch=transaction_id)


def _step(options: _Options, start: str | None = None, switch: str | None = None) -> _Step:
    """The identity and transaction a command works on: a new one (`start`, for search), the
    one named (`switch`), or the current one."""
    from gridshare.beckn import client

    identity = client.load_identity(options.key_file)
    current = client.load_transaction(client.state_path(options.key_file))
    bpp = options.bpp or (current.bpp_uri if current else None)
    if bpp is None:
        _fail(
            "which BPP? give --bpp before the command, e.g. "
            "gridshare beckn-client --bpp http://127.0.0.1:8000/beckn search"
        )
    if start is not None or switch is not None:
        transaction = client.Transaction(start or switch or "", bpp)
    elif current is None:
        _fail(f"no transaction is under way ({client.state_path(options.key_file)}): run search")
    else:
        transaction = client.Transaction(current.transaction_id, bpp, current.orders)
    return _Step(identity, transaction, client.read_journal(client.journal_path(options.key_file)))


def _exchange(options: _Options, step: _Step, action: str, message: dict[str, Any]) -> None:
    """Send the request; on ACK keep the transaction, then wait for and print its callback."""
    from gridshare.beckn import client

    timeout = REQUEST_TIMEOUT if options.timeout is None else options.timeout
    body = client.build_request(
        step.identity,
        action,
        message,
        step.transaction.transaction_id,
        step.transaction.bpp_uri,
        bpp_id=step.bpp_id(),
        ttl=options.ttl,
    )
    message_id = body["context"]["message_id"]
    receiver = None
    inbox = client.Inbox(client.journal_path(options.key_file))
    if options.wait:
        keys = _keys(options.registry_file, step.transaction.bpp_uri)
        receiver = client.CallbackReceiver(
            step.identity, keys, inbox, host=options.host, port=options.port
        ).start()
    try:
        answer = client.send(step.transaction.bpp_uri, body, step.identity)
        console.print(
            f"{action}: transaction {step.transaction.transaction_id}, message {message_id}: "
            f"{answer.summary()}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        if not answer.acknowledged:
            _print(answer.body if answer.body is not None else {"text": answer.text})
            raise typer.Exit(1)
        client.save_transaction(client.state_path(options.key_file), step.transaction)
        if receiver is None:
            _print(answer.body)
            return
        callback = inbox.wait_for(f"on_{action}", message_id, timeout)
    finally:
        if receiver is not None:
            receiver.stop()
    for other in inbox.received():
        if other is not callback:
            console.print(
                f"Also received {other.action} (message {other.message_id}); see "
                f"{client.journal_path(options.key_file)}.",
                highlight=False,
                markup=False,
            )
    if callback is None:
        _fail(
            f"no on_{action} for message {message_id} within {timeout:g} s at "
            f"{step.identity.callback_url}/on_{action}: is the BPP's worker running, and can it "
            "reach that URL?"
        )
    _print(callback.body)
    if callback.error:
        _fail(f"on_{action} carries an error: {json.dumps(callback.error)}")


def _keys(registry_file: Path | None, bpp: str | None) -> KeyLookup:
    """Where the BPP's callback keys come from: the registry file, else its subscriber.json."""
    from gridshare.beckn import client
    from gridshare.beckn.registry import FileRegistry

    if registry_file is not None:
        return client.registry_keys(FileRegistry(registry_file))
    if bpp is None:
        _fail(
            "whose callbacks? give --bpp (its keys are at {bpp}/subscriber.json) or "
            "--registry-file, before the command"
        )
    return client.SubscriberDocumentKeys(bpp)


def _form_url(offered: Callback | None) -> str | None:
    """The documents form of the first item of an on_init, if it offers one."""
    items = offered.order.get("items") if offered else None
    item = items[0] if isinstance(items, list) and items and isinstance(items[0], dict) else {}
    xinput = item.get("xinput")
    form = xinput.get("form") if isinstance(xinput, dict) else None
    url = form.get("url") if isinstance(form, dict) else None
    return url if isinstance(url, str) else None


def _offered_fulfillment(quoted: Callback | None) -> dict[str, Any] | None:
    """The id and type of the first fulfillment on_select offered."""
    offered = quoted.order.get("fulfillments") if quoted else None
    if not isinstance(offered, list) or not offered or not isinstance(offered[0], dict):
        return None
    return {k: offered[0][k] for k in ("id", "type") if k in offered[0]}


def _print(document: Any) -> None:
    typer.echo(json.dumps(document, indent=2, ensure_ascii=False))


def _fail(message: str) -> NoReturn:
    console.print(f"Error: {message}", highlight=False, markup=False, soft_wrap=True)
    raise typer.Exit(1)


@contextmanager
def _reporting() -> Iterator[None]:
    """A ClientError ends the command with its message and exit code 1."""
    from gridshare.beckn.client import ClientError

    try:
        yield
    except ClientError as exc:
        _fail(str(exc))
