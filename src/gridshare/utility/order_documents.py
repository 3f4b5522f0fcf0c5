"""The documents submitted for a connection order (the Connections guide's "documentation" tag
group: ID proof, ownership certificate, wiring diagram, ...): kept by submission, each file with
what it was asked for, checked for size and kind before anything is kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from gridshare.store.tables.orders import OrderDocument

FILE_MAX: Final = 10 * 1024 * 1024
"""The largest file accepted."""
SUBMISSION_MAX: Final = 25 * 1024 * 1024
"""The most one submission may hold, all files together."""
KINDS: Final = {
    "application/pdf": b"%PDF-",
    "image/png": b"\x89PNG\r\n\x1a\n",
    "image/jpeg": b"\xff\xd8\xff",
}
"""The kinds of file accepted, each with the bytes its content starts with."""


class DocumentError(ValueError):
    """A submission that cannot be kept; the message says which file and why."""


@dataclass(frozen=True)
class NewDocument:
    label: str
    filename: str
    content_type: str
    data: bytes


def add(session: Session, submission_id: str, files: Sequence[NewDocument]) -> list[OrderDocument]:
    """Keep `files` as submission `submission_id`; DocumentError (keeping nothing) if one is
    empty, too large, or not a PDF, PNG or JPEG (by its declared type and by its content)."""
    if not files:
        raise DocumentError("the submission holds no file")
    if sum(len(f.data) for f in files) > SUBMISSION_MAX:
        raise DocumentError(f"the files together are over {SUBMISSION_MAX // 2**20} MB")
    for file in files:
        _check(file)
    kept = [
        OrderDocument(
            submission_id=submission_id,
            label=file.label[:200],
            filename=file.filename[:255],
            content_type=file.content_type,
            size=len(file.data),
            data=file.data,
        )
        for file in files
    ]
    session.add_all(kept)
    session.flush()
    return kept


def of_submission(session: Session, submission_id: str | None) -> list[OrderDocument]:
    """The files of a submission, in the order they were kept (none for None)."""
    if submission_id is None:
        return []
    query = select(OrderDocument).where(OrderDocument.submission_id == submission_id)
    return list(session.scalars(query.order_by(OrderDocument.id)))


def _check(file: NewDocument) -> None:
    name = file.filename or file.label
    if not file.data:
        raise DocumentError(f"{name} is empty")
    if len(file.data) > FILE_MAX:
        raise DocumentError(f"{name} is over {FILE_MAX // 2**20} MB")
    magic = KINDS.get(file.content_type)
    if magic is None:
        raise DocumentError(
            f"{name} is {file.content_type or 'of no declared type'}; send a PDF, PNG or JPEG"
        )
    if not file.data.startswith(magic):
        raise DocumentError(f"{name} says it is {file.content_type} but its content is not")
