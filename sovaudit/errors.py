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


# -- bugs are not network failures ------------------------------------------------------------

INTERNAL_KIND = "internal"
INTERNAL_PREFIX = "internal error in "
# The key of ``Endpoint.details`` that lists the internal errors met while handling it.
INTERNAL_DETAILS_KEY = "internal_errors"
_MAX_INTERNAL_MESSAGE = 200


def internal_reason(exc: BaseException) -> str:
    """``internal error in <module>.<function>: <type>: <message>`` for a bug caught at a stage.

    The place is the innermost frame of sovaudit's own code in the traceback (where our code
    called what failed, or failed itself); the message is cut and kept on one line, since it may
    quote hostile data.
    """
    where = "?"
    tb = exc.__traceback__
    while tb is not None:
        module = tb.tb_frame.f_globals.get("__name__", "")
        if module == "sovaudit" or module.startswith("sovaudit."):
            where = f"{module}.{tb.tb_frame.f_code.co_name}"
        tb = tb.tb_next
    message = " ".join(str(exc).split())[:_MAX_INTERNAL_MESSAGE]
    head = f"{INTERNAL_PREFIX}{where}: {type(exc).__name__}"
    return f"{head}: {message}" if message else head


def is_internal_reason(reason: str | None) -> bool:
    """Whether an endpoint or probe reason reports a bug rather than a network condition."""
    return bool(reason) and str(reason).startswith(INTERNAL_PREFIX)
