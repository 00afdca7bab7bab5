"""Exceptions fjvoucher raises, each with a stable code (messages.FAILURES), and the exit codes they end with."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """How a command ends: the README's table of exit codes."""

    OK = 0  # done (warnings allowed)
    PROBLEMS = 1  # problems found in the roster, or a job failed
    UNUSABLE = 2  # a file or argument cannot be used at all (like a usage error)
    BUG = 3  # an unexpected error: its details go to a log file


class FjvoucherError(Exception):
    """Base class of every error fjvoucher reports to the clerk: the job could not be done (exit 1).

    `code` names the failure in messages.FAILURES, for programs and tests; the message is for people.
    """

    exit_code = ExitCode.PROBLEMS
    code = "failure"

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        if code is not None:
            self.code = code


class InputError(FjvoucherError):
    """A file or argument the clerk named cannot be used at all (exit 2, like a usage error)."""

    exit_code = ExitCode.UNUSABLE
    code = "input-unusable"


class RosterUnreadable(InputError):
    """The roster file cannot be read at all (missing, encrypted, not a spreadsheet)."""

    code = "roster-unreadable"


class TemplateError(FjvoucherError):
    """The voucher master cannot be used (unreadable, or placeholders outside the contract)."""

    code = "template-unusable"


class PhotoError(FjvoucherError):
    """A candidate's photo exists but cannot be used; the message says why."""

    code = "photo-unusable"

    @property
    def reason(self) -> str:
        """Return why the photo cannot be used."""
        return str(self)


class PdfEngineError(FjvoucherError):
    """No PDF engine is available, or the engine failed."""

    code = "pdf-engine"


class LedgerError(FjvoucherError):
    """The ledger cannot be opened or used."""

    code = "ledger-error"


class NotALedger(LedgerError):
    """The file named as the ledger is not one (a folder, a device, an empty or foreign file): left as it is."""

    exit_code = ExitCode.UNUSABLE
    code = "ledger-not-ours"
