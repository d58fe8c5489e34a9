"""The on-disk format of :class:`~sparsenum.neighbors.HNSWIndex`.

Layout (little-endian)::

    8 bytes   magic b"SPNMHNSW"
    4 bytes   format version (uint32)
    8 bytes   header length h (uint64, at most MAX_HEADER_BYTES)
    h bytes   UTF-8 JSON header: index parameters and the name, dtype and shape of each array
    ...       the arrays' raw bytes, in header order, C order
    4 bytes   CRC-32 of every byte before it

Arrays are streamed to and from the file (no second copy of the index in memory), and the file is
written to a temporary name then renamed, so an interrupted save never leaves a half file under
the target name. Reading trusts nothing: the header's size and nesting are bounded before it is
parsed, each array must have the name, dtype and number of dimensions the format defines, the
sizes must add up to the file's, and ``_state.check_state`` then checks the contents.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from ._state import ARRAYS

MAGIC = b"SPNMHNSW"
FORMAT_VERSION = 1
MAX_HEADER_BYTES = 1 << 16  # a real header is well under 1 KiB
MAX_HEADER_DEPTH = 8  # a real header nests 4 deep
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


def corrupt(path, field: str, why: str) -> ValueError:
    return ValueError(f"corrupt or unsupported index file: {field} {why} ({path})")


def _nesting_depth(text: bytes) -> int:
    """Deepest nesting of JSON arrays/objects, outside strings (json.loads recurses)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in text:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


def _parse_header(path, header_bytes: bytes):
    """(scalars, [(name, dtype, shape)]) from the header, or a ValueError naming the field."""
    depth = _nesting_depth(header_bytes)
    if depth > MAX_HEADER_DEPTH:
        raise corrupt(path, "header", f"nests {depth} levels deep (at most {MAX_HEADER_DEPTH})")
    try:
        header = json.loads(header_bytes)
    except (ValueError, UnicodeDecodeError) as exc:
        raise corrupt(path, "header", f"is not JSON ({exc})") from None
    if not isinstance(header, dict) or set(header) != {"scalars", "arrays"}:
        raise corrupt(path, "header", "must hold exactly 'scalars' and 'arrays'")
    specs = header["arrays"]
    if not isinstance(specs, list) or len(specs) != len(ARRAYS):
        raise corrupt(path, "arrays", f"must list the {len(ARRAYS)} arrays {list(ARRAYS)}")
    shapes = []
    for spec, (name, (dtype, ndim)) in zip(specs, ARRAYS.items()):
        if not isinstance(spec, dict) or spec.get("name") != name:
            raise corrupt(path, "arrays", f"must list {list(ARRAYS)} in this order")
        if spec.get("dtype") != dtype.newbyteorder("<").str:
            raise corrupt(path, name, f"must have dtype {dtype.newbyteorder('<').str}; got "
                                      f"{spec.get('dtype')!r:.40}")
        shape = spec.get("shape")
        if not (isinstance(shape, list) and len(shape) == ndim and all(
                isinstance(s, int) and not isinstance(s, bool) and 0 <= s < 2**48
                for s in shape)):
            raise corrupt(path, name, f"must have a shape of {ndim} nonnegative integers; got "
                                      f"{shape!r:.60}")
        shapes.append((name, dtype, tuple(shape)))
    return header["scalars"], shapes


def load_index(path):
    """(scalars, arrays) of an index file, whose framing, sizes and checksum are verified (the
    contents are checked by ``_state.check_state``)."""
    path = _as_path(path)
    size = path.stat().st_size
    with open(path, "rb") as f:
        prefix = f.read(_PREFIX.size)
        if len(prefix) < _PREFIX.size or not prefix.startswith(MAGIC):
            raise corrupt(path, "magic", f"bytes {MAGIC!r} missing: not a sparsenum HNSW index")
        _, version, header_len = _PREFIX.unpack(prefix)
        if version != FORMAT_VERSION:
            raise corrupt(path, "format version", f"is {version}; this version of sparsenum "
                                                  f"reads version {FORMAT_VERSION}")
        if header_len > MAX_HEADER_BYTES:
            raise corrupt(path, "header", f"length {header_len} exceeds {MAX_HEADER_BYTES} bytes")
        if _PREFIX.size + header_len > size:
            raise corrupt(path, "header", f"truncated: it needs {header_len} bytes, the file "
                                          f"has {size - _PREFIX.size} after the prefix")
        header_bytes = f.read(header_len)
        crc = zlib.crc32(header_bytes, zlib.crc32(prefix))
        scalars, shapes = _parse_header(path, header_bytes)
        expected = _PREFIX.size + header_len + _CRC.size + sum(
            dt.itemsize * int(np.prod(shape, dtype=object)) for _, dt, shape in shapes)
        if size != expected:
            what = "truncated" if size < expected else "longer than its header says"
            raise corrupt(path, "size", f"{what}: expected {expected} bytes, found {size}")
        arrays = {}
        for name, dtype, shape in shapes:
            a = np.empty(shape, dtype.newbyteorder("<"))
            buf = memoryview(a.reshape(-1)).cast("B")
            f.readinto(buf)
            crc = zlib.crc32(buf, crc)
            arrays[name] = a.astype(dtype, copy=False)
        (stored,) = _CRC.unpack(f.read(_CRC.size))
    if stored != crc:
        raise corrupt(path, "checksum", f"mismatch (stored {stored:#010x}, computed "
                                        f"{crc:#010x}): the file is damaged")
    return scalars, arrays
