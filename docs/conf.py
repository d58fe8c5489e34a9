"""Sphinx configuration for sparsenum.

API pages and the benchmarks page are generated at build time from the module registry and from
``benchmarks/results/*.json``, so adding a module needs no change here.
"""

import json
import os
import shutil
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(DOCS / "_ext"))

import sparsenum
from sparsenum.utils import all_estimators, registered_modules

project = "sparsenum"
author = "sparsenum developers"
copyright = "2026, sparsenum developers"
release = sparsenum.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "runblock",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "**.ipynb_checkpoints", "_generated/*toctree.rst",
                    "api/_generated/toctree.rst"]
html_theme = "furo"
html_title = f"sparsenum {release}"

autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks = set()
nitpicky = False

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "plot_gallery": os.environ.get("SPARSENUM_DOCS_PLOT_GALLERY", "True"),
    "abort_on_example_error": True,
}

MODULE_TITLES = {
    "ot": "Optimal transport (sparsenum.ot)",
    "neighbors": "Approximate nearest neighbours (sparsenum.neighbors)",
    "bcd": "Block coordinate descent (sparsenum.bcd)",
    "sketch": "Sketching for least squares (sparsenum.sketch)",
    "sketch_target": "Sketching at the target size n = 5e5, d = 200 (sparsenum.sketch)",
    "dictionary": "Dictionary learning (sparsenum.dictionary)",
}


def _write_if_changed(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def _api_pages() -> None:
    """One API page per registered module, listing its ``__all__`` with autosummary."""
    import importlib

    out = DOCS / "api" / "_generated"
    estimators = {name for name, _ in all_estimators()}
    for module in registered_modules():
        package = importlib.import_module(f"sparsenum.{module}")
        names = sorted(getattr(package, "__all__", []))
        title = MODULE_TITLES.get(module, f"sparsenum.{module}")
        lines = [title, "=" * len(title), "", f".. currentmodule:: sparsenum.{module}", ""]
        groups = (("Estimators", [n for n in names if n in estimators]),
                  ("Functions and classes", [n for n in names if n not in estimators]))
        for heading, group in groups:
            if not group:
                continue
            lines += [heading, "-" * len(heading), "", ".. autosummary::",
                      "   :toctree: generated/", "", *[f"   {n}" for n in group], ""]
        _write_if_changed(out / f"{module}.rst", "\n".join(lines))


def _toctrees() -> None:
    """Toctree entries for the module pages that exist (a glob would warn when there are none)."""
    pages = sorted(p.stem for p in (DOCS / "user_guide").glob("*.rst")
                   if p.stem not in ("index", "conventions"))
    api = [f"_generated/{m}" for m in registered_modules()]
    for target, entries in ((DOCS / "_generated" / "user_guide_toctree.rst", pages),
                            (DOCS / "api" / "_generated" / "toctree.rst", api)):
        lines = [".. toctree::", "   :maxdepth: 1", "", *[f"   {e}" for e in entries], ""]
        _write_if_changed(target, "\n".join(lines) if entries else "No modules yet.\n")


def _rst_table(markdown: str) -> list[str]:
    """A markdown pipe table as an rst list-table."""
    rows = [[c.strip() for c in line.strip().strip("|").split("|")]
            for line in markdown.strip().splitlines() if not set(line) <= set("|- ")]
    if not rows:
        return []
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for row in rows:
        lines.append("   * - " + (row[0] or " "))
        lines += [f"     - {cell or ' '}" for cell in row[1:]]
    return [*lines, ""]


def _benchmark_pages() -> None:
    """``_generated/benchmarks.rst`` from the JSON each benchmark script writes."""
    results = ROOT / "benchmarks" / "results"
    images = DOCS / "_generated" / "benchmarks"
    images.mkdir(parents=True, exist_ok=True)
    lines = []
    for path in sorted(results.glob("*.json")):
        data = json.loads(path.read_text())
        title = MODULE_TITLES.get(data["module"], data["module"])
        size = "quick sizes" if data.get("quick") else "full sizes"
        machine = data.get("machine", {})
        lines += [title, "-" * len(title), "",
                  f"Run on {data.get('date', '?')}, {size}, {machine.get('cpus', '?')} cores "
                  f"({', '.join(machine.get('blas', []))}); {data.get('seconds', '?')} s in all. "
                  "``time / ours`` above 1 means sparsenum is faster.", ""]
        if data.get("notes"):
            lines += [data["notes"], ""]
        lines += _rst_table(data.get("markdown", ""))
        for plot in data.get("plots", []):
            if (results / plot).exists():
                shutil.copy2(results / plot, images / plot)
                lines += [f".. image:: /_generated/benchmarks/{plot}", "   :width: 80%", ""]
    if not lines:
        lines = ["No benchmark results are recorded yet: run ``python -m benchmarks --quick``.", ""]
    _write_if_changed(DOCS / "_generated" / "benchmarks_results.rst", "\n".join(lines))


_api_pages()
_toctrees()
_benchmark_pages()


def _skip_metadata_routing(app, what, name, obj, skip, options):
    """scikit-learn generates ``set_*_request`` methods whose docstrings are not numpydoc."""
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_metadata_routing)
