"""Shared benchmark harness: timing, BLAS threads, tables with peer/ours ratios, JSON, plots.

A benchmark script builds a :class:`BenchmarkReport`, times each solver with :func:`time_call`
(first call, which includes numba compilation, kept apart from the median of warm repeats),
recomputes every solver's accuracy itself from the returned solution, adds rows and convergence
curves, then calls :meth:`BenchmarkReport.finish` to print the markdown table and write
``benchmarks/results/<module>.json`` and PNG plots.

Run a script as ``python -m benchmarks.bench_<module> [--quick]`` from the repository root.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import json
import math
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclasses.dataclass
class Timing:
    """Wall-clock times of one solver on one input."""

    first_call: float  # includes compilation / caches warming
    median: float  # median of the warm repeats
    times: list[float]
    result: Any  # what the last call returned


def time_call(fn: Callable, *args, repeats: int = 3, warmup: bool = True, **kwargs) -> Timing:
    """Time ``fn(*args, **kwargs)``: one first call, then ``repeats`` warm calls.

    With ``warmup=False`` the first call is also the only measured one (for solvers too slow
    to repeat); its time is then both ``first_call`` and ``median``.
    """
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    first = time.perf_counter() - start
    if not warmup or repeats < 1:
        return Timing(first, first, [first], result)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn(*args, **kwargs)
        times.append(time.perf_counter() - start)
    return Timing(first, statistics.median(times), times, result)


@contextlib.contextmanager
def blas_threads(n: int | None) -> Iterator[None]:
    """Limit BLAS/OpenMP threads (threadpoolctl) so peers and ours use the same resources."""
    from threadpoolctl import threadpool_limits

    if n is None:
        yield
        return
    with threadpool_limits(limits=n):
        yield


def parse_args(description: str, argv=None, extra: Callable | None = None) -> argparse.Namespace:
    """Standard options: ``--quick``, ``--threads``, ``--repeats``, ``--out``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="small sizes, under ~2 minutes")
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS and numba threads (default: all cores)")
    parser.add_argument("--repeats", type=int, default=3, help="warm repeats per measurement")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="results folder")
    if extra is not None:
        extra(parser)
    return parser.parse_args(argv)


@dataclasses.dataclass
class Row:
    problem: str
    solver: str
    time: float
    first_call: float | None = None
    n_iter: int | None = None
    ours: bool = False
    metrics: dict[str, float] = dataclasses.field(default_factory=dict)
    ratio: float | None = None  # this row's time / our time on the same problem


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return "nan"
        if value == 0:
            return "0"
        if 1e-3 <= abs(value) < 1e4:
            return f"{value:.4g}"
        return f"{value:.2e}"
    return str(value)


def markdown_table(header: list[str], rows: list[list]) -> str:
    cells = [[_fmt(c) for c in r] for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(header)]
    line = lambda cs: "| " + " | ".join(c.ljust(w) for c, w in zip(cs, widths)) + " |"  # noqa: E731
    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|",
                      *map(line, cells)])


