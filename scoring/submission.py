"""Read a participant's submission safely: a zip, an extracted folder, or one prediction file.

Rules: members with absolute paths or ``..`` and symbolic links are rejected; ``__MACOSX/`` and
dot-files are ignored; a submission larger than the challenge's limit once uncompressed is refused.
Files are keyed by their path relative to the submission root, with a single enclosing folder
removed, so ``preds.csv`` and ``my_team/preds.csv`` are read alike.
"""

from __future__ import annotations

import io
import lzma
import os
import stat
import struct
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import IO, Dict, List, Sequence, Tuple

from scoring.errors import SubmissionError, quote
from scoring.limits import LIMITS, human_bytes

#: what zipfile raises on a damaged, truncated or unusual archive (it is a pure-Python parser of untrusted bytes)
ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, struct.error, zlib.error,
              lzma.LZMAError, NotImplementedError, RuntimeError, OverflowError, IndexError, KeyError)
READABLE_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)


class _GuardedMember(io.RawIOBase):
    """A zip member's stream whose read errors (bad CRC, truncated data) become one SubmissionError."""

    def __init__(self, stream: IO[bytes], label: str) -> None:
        super().__init__()
        self._stream = stream
        self._label = label

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        try:
            data = self._stream.read(len(buffer))
        except ZIP_ERRORS as exc:
            raise SubmissionError(f"{self._label}: cannot be read from the zip ({exc}); zip the file again") from None
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._stream.close()
        super().close()


def _normalise(name: str, where: str) -> Tuple[str, ...]:
    """Split a member name into path parts, refusing names that escape the submission root."""
    name = name.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise SubmissionError(f"{where}: member {quote(name)} has an absolute path; zip the files themselves")
    parts = tuple(part for part in PurePosixPath(name).parts if part not in ("", "."))
    if ".." in parts:
        raise SubmissionError(f"{where}: member {quote(name)} points outside the zip ('..'); zip the files themselves")
    return parts


def _ignored(parts: Sequence[str]) -> bool:
    return parts[0] == "__MACOSX" or any(part.startswith(".") for part in parts)


