"""The one error an import raises: which line, which field, what is wrong and how to fix it."""

from __future__ import annotations


class UsageImportError(ValueError):
    """A file that cannot be imported; nothing from it has been stored."""

    def __init__(self, line: int, field: str | None, problem: str) -> None:
        self.line = line
        self.field = field
        self.problem = problem
        where = f"line {line}, field {field}" if field else f"line {line}"
        super().__init__(f"{where}: {problem}")