class BenchmarkReport:
    """Rows of one benchmark script, with peer/ours ratios, written as markdown, JSON and PNG.

    ``ratio`` in the table is (this solver's warm time) / (our solver's warm time) on the same
    problem: above 1 means ours is faster. When several of our solvers run on one problem, the
    first one added with ``ours=True`` is the reference.
    """

    def __init__(self, module: str, args: argparse.Namespace, notes: str = "") -> None:
        self.module = module
        self.args = args
        self.notes = notes
        self.rows: list[Row] = []
        self.curves: dict[str, list[tuple[str, np.ndarray, np.ndarray, str]]] = {}
        self.plots: list[str] = []
        self.started = time.perf_counter()

    def add(self, problem: str, solver: str, timing: Timing | float, *, n_iter=None,
            ours: bool = False, **metrics) -> Row:
        """Add one measurement; ``metrics`` are accuracy numbers recomputed by the script."""
        if isinstance(timing, Timing):
            row = Row(problem, solver, timing.median, timing.first_call, n_iter, ours, metrics)
        else:
            row = Row(problem, solver, float(timing), None, n_iter, ours, metrics)
        self.rows.append(row)
        print(f"  {problem} | {solver}: {row.time:.4g} s "
              + " ".join(f"{k}={_fmt(v)}" for k, v in metrics.items()), flush=True)
        return row

    def add_curve(self, figure: str, label: str, x, y, *, xlabel: str = "time [s]",
                  ylabel: str = "error") -> None:
        """A convergence curve (y on a log scale) for the PNG named ``<module>_<figure>.png``."""
        self.curves.setdefault(figure, []).append(
            (label, np.asarray(x, float), np.asarray(y, float), f"{xlabel}|{ylabel}"))

    def _compute_ratios(self) -> None:
        reference: dict[str, float] = {}
        for row in self.rows:
            if row.ours and row.problem not in reference:
                reference[row.problem] = row.time
        for row in self.rows:
            ours = reference.get(row.problem)
            row.ratio = row.time / ours if ours and ours > 0 else None

    def markdown(self) -> str:
        self._compute_ratios()
        metric_names: list[str] = []
        for row in self.rows:
            metric_names += [m for m in row.metrics if m not in metric_names]
        header = ["problem", "solver", "time [s]", "first call [s]", "iterations",
                  *metric_names, "time / ours"]
        body = [[r.problem, r.solver + (" (ours)" if r.ours else ""), r.time, r.first_call,
                 r.n_iter, *[r.metrics.get(m) for m in metric_names], r.ratio]
                for r in self.rows]
        return markdown_table(header, body)

    def _plot(self, out: Path) -> None:
        if not self.curves:
            return
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        for figure, curves in self.curves.items():
            fig, ax = plt.subplots(figsize=(6, 4))
            for label, x, y, _ in curves:
                ax.plot(x, np.where(y > 0, y, np.nan), label=label)
            xlabel, ylabel = curves[0][3].split("|")
            ax.set(yscale="log", xlabel=xlabel, ylabel=ylabel, title=f"{self.module}: {figure}")
            ax.legend(fontsize=8)
            fig.tight_layout()
            name = f"{self.module}_{''.join(c if c.isalnum() else '_' for c in figure)}.png"
            fig.savefig(out / name, dpi=90)
            plt.close(fig)
            self.plots.append(name)

    def finish(self) -> str:
        """Print the table, write JSON and plots; returns the markdown table."""
        from threadpoolctl import threadpool_info

        out = Path(self.args.out)
        out.mkdir(parents=True, exist_ok=True)
        table = self.markdown()
        self._plot(out)
        payload = {
            "module": self.module,
            "quick": bool(self.args.quick),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                        "threads": self.args.threads,
                        "blas": [f"{i.get('internal_api')} {i.get('version')}"
                                 for i in threadpool_info()]},
            "seconds": round(time.perf_counter() - self.started, 1),
            "notes": self.notes,
            "rows": [dataclasses.asdict(r) for r in self.rows],
            "markdown": table,
            "plots": self.plots,
        }
        (out / f"{self.module}.json").write_text(json.dumps(payload, indent=1, default=float))
        print()
        print(table)
        print(f"\nwrote {out / (self.module + '.json')} and {len(self.plots)} plots "
              f"in {payload['seconds']} s")
        return table


def interleaved(calls: dict, repeats: int) -> dict:
    """Median times of several calls on one input, measured in alternation (load drifts hit all
    of them alike); the first call of each is a warm-up and kept apart."""
    first = {}
    for name, call in calls.items():
        start = time.perf_counter()
        call()
        first[name] = time.perf_counter() - start
    times = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            start = time.perf_counter()
            result = call()
            times[name].append(time.perf_counter() - start)
    return {name: Timing(first[name], statistics.median(t), t, result)
            for name, t in times.items()}


SMALL_NOTES = ("Small inputs: the default n_jobs=None against n_jobs=1, {} pairs of warm "
               "calls back to back, numba at its default thread count (all cores), BLAS "
               "threads {}; times are medians, default_over_serial the median of the per-pair "
               "ratios (target: <= 1.2).")


def default_against_serial(report: BenchmarkReport, cases, repeats: int) -> None:
    """Rows ``small: <problem>``: each ``call(n_jobs)`` of ``cases`` with the default
    ``n_jobs=None`` against ``n_jobs=1``, interleaved (target: within 1.2x)."""
    for problem, call in cases:
        t = interleaved({"default": lambda call=call: call(None),
                         "n_jobs=1": lambda call=call: call(1)}, repeats)
        # each pair ran back to back: the median of their ratios resists the machine's drift
        ratio = statistics.median(a / b for a, b in zip(t["default"].times, t["n_jobs=1"].times))
        report.add(f"small: {problem}", "default n_jobs=None", t["default"], ours=True,
                   default_over_serial=ratio)
        report.add(f"small: {problem}", "n_jobs=1", t["n_jobs=1"])
