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
    # MathJax served from _static (a pinned copy from the package), so formulas render without
    # a network, e.g. for docs built on a cluster
    "sphinx-mathjax-offline",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "runblock",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "**.ipynb_checkpoints", "_generated/*toctree.rst",
                    "_generated/benchmarks_results.rst",
                    "api/_generated/toctree.rst"]
html_theme = "furo"
html_static_path = ["_static"]
html_css_files = ["sparsenum.css"]
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
    "ot_suite": "Optimal transport: the instance suite against POT and regot (sparsenum.ot)",
    "ot_sparse": "Sparsity-constrained optimal transport against POT (sparsenum.ot)",
    "ot_sparse_large": "Sparsity-constrained optimal transport at n = 5000 (sparsenum.ot)",
    "neighbors": "Approximate nearest neighbours (sparsenum.neighbors)",
    "bcd": "Block coordinate descent (sparsenum.bcd)",
    "sketch": "Sketching for least squares (sparsenum.sketch)",
    "sketch_target": "Sketching at the target size n = 5e5, d = 200 (sparsenum.sketch)",
    "dictionary": "Dictionary learning (sparsenum.dictionary)",
    "neighbors_parallel_build": "Approximate nearest neighbours: parallel build",
    "neighbors_parallel_build_workqueue":
        "Approximate nearest neighbours: parallel build (workqueue threading layer)",
    "neighbors_sharded": "Approximate nearest neighbours: sharded index",
    "bayes": "Sparse Bayesian recovery (sparsenum.bayes)",
    "privacy": "Sparse regression under local differential privacy (sparsenum.privacy)",
    "privacy_nldp": "Non-interactive LDP regression against the user count (sparsenum.privacy)",
    "privacy_target": "LDP regression at n = 1e6 users (sparsenum.privacy)",
    "completion": "Matrix completion (sparsenum.completion)",
    "completion_full": "Matrix completion at full size: recovery, scaling, Dask and noisy matrices "
                       "(sparsenum.completion)",
    "unmixing": "Hyperspectral unmixing (sparsenum.unmixing)",
    "graph": "Spectral graph sparsification (sparsenum.graph)",
    "first_call": "Import and first call in a new process (every module)",
    "sketch_small": "Sketching on small inputs: default n_jobs against one thread",
    "dictionary_small": "Dictionary learning on small inputs: default n_jobs against one thread",
    "neighbors_small": "Nearest neighbours on small inputs: default n_jobs against one thread",
    "ot_small": "Optimal transport on small inputs: default n_jobs against one thread",
    "privacy_small": "LDP regression on small inputs: default n_jobs against one thread",
    "completion_small": "Matrix completion on small inputs: default n_jobs against one thread",
    "graph_small": "Graph sparsification on small inputs: default n_jobs against one thread",
    "unmixing_small": "Unmixing on small inputs: default n_jobs against one thread",
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


def _cell(text: str) -> str:
    """Text safe inside an rst list-table cell (one line, no stray markup)."""
    return " ".join(str(text).split()).replace("|", "\\|").replace("*", "\\*") or " "


def _list_table(header: list[str], rows: list[list[str]], css_class: str) -> list[str]:
    lines = [".. list-table::", "   :header-rows: 1", f"   :class: {css_class}", ""]
    for row in [header, *rows]:
        lines.append("   * - " + _cell(row[0]))
        lines += [f"     - {_cell(cell)}" for cell in row[1:]]
    return [*lines, ""]


def _number(value) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):  # a figure some benchmarks record as text (e.g. a recall list)
        return value
    value = float(value)
    if value == 0:
        return "0"
    return f"{value:.3g}" if 1e-3 <= abs(value) < 1e4 else f"{value:.1e}"


