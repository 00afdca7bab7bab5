"""Exceptions fjvoucher raises; the CLI turns each into one clear line and its exit code."""

EXIT_OK, EXIT_PROBLEMS, EXIT_UNUSABLE, EXIT_BUG = 0, 1, 2, 3


class FjvoucherError(Exception):
    """Base class of every error fjvoucher reports to the clerk: the job could not be done (exit 1)."""

    exit_code = EXIT_PROBLEMS


class InputError(FjvoucherError):
    """A file or argument the clerk named cannot be used at all (exit 2, like a usage error)."""

    exit_code = EXIT_UNUSABLE


class RosterUnreadable(InputError):
    """The roster file cannot be read at all (missing, encrypted, not a spreadsheet)."""


class TemplateError(FjvoucherError):
    """The voucher master cannot be used (unreadable, or placeholders outside the contract)."""


class PhotoError(FjvoucherError):
    """A candidate's photo exists but cannot be used; the message says why."""

    @property
    def reason(self) -> str:
        """Return why the photo cannot be used."""
        return str(self)


class PdfEngineError(FjvoucherError):
    """No PDF engine is available, or the engine failed."""


class LedgerError(FjvoucherError):
    """The ledger cannot be opened or used."""
