"""The two kinds of failure the scoring program reports, each with its exit code."""


class SubmissionError(Exception):
    """The participant's submission is invalid: one line naming the file, line and value (exit 1)."""

    exit_code = 1


class ReferenceDataError(Exception):
    """The organiser's reference data or the command line is wrong (exit 2)."""

    exit_code = 2


def quote(value: object, limit: int = 60) -> str:
    """Show a participant's value in a message, shortened so a huge cell cannot flood the log."""
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def missing_dependency(exc: ImportError) -> str:
    """The error line for a Python without numpy or Pillow."""
    return (f"error: the scoring program needs Python 3.9+ with numpy and Pillow ({exc}); install them with "
            "'python3 -m pip install numpy pillow'")
