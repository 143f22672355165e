"""Deterministic zips (sorted members, fixed timestamps and permissions); folders replaced whole."""

from __future__ import annotations

import hashlib
import io
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Dict, List, Mapping

EPOCH = (1980, 1, 1, 0, 0, 0)


def zip_bytes(files: Mapping[str, bytes]) -> bytes:
    """A zip of ``files`` (name -> content) that is byte-identical for the same input."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, so the permissions below are read
            info.external_attr = (0o100644 << 16)
            archive.writestr(info, files[name], compresslevel=9)
    return buffer.getvalue()


def folder_files(folder: Path, prefix: str = "", suffixes: tuple = ()) -> Dict[str, bytes]:
    """Every regular file below ``folder`` (skipping caches and dot-files), keyed by ``prefix`` + relative path."""
    files = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") or part == "__pycache__" for part in relative.parts):
            continue
        if path.is_file() and not path.is_symlink() and (not suffixes or path.suffix in suffixes):
            files[prefix + relative.as_posix()] = path.read_bytes()
    return files


def sha256(path: Path) -> str:
    """The SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_folder(folder: Path, files: Mapping[str, bytes]) -> List[Path]:
    """Replace ``folder`` whole by ``files`` (name -> content), staged beside it and renamed into place."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        for name, data in files.items():
            (staging / name).write_bytes(data)
        if folder.exists():
            shutil.rmtree(folder)
        staging.rename(folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [folder / name for name in files]
