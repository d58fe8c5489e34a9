"""``python -m sparsenum demo``: every registered module's demo, one table, convergence plots."""

from __future__ import annotations

import math
import time
import traceback
from pathlib import Path

from .utils.registry import DemoRow, all_demos

_HEADER = ("module", "problem", "solver", "time [s]", "iterations", "accuracy", "measure",
           "reference")


def _format_row(module: str, row: DemoRow) -> tuple[str, ...]:
    n_iter = "-" if row.n_iter is None else str(row.n_iter)
    accuracy = "nan" if math.isnan(row.accuracy) else f"{row.accuracy:.2e}"
    return (module, row.problem, row.solver, f"{row.time:.3f}", n_iter, accuracy,
            row.accuracy_name, row.reference)


def markdown_table(header, rows) -> str:
    """A GitHub-markdown table with columns padded to equal width."""
    rows = [tuple(map(str, r)) for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(header)]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), sep, *(line(r) for r in rows)])


def _slug(text: str) -> str:
    words = "".join(c if c.isalnum() else " " for c in text.lower()).split()
    return "_".join(words)


def _plot_history(module: str, number: int, row: DemoRow, out: Path) -> Path:
    import textwrap

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8))
    for ax, x in zip(axes, ("iteration", "time")):
        row.history.plot(ax=ax, x=x, label=row.solver)
    title = textwrap.fill(f"{module}: {row.solver} on {row.problem}", width=90)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path = out / f"{module}_{number:02d}_{_slug(row.solver)}.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _have_matplotlib() -> bool:
    import importlib.util

    return importlib.util.find_spec("matplotlib") is not None


def run_demos(out: str | Path = "sparsenum-demo", modules: list[str] | None = None) -> int:
    """Run the demos, print the table, write plots to ``out``; returns a process exit code."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    demos = [(m, d) for m, d in all_demos() if modules is None or m in modules]
    if modules is not None:
        unknown = set(modules) - {m for m, _ in demos}
        if unknown:
            print(f"no demo registered for: {', '.join(sorted(unknown))}")
            return 2
    if not demos:
        print("no modules with a demo are registered yet")
        return 0
    table, failures, plots = [], [], []
    can_plot = _have_matplotlib()
    for module, demo in demos:
        start = time.perf_counter()
        print(f"running {module} demo ...", flush=True)
        try:
            rows = demo(out)
        except Exception:
            failures.append(module)
            traceback.print_exc()
            continue
        for number, row in enumerate(rows, 1):
            table.append(_format_row(module, row))
            if can_plot and row.history is not None and len(row.history):
                plots.append(_plot_history(module, number, row, out))
        print(f"  {module} done in {time.perf_counter() - start:.1f} s", flush=True)
    print()
    print(markdown_table(_HEADER, table))
    if can_plot:
        print(f"\n{len(plots)} convergence plots written to {out.resolve()}")
    else:
        print("\nmatplotlib is not installed, so no convergence plots were drawn "
              "(pip install matplotlib, or pip install -e '.[test]')")
    if failures:
        print(f"demos that failed: {', '.join(failures)}")
        return 1
    return 0
