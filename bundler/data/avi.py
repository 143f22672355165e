"""A Motion-JPEG AVI writer in pure Python (Pillow encodes the frames): no PyAV or FFmpeg needed.

The file is a plain AVI 1.0 RIFF: ``hdrl`` (main header, one video stream ``MJPG``), ``movi`` (one
``00dc`` chunk per frame, each a JPEG) and the ``idx1`` index, which FFmpeg (PyAV) decodes like a camera's clip.
"""

from __future__ import annotations

import struct
from typing import List, Sequence

import numpy as np

from bundler.data.examples import image_file

KEYFRAME = 0x10  # AVIIF_KEYFRAME: every JPEG frame stands alone
HAS_INDEX = 0x10  # AVIF_HASINDEX


def _chunk(fourcc: bytes, data: bytes) -> bytes:
    """A RIFF chunk: its id, its size and its data, padded to an even length."""
    return fourcc + struct.pack("<I", len(data)) + data + b"\0" * (len(data) % 2)


def _list(kind: bytes, *chunks: bytes) -> bytes:
    return _chunk(b"LIST", kind + b"".join(chunks))


def mjpeg_avi(frames: Sequence[np.ndarray], fps: int = 10) -> bytes:
    """The AVI file of ``frames`` (each (height, width, 3) uint8 RGB, all of one size) at ``fps`` frames a second."""
    if not frames:
        raise ValueError("an AVI needs at least one frame")
    height, width = frames[0].shape[:2]
    encoded: List[bytes] = [image_file(frame, "JPEG") for frame in frames]
    largest = max(len(data) for data in encoded)
    main = struct.pack("<10I4I", 1_000_000 // fps, largest * fps, 0, HAS_INDEX, len(frames), 0, 1, largest, width, height,
                       0, 0, 0, 0)
    stream = struct.pack("<4s4sI2H8I4h", b"vids", b"MJPG", 0, 0, 0, 0, 1, fps, 0, len(frames), largest, 0xFFFFFFFF, 0,
                         0, 0, width, height)
    bitmap = struct.pack("<IiiHH4sIiiII", 40, width, height, 1, 24, b"MJPG", width * height * 3, 0, 0, 0, 0)
    header = _list(b"hdrl", _chunk(b"avih", main), _list(b"strl", _chunk(b"strh", stream), _chunk(b"strf", bitmap)))
    movi, index, offset = [], [], 4  # idx1 offsets count from the 'movi' id
    for data in encoded:
        chunk = _chunk(b"00dc", data)
        movi.append(chunk)
        index.append(struct.pack("<4sIII", b"00dc", KEYFRAME, offset, len(data)))
        offset += len(chunk)
    body = header + _list(b"movi", *movi) + _chunk(b"idx1", b"".join(index))
    return _chunk(b"RIFF", b"AVI " + body)