class Submission:
    """The files of one submission, with a way to open each (nothing is extracted to disk)."""

    def __init__(self, source: Path, max_bytes: int) -> None:
        self.source = source
        self.name = source.name
        self._zip: zipfile.ZipFile | None = None
        self._paths: Dict[str, object] = {}
        if source.is_dir():
            entries = self._scan_folder(source)
        elif zipfile.is_zipfile(source) or (source.is_file() and source.suffix.lower() == ".zip"):
            entries = self._scan_zip(source)  # a .zip that is none is refused as the platform refuses it
        elif source.is_file():
            entries = [((source.name,), source, source.stat().st_size)]
        else:
            raise SubmissionError(f"{source}: no such file or folder")
        if len(entries) > LIMITS.max_files:
            raise SubmissionError(f"{self.name}: {len(entries)} files, more than the limit of {LIMITS.max_files}; "
                                  "submit only the prediction files")
        total = sum(size for _, _, size in entries)
        if total > max_bytes:
            raise SubmissionError(
                f"{self.name}: {human_bytes(total)} once uncompressed, more than the limit of "
                f"{human_bytes(max_bytes)}; submit only the prediction files"
            )
        kept = [(parts, handle) for parts, handle, _ in entries if not _ignored(parts)]
        tops = {parts[0] for parts, _ in kept if len(parts) > 1}
        if len(tops) == 1 and all(len(parts) > 1 for parts, _ in kept):
            kept = [(parts[1:], handle) for parts, handle in kept]
        self._paths = {}
        for parts, handle in sorted(kept, key=lambda e: e[0]):
            name = "/".join(parts)
            if name in self._paths:
                raise SubmissionError(f"{self.name}: {quote(name)} is in the zip twice; keep one")
            self._paths[name] = handle

    def _scan_folder(self, root: Path) -> List[Tuple[Tuple[str, ...], object, int]]:
        entries = []
        for folder, dirs, files in os.walk(root, followlinks=False):
            dirs.sort()
            for name in sorted(files) + [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
                path = Path(folder, name)
                parts = path.relative_to(root).parts
                if path.is_symlink():
                    if _ignored(parts):
                        continue
                    raise SubmissionError(f"{self.name}: {quote('/'.join(parts))} is a symbolic link; submit regular files")
                entries.append((parts, path, path.stat().st_size))
        return entries

    def _scan_zip(self, path: Path) -> List[Tuple[Tuple[str, ...], object, int]]:
        try:
            archive = zipfile.ZipFile(path)
            infos = archive.infolist()
        except ZIP_ERRORS as exc:
            raise SubmissionError(f"{self.name}: not a readable zip file ({exc}); zip the files again") from None
        self._zip = archive
        entries = []
        for info in infos:
            if info.is_dir():
                continue
            parts = _normalise(info.filename, self.name)
            if not parts:
                continue
            if info.flag_bits & 0x1 and not _ignored(parts):
                raise SubmissionError(f"{self.name}: member {quote(info.filename)} is encrypted; submit a zip without a password")
            if info.compress_type not in READABLE_METHODS and not _ignored(parts):
                raise SubmissionError(f"{self.name}: member {quote(info.filename)} uses compression method "
                                      f"{info.compress_type}, which cannot be read; use deflate (the usual zip)")
            if stat.S_ISLNK(info.external_attr >> 16):
                if _ignored(parts):
                    continue
                raise SubmissionError(f"{self.name}: member {quote(info.filename)} is a symbolic link; submit regular files")
            entries.append((parts, info, info.file_size))
        return entries

    def names(self) -> List[str]:
        """Relative paths of every file kept, sorted."""
        return list(self._paths)

    def with_suffix(self, *suffixes: str) -> List[str]:
        """Relative paths of the files whose name ends with one of ``suffixes`` (case-insensitive)."""
        return [name for name in self._paths if name.lower().endswith(tuple(s.lower() for s in suffixes))]

    def single(self, *suffixes: str) -> str:
        """The one file with one of ``suffixes``; a clear error if there are none or several."""
        found = self.with_suffix(*suffixes)
        wanted = " or ".join(suffixes)
        if not found:
            others = ", ".join(quote(n) for n in self.names()[:5]) or "nothing"
            raise SubmissionError(f"{self.name}: no {wanted} file found (it holds {others}); submit exactly one {wanted} file")
        if len(found) > 1:
            listed = ", ".join(quote(n) for n in found[:5])
            raise SubmissionError(f"{self.name}: {len(found)} {wanted} files ({listed}); submit exactly one")
        return found[0]

    def _open_raw(self, name: str) -> IO[bytes]:
        handle = self._paths[name]
        try:
            if isinstance(handle, zipfile.ZipInfo):
                assert self._zip is not None
                return self._zip.open(handle)
            assert isinstance(handle, Path)
            return handle.open("rb")
        except ZIP_ERRORS as exc:
            raise SubmissionError(f"{name}: cannot be read from {self.name} ({exc})") from None

    def open(self, name: str) -> IO[bytes]:
        """Open one of the files for binary reading; a damaged zip member is a submission error when read."""
        return io.BufferedReader(_GuardedMember(self._open_raw(name), name))

    def read(self, name: str) -> bytes:
        """The whole content of one file; a damaged zip member is a submission error."""
        stream = self._open_raw(name)
        try:
            with stream:
                return stream.read()
        except ZIP_ERRORS as exc:
            raise SubmissionError(f"{name}: cannot be read from {self.name} ({exc}); zip the file again") from None

    def close(self) -> None:
        """Release the zip file, if any."""
        if self._zip is not None:
            self._zip.close()

    def __enter__(self) -> Submission:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
