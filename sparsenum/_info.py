"""``python -m sparsenum info``: versions, numba threading and BLAS, for bug reports."""

from __future__ import annotations

import platform
import sys

_PACKAGES = ("numpy", "scipy", "sklearn", "numba", "ot", "networkx", "cvxpy", "threadpoolctl",
             "dask", "matplotlib", "hnswlib", "faiss", "pynndescent", "skglm", "celer", "regot")


# import name -> distribution name, where they differ
_DISTRIBUTIONS = {"sklearn": "scikit-learn", "ot": "POT", "faiss": "faiss-cpu"}


def _version(package: str) -> str:
    """The installed distribution's version, read from its metadata (importing every peer would
    take seconds)."""
    from importlib import metadata

    try:
        return metadata.version(_DISTRIBUTIONS.get(package, package))
    except metadata.PackageNotFoundError:
        return "not installed"


def versions_info() -> dict[str, dict]:
    """Versions, numba threading and BLAS libraries, as nested dicts."""
    import numba
    from threadpoolctl import threadpool_info

    from . import __version__
    from .utils._numba import max_threads, threading_layer

    return {
        "system": {"python": sys.version.split()[0], "platform": platform.platform(),
                   "executable": sys.executable},
        "packages": {"sparsenum": __version__, **{p: _version(p) for p in _PACKAGES}},
        "numba": {"version": numba.__version__, "threading_layer": threading_layer(),
                  "num_threads": numba.get_num_threads(), "max_threads": max_threads()},
        "blas": [{k: info.get(k) for k in ("internal_api", "version", "num_threads", "filepath")}
                 for info in threadpool_info()],
    }


def show_versions() -> None:
    """Print versions of sparsenum and its dependencies, numba threading and BLAS.

    Examples
    --------
    >>> import sparsenum
    >>> sparsenum.show_versions()  # doctest: +ELLIPSIS
    System:
    ...
    """
    info = versions_info()
    print("System:")
    for key, value in info["system"].items():
        print(f"  {key:>16}: {value}")
    print("Packages:")
    for key, value in info["packages"].items():
        print(f"  {key:>16}: {value}")
    print("Numba:")
    for key, value in info["numba"].items():
        print(f"  {key:>16}: {value}")
    print("BLAS (threadpoolctl):")
    for lib in info["blas"]:
        print(f"  {lib['internal_api']} {lib['version']}, {lib['num_threads']} threads: "
              f"{lib['filepath']}")
