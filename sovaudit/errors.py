"""One exception hierarchy; every error carries a message a user can act on.

The CLI turns a :class:`UserError` into ``FILE:LINE: message`` (or ``HOST: message``) and exit
code 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class SovauditError(Exception):
    """Base class of every error sovaudit raises on purpose."""

    exit_code = 2

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line

    def __str__(self) -> str:
        if self.path is not None and self.line is not None:
            return f"{self.path}:{self.line}: {self.message}"
        if self.path is not None:
            return f"{self.path}: {self.message}"
        return self.message


class UserError(SovauditError):
    """The user's input is wrong: exit code 2."""


class InventoryError(UserError):
    """An inventory file is malformed or refers to something invalid."""


class RuleError(UserError):
    """A rule pack is malformed (bad YAML, unknown fact or operator, duplicate id...)."""


class EvidenceError(UserError):
    """An evidence file given to ``report``, ``diff`` or ``--baseline`` cannot be read."""


class ResolverError(UserError):
    """The chosen resolver(s) cannot be used: malformed address or nobody answers."""


class DatasetError(UserError):
    """A dataset file (IP -> ASN table, provider registry) is missing or malformed."""
