"""Exceptions fjvoucher raises; the CLI turns each into one clear line."""


class FjvoucherError(Exception):
    """Base class of every error fjvoucher reports to the clerk."""


class RosterUnreadable(FjvoucherError):
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
