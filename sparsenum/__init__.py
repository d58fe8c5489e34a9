"""sparsenum: fast, tested solvers for sparse numerical problems.

Each solver module (``sparsenum.ot``, ``sparsenum.neighbors``, ...) is imported on first use, so
``import sparsenum`` stays cheap and a module's dependencies load only when it is used.
"""

from __future__ import annotations

import importlib

from ._info import show_versions
from ._version import __version__

__all__ = ["__version__", "show_versions"]


def __getattr__(name: str):
    if name.startswith("_"):
        raise AttributeError(name)
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{name}":
            raise
        raise AttributeError(f"module 'sparsenum' has no attribute {name!r}") from None


def __dir__():
    from .utils.registry import registered_modules

    return sorted(["__version__", "show_versions", "base", "utils", *registered_modules()])
