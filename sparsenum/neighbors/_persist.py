"""The on-disk format of :class:`~sparsenum.neighbors.HNSWIndex`.

Layout (little-endian)::

    8 bytes   magic b"SPNMHNSW"
    4 bytes   format version (uint32)
    8 bytes   header length h (uint64)
    h bytes   UTF-8 JSON header: index parameters and the name, dtype and shape of each array
    ...       the arrays' raw bytes, in header order, C order
    4 bytes   CRC-32 of every byte before it

Arrays are streamed to and from the file (no second copy of the index in memory), and the file is
written to a temporary name then renamed, so an interrupted save never leaves a half file under
the target name.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from pathlib import Path

import numpy as np

MAGIC = b"SPNMHNSW"
FORMAT_VERSION = 1
_PREFIX = struct.Struct("<8sIQ")
_CRC = struct.Struct("<I")


def _as_path(path) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike; got {type(path).__name__}")
    return Path(path)


def save_index(path, scalars: dict, arrays: dict) -> None:
    path = _as_path(path)
    specs = [{"name": name, "dtype": np.dtype(a.dtype).newbyteorder("<").str,
              "shape": list(a.shape)} for name, a in arrays.items()]
    header = json.dumps({"scalars": scalars, "arrays": specs}).encode()
    tmp = path.with_name(path.name + ".tmp")
    crc = 0
    with open(tmp, "wb") as f:
        for chunk in (_PREFIX.pack(MAGIC, FORMAT_VERSION, len(header)), header):
            f.write(chunk)
            crc = zlib.crc32(chunk, crc)
        for spec, a in zip(specs, arrays.values()):
            buf = memoryview(np.ascontiguousarray(a, dtype=spec["dtype"]).reshape(-1)).cast("B")
            f.write(buf)
            crc = zlib.crc32(buf, crc)
        f.write(_CRC.pack(crc))
    os.replace(tmp, path)


def _corrupt(path, why: str) -> ValueError:
    return ValueError(f"{path} is not a valid sparsenum HNSW index file: {why}")


def load_index(path):
    path = _as_path(path)
    size = path.stat().st_size
    with open(path, "rb") as f:
        prefix = f.read(_PREFIX.size)
        if len(prefix) < _PREFIX.size or not prefix.startswith(MAGIC):
            raise _corrupt(path, f"it does not start with the magic bytes {MAGIC!r}")
        _, version, header_len = _PREFIX.unpack(prefix)
        if version != FORMAT_VERSION:
            raise ValueError(f"{path} was written in HNSW file format version {version}; this "
                             f"version of sparsenum reads version {FORMAT_VERSION}")
        if _PREFIX.size + header_len > size:
            raise _corrupt(path, f"truncated: the header needs {header_len} bytes, the file has "
                                 f"{size - _PREFIX.size} after the prefix")
        header_bytes = f.read(header_len)
        crc = zlib.crc32(header_bytes, zlib.crc32(prefix))
        try:
            header = json.loads(header_bytes)
            specs = header["arrays"]
            scalars = header["scalars"]
            shapes = [(s["name"], np.dtype(s["dtype"]), tuple(s["shape"])) for s in specs]
        except (ValueError, KeyError, TypeError) as exc:
            raise _corrupt(path, f"unreadable header ({exc})") from None
        expected = _PREFIX.size + header_len + _CRC.size + sum(
            dt.itemsize * int(np.prod(shape)) for _, dt, shape in shapes)
        if size != expected:
            what = "truncated" if size < expected else "longer than its header says"
            raise _corrupt(path, f"{what}: expected {expected} bytes, found {size}")
        arrays = {}
        for name, dtype, shape in shapes:
            a = np.empty(shape, dtype)
            buf = memoryview(a.reshape(-1)).cast("B")
            f.readinto(buf)
            crc = zlib.crc32(buf, crc)
            arrays[name] = a.astype(dtype.newbyteorder("="), copy=False)
        (stored,) = _CRC.unpack(f.read(_CRC.size))
    if stored != crc:
        raise _corrupt(path, f"checksum mismatch (stored {stored:#010x}, computed {crc:#010x}); "
                             "the file is corrupted")
    return scalars, arrays
