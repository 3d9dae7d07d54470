"""One exception hierarchy and every exit code; every error carries a message a user can act on.

The CLI turns a :class:`SovauditError` into ``FILE:LINE: message`` (or ``HOST: message``) and
its ``exit_code`` (2); anything else is a bug and keeps its traceback::

    SovauditError                 exit 2
      UserError                   the user's input is wrong
        InventoryError, RuleError, EvidenceError, ResolverError, DatasetError, LanguageError
      RdapError (collect.rdap)    an RDAP source the user chose cannot be used

:class:`ExitCode` lists every code the command line gives, each with one meaning.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """The exit codes of ``sovaudit`` (README, "Exit codes"); no code has two meanings."""

    OK = 0  # clean, or findings below the --fail-on / --fail-on-new threshold
    FINDINGS = 1  # a live finding at or above --fail-on (or a new one at --fail-on-new)
    ERROR = 2  # usage, inventory, rule, evidence, resolver, dataset or data-source error
    INCOMPLETE = 3  # --strict and an endpoint is unknown (takes precedence over FINDINGS)
    INTERRUPTED = 130  # SIGINT or SIGTERM: the partial evidence was written


class SovauditError(Exception):
    """Base class of every error sovaudit raises on purpose."""

    exit_code: int = ExitCode.ERROR

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


class LanguageError(UserError, ValueError):
    """A report language sovaudit does not write (a ValueError too, for library callers)."""


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
