"""What an order's documents must be before they are kept (utility.order_documents)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from gridshare.store.db import session_factory, transaction
from gridshare.utility import order_documents
from gridshare.utility.order_documents import DocumentError, NewDocument

PDF = b"%PDF-1.7\n"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 8


def test_kept_in_order_and_found_by_submission(engine: Engine) -> None:
    files = [
        NewDocument("ID proof", "id.pdf", "application/pdf", PDF),
        NewDocument("Wiring diagram", "w.jpg", "image/jpeg", JPEG),
    ]
    with transaction(session_factory(engine)) as session:
        order_documents.add(session, "sub-1", files)
        order_documents.add(session, "sub-2", files[:1])
    with session_factory(engine)() as session:
        kept = order_documents.of_submission(session, "sub-1")
        assert [(d.label, d.size) for d in kept] == [("ID proof", len(PDF)), ("Wiring diagram", 12)]
        assert order_documents.of_submission(session, None) == []


@pytest.mark.parametrize(
    ("file", "problem"),
    [
        (NewDocument("ID", "id.pdf", "application/pdf", b""), "is empty"),
        (NewDocument("ID", "id.gif", "image/gif", b"GIF89a"), "send a PDF, PNG or JPEG"),
        (NewDocument("ID", "id.pdf", "application/pdf", b"<html>"), "its content is not"),
        (
            NewDocument("ID", "big.pdf", "application/pdf", PDF + b"0" * order_documents.FILE_MAX),
            "is over 10 MB",
        ),
    ],
)
def test_refused_files_keep_nothing(file: NewDocument, problem: str, engine: Engine) -> None:
    good = NewDocument("Other", "ok.pdf", "application/pdf", PDF)
    with session_factory(engine)() as session:
        with pytest.raises(DocumentError, match=problem):
            order_documents.add(session, "sub", [good, file])
        assert order_documents.of_submission(session, "sub") == []


def test_a_submission_has_a_total_limit(engine: Engine) -> None:
    part = PDF + b"0" * (order_documents.FILE_MAX - len(PDF))
    files = [NewDocument(f"D{n}", f"{n}.pdf", "application/pdf", part) for n in range(3)]
    with session_factory(engine)() as session, pytest.raises(DocumentError, match="together"):
        order_documents.add(session, "sub", files)
