"""The bounds on what a submission may make the scoring program do, declared in one place.

Each limit keeps memory and time bounded on hostile input, and each error that one of them raises
names the limit, so a participant who hits one knows what to change.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Bounds on a submission; a challenge may declare its own ``max_bytes``."""

    #: all files of a submission together, once uncompressed
    max_bytes: int = 1 << 30
    #: files in a submission (zip members or files of a folder)
    max_files: int = 100_000
    #: characters in one line of a CSV or text prediction file
    max_line_chars: int = 1 << 20
    #: pixels of one prediction image (checked from its header, before decoding)
    max_image_pixels: int = 64 << 20

    @property
    def max_json_depth(self) -> int:
        """Nesting of a JSON file: what the interpreter's JSON reader allows, about its recursion limit."""
        return sys.getrecursionlimit()


LIMITS = Limits()


def human_bytes(size: int) -> str:
    """``size`` in bytes, KiB, MiB or GiB."""
    for unit in ("bytes", "KiB", "MiB"):
        if size < 1024:
            return f"{size} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return f"{size:.1f} GiB"
