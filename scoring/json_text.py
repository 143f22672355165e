"""Parse JSON from untrusted bytes: every way it can fail becomes one error naming the file and the place."""

from __future__ import annotations

import json
from typing import Any, Type

from scoring.errors import SubmissionError
from scoring.limits import LIMITS


def parse_json(data: bytes, name: str, error: Type[Exception] = SubmissionError) -> Any:
    """The JSON value of ``data`` (UTF-8, -16 or -32); ``error`` names ``name`` and what is wrong."""
    try:
        return json.loads(data)
    except UnicodeDecodeError:
        raise error(f"{name}: not UTF-8 text; save the file as UTF-8") from None
    except json.JSONDecodeError as exc:
        raise error(f"{name}, line {exc.lineno}, column {exc.colno}: not valid JSON ({exc.msg})") from None
    except RecursionError:
        raise error(f"{name}: JSON nested more than {LIMITS.max_json_depth} levels deep, the reader's limit") from None
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise error(f"{name}: not valid JSON ({exc})") from None
