"""Names a package exports from submodules that load on first use.

A module's estimators import scikit-learn (over a second on a cold start); users of the plain
functions should not pay for it. ``__init__.py`` files list such names here instead of importing
them, and they load when first read (PEP 562).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable

__all__ = ["lazy_exports"]


def lazy_exports(package: str, names: dict[str, str]) -> tuple[Callable, Callable]:
    """Module ``__getattr__`` and ``__dir__`` that import ``names`` (name -> ".submodule") lazily.

    Examples
    --------
    In a package's ``__init__.py``::

        __getattr__, __dir__ = lazy_exports(__name__, {"EntropicTransport": ".estimators"})
    """

    def __getattr__(name: str):
        submodule = names.get(name)
        if submodule is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(submodule, package), name)
        setattr(sys.modules[package], name, value)  # later reads skip this function
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(names))

    return __getattr__, __dir__
