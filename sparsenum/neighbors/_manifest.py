"""The manifest of a saved :class:`~sparsenum.neighbors.ShardedHNSWIndex`: ``manifest.json`` beside
one ``shard-NNNNN.hnsw`` file per shard (each in :class:`HNSWIndex`'s own checked format).

The manifest is written last, through a temporary name, so a folder whose save was interrupted
has no manifest (or the previous one) and does not load as a damaged index. Reading trusts
nothing, as for a single index: the size is bounded before parsing, every field is checked for
type and range, the shards' id ranges must be sorted and disjoint, file names must be plain
names of the expected form (no paths out of the folder), and each shard file is then checked
against its entry when it is loaded (``_shard_tasks.load_shard``).
"""

from __future__ import annotations

import json
import numbers
import os
import re
from pathlib import Path

from ..utils.validation import check_n_jobs
from ._validation import METRICS

MANIFEST = "manifest.json"
FORMAT = "sparsenum.neighbors.ShardedHNSWIndex"
FORMAT_VERSION = 1
MAX_MANIFEST_BYTES = 64 << 20  # about 100 bytes per shard: room for half a million shards
_SHARD_FILE = re.compile(r"shard-[0-9]{5,9}\.hnsw")
_KEYS = {"format", "version", "dim", "metric", "M", "ef_construction", "ef", "n_jobs", "seed",
         "next_shard", "next_id", "shards"}
_SHARD_KEYS = {"file", "start", "stop", "n_live", "n_deleted"}
_INT_LIMIT = 2**63 - 1


def shard_file(number: int) -> str:
    return f"shard-{number:05d}.hnsw"


def write_manifest(folder: Path, manifest: dict) -> None:
    tmp = folder / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=1))
    os.replace(tmp, folder / MANIFEST)


def _bad(field: str, rule: str, value) -> ValueError:
    return ValueError(f"corrupt or unsupported sharded index manifest: {field} must be {rule}; "
                      f"got {value!r}"[:400])


def _int(entry: dict, key: str, field: str, low: int, high: int = _INT_LIMIT) -> int:
    value = entry[key]
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) \
            or not low <= value <= high:
        raise _bad(field, f"an integer in [{low}, {high}]", value)
    return int(value)


def read_manifest(folder: Path) -> dict:
    """The checked manifest of ``folder`` (ValueError ``"corrupt or unsupported ..."``)."""
    path = folder / MANIFEST
    if not path.is_file():
        raise ValueError(f"corrupt or unsupported sharded index: no {MANIFEST} in {folder}")
    if path.stat().st_size > MAX_MANIFEST_BYTES:
        raise _bad("the file size", f"at most {MAX_MANIFEST_BYTES} bytes", path.stat().st_size)
    try:
        manifest = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"corrupt or unsupported sharded index manifest: not JSON ({exc})") \
            from None
    if not isinstance(manifest, dict) or set(manifest) != _KEYS:
        got = sorted(manifest) if isinstance(manifest, dict) else type(manifest).__name__
        raise _bad("the keys", f"exactly {sorted(_KEYS)}", got)
    if manifest["format"] != FORMAT:
        raise _bad("format", repr(FORMAT), manifest["format"])
    if manifest["version"] != FORMAT_VERSION or isinstance(manifest["version"], bool):
        raise _bad("version", f"{FORMAT_VERSION} (this release reads that version only)",
                   manifest["version"])
    if manifest["metric"] not in METRICS:
        raise _bad("metric", f"one of {METRICS}", manifest["metric"])
    _int(manifest, "dim", "dim", 1, 2**31 - 1)
    _int(manifest, "M", "M", 2, 4096)
    _int(manifest, "ef_construction", "ef_construction", 1)
    _int(manifest, "ef", "ef", 1)
    _int(manifest, "seed", "seed", 0)
    _int(manifest, "next_shard", "next_shard", 0, 10**9 - 1)
    next_id = _int(manifest, "next_id", "next_id", 0)
    try:
        check_n_jobs(manifest["n_jobs"])
    except (TypeError, ValueError) as exc:
        raise _bad("n_jobs", "None or a nonzero integer", manifest["n_jobs"]) from exc
    shards = manifest["shards"]
    if not isinstance(shards, list):
        raise _bad("shards", "a list", type(shards).__name__)
    files, previous_stop = set(), 0
    for i, entry in enumerate(shards):
        field = f"shards[{i}]"
        if not isinstance(entry, dict) or set(entry) != _SHARD_KEYS:
            raise _bad(field, f"an object with the keys {sorted(_SHARD_KEYS)}", entry)
        name = entry["file"]
        if not isinstance(name, str) or not _SHARD_FILE.fullmatch(name) or name in files:
            raise _bad(field + ".file", "a distinct name shard-NNNNN.hnsw", name)
        files.add(name)
        start = _int(entry, "start", field + ".start", previous_stop)
        stop = _int(entry, "stop", field + ".stop", start + 1, next_id)
        n_live = _int(entry, "n_live", field + ".n_live", 0, stop - start)
        _int(entry, "n_deleted", field + ".n_deleted", 0, stop - start - n_live)
        previous_stop = stop
    return manifest
