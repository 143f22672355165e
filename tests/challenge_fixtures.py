"""What a challenge's own test module, ``tests/test_<task, '-' written '_'>.py``, offers the shared tests.

A shared test that needs something of one kind of challenge (a restatement of its hidden facts, a reference with
hostile names) asks for it by name here; a challenge whose tests define none gets the shared test's generic part.
"""

from __future__ import annotations

import importlib
from typing import Any, Optional


def challenge_fixture(task: str, name: str) -> Optional[Any]:
    """``name`` of the test module of challenge ``task``, or None if the module or the name is not there."""
    module = f"tests.test_{task.replace('-', '_')}"
    try:
        tests = importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name != module:
            raise
        return None
    return getattr(tests, name, None)
