"""Files written atomically: a reader sees the old file or the new one whole, never half of one."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional


@contextmanager
def replaced_atomically(path: Path, mode: Optional[int] = 0o644) -> Iterator[Path]:
    """A temporary path (not yet created) beside ``path``, ``.<name>.partial``, to write the new file to; it replaces
    ``path`` when the block succeeds, with permissions ``mode`` (None: as the writer made it, e.g. a hard link's), and
    is removed when the block fails, leaving ``path`` as it was. One left by a killed process is removed first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.partial")
    temporary.unlink(missing_ok=True)
    try:
        yield temporary
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_atomically(path: Path, data: bytes, mode: Optional[int] = 0o644) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename (see ``replaced_atomically``)."""
    with replaced_atomically(path, mode) as temporary:
        temporary.write_bytes(data)