def _summary_rows(rows: list[dict]) -> list[list[str]]:
    """One row per problem: our solver, its time and accuracy, and each peer's time / ours."""
    problems: dict[str, list[dict]] = {}
    for row in rows:
        problems.setdefault(row["problem"], []).append(row)
    summary = []
    for problem, entries in problems.items():
        ours = next((r for r in entries if r.get("ours")), None)
        if ours is None:
            continue
        accuracy = ", ".join(f"{k.replace('_', ' ')} {_number(v)}"
                             for k, v in ours.get("metrics", {}).items()) or "-"
        peers = [f"{r['solver']} {_number(r['ratio'])}x" for r in entries
                 if not r.get("ours") and r.get("ratio") not in (None, 0)
                 and r["ratio"] == r["ratio"]]
        summary.append([problem, f"{_number(ours['time'])} s ({ours['solver']})", accuracy,
                        "; ".join(peers) or "-"])
    return summary


def _full_rows(rows: list[dict]) -> tuple[list[str], list[list[str]]]:
    """Every row of a benchmark; accuracy figures in one cell, since each problem has its own."""
    header = ["problem", "solver", "time [s]", "first call [s]", "iterations", "accuracy",
              "time / ours"]
    body = [[r["problem"], r["solver"] + (" (ours)" if r.get("ours") else ""),
             _number(r["time"]), _number(r.get("first_call")), _number(r.get("n_iter")),
             ", ".join(f"{k.replace('_', ' ')} {_number(v)}"
                       for k, v in r.get("metrics", {}).items()) or "-",
             _number(r.get("ratio"))] for r in rows]
    return header, body


def _run_description(data: dict) -> str:
    machine = data.get("machine", {})
    threads = machine.get("threads")
    threads = "all cores" if threads is None else f"{threads} thread{'s' * (threads != 1)}"
    date = str(data.get("date", "?"))[:10]
    size = "quick sizes" if data.get("quick") else "full sizes"
    return (f"Run on {date}, {size}, on {machine.get('cpus', '?')} cores with {threads} "
            f"({', '.join(machine.get('blas', []))}); {data.get('seconds', '?')} s in all. "
            "``time / ours`` above 1 means sparsenum is faster.")


def _benchmark_section(data: dict, results: Path, images: Path) -> list[str]:
    title = MODULE_TITLES.get(data["module"], data["module"])
    lines = [title, "-" * len(title), "", _run_description(data), ""]
    if data.get("notes"):
        lines += ["**How it was measured.** " + _cell(data["notes"]), ""]
    plots = [p for p in data.get("plots", []) if (results / p).exists()]
    for plot in plots:
        shutil.copy2(results / plot, images / plot)
    rows = data.get("rows", [])
    lines += [".. raw:: html", "", '   <div class="bench-summary">', ""]
    summary = _summary_rows(rows)
    if summary:  # records without a row of ours (e.g. peers alone) have only the full table
        lines += _list_table(["problem", "ours", "our accuracy", "peers: time / ours"],
                             summary, "bench-table")
    if plots:
        lines += [f".. image:: /_generated/benchmarks/{plots[0]}", "   :class: bench-plot", ""]
    lines += [".. raw:: html", "", "   </div>",
              f"   <details><summary>Full table ({len(rows)} rows)"
              f"{f' and {len(plots) - 1} more plots' if len(plots) > 1 else ''}</summary>", ""]
    header, body = _full_rows(rows)
    lines += _list_table(header, body, "bench-table bench-full")
    for plot in plots[1:]:
        lines += [f".. image:: /_generated/benchmarks/{plot}", "   :class: bench-plot", ""]
    lines += [".. raw:: html", "", "   </details>", ""]
    return lines


def _benchmark_pages() -> None:
    """``_generated/benchmarks.rst`` from the JSON each benchmark script writes."""
    results = ROOT / "benchmarks" / "results"
    images = DOCS / "_generated" / "benchmarks"
    images.mkdir(parents=True, exist_ok=True)
    lines = []
    for path in sorted(results.glob("*.json")):
        lines += _benchmark_section(json.loads(path.read_text()), results, images)
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
