"""The benchmark harness: timing, ratios, the markdown table, JSON and plots."""

import json

import numpy as np

from benchmarks.__main__ import main as run_benchmarks
from benchmarks._harness import BenchmarkReport, blas_threads, markdown_table, parse_args, time_call


def test_time_call_separates_first_call_from_warm_repeats():
    calls = []
    timing = time_call(lambda x: calls.append(x) or x * 2, 21, repeats=4)
    assert timing.result == 42 and len(calls) == 5 and len(timing.times) == 4
    assert min(timing.times) <= timing.median <= max(timing.times)
    single = time_call(lambda: 1, warmup=False)
    assert single.times == [single.first_call] and single.median == single.first_call


def test_report_ratios_table_json_and_plot(tmp_path):
    args = parse_args("test", ["--quick", "--out", str(tmp_path)])
    report = BenchmarkReport("toy", args, notes="a note")
    report.add("p1", "ours", 2.0, ours=True, n_iter=3, error=1e-9)
    report.add("p1", "peer", 6.0, error=1e-7)
    report.add("p2", "peer only", 1.0)
    report.add_curve("conv", "ours", [0, 1, 2], [1.0, 0.1, 0.0])
    table = report.finish()
    ratios = {(r.problem, r.solver): r.ratio for r in report.rows}
    assert ratios == {("p1", "ours"): 1.0, ("p1", "peer"): 3.0, ("p2", "peer only"): None}
    assert "time / ours" in table and "ours (ours)" in table
    data = json.loads((tmp_path / "toy.json").read_text())
    assert data["quick"] is True and data["notes"] == "a note" and len(data["rows"]) == 3
    assert data["plots"] == ["toy_conv.png"] and (tmp_path / "toy_conv.png").exists()


def test_markdown_table_formats_numbers():
    table = markdown_table(["a", "b"], [[1.23456789, None], [1e-12, float("nan")]])
    assert "1.235" in table and "1.00e-12" in table and "nan" in table and "| -" in table


def test_blas_threads_limits_and_restores():
    from threadpoolctl import threadpool_info

    before = [i["num_threads"] for i in threadpool_info()]
    with blas_threads(1):
        assert all(i["num_threads"] == 1 for i in threadpool_info())
        np.dot(np.ones((10, 10)), np.ones((10, 10)))
    assert [i["num_threads"] for i in threadpool_info()] == before


def test_runner_rejects_unknown_benchmark(capsys):
    assert run_benchmarks(["--quick", "no_such_module"]) == 2
    assert "unknown benchmarks" in capsys.readouterr().err
