"""The one error type users see. Every message names the problem and where it is."""


class KilnError(Exception):
    """A problem with the user's input or environment; printed as one line, exit status 2."""

    exit_code = 2


class UnsupportedError(KilnError):
    """The model uses an operator, type or option Kiln does not support."""
