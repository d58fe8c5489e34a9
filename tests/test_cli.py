"""``python -m sparsenum`` commands, the demo runner and the module registry."""

import subprocess
import sys

import pytest

import sparsenum
from sparsenum.__main__ import main
from sparsenum._demo import markdown_table
from sparsenum.utils import all_demos, all_estimators, registered_modules


def test_info_prints_versions_threads_and_blas(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    for expected in ("sparsenum", "numpy", "threading_layer", "num_threads", "BLAS"):
        assert expected in out


def test_unknown_command_exits_with_usage():
    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"])
    assert exc.value.code == 2


def test_demo_of_unknown_module_fails_cleanly(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--module", "nope"]) == 2
    assert "no demo registered for: nope" in capsys.readouterr().out


def test_module_runs_as_a_script():
    out = subprocess.run([sys.executable, "-m", "sparsenum", "--help"], capture_output=True,
                         text=True, check=True).stdout
    assert "demo" in out and "bench" in out and "info" in out


def test_registry_is_consistent():
    modules = registered_modules()
    assert modules == sorted(modules)
    assert {m for m, _ in all_demos()} <= set(modules)
    for name, cls in all_estimators():
        assert cls.__name__ == name
    with pytest.raises(ValueError, match="type_filter"):
        all_estimators("nonsense")


def test_lazy_submodules_and_dir():
    assert sparsenum.base.SolverResult is not None
    assert {"base", "utils", *registered_modules()} <= set(dir(sparsenum))
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        sparsenum.nonexistent  # noqa: B018


def test_markdown_table_pads_columns():
    table = markdown_table(("a", "long header"), [("x", "1"), ("yyyy", "22")])
    lines = table.splitlines()
    assert len({len(line) for line in lines}) == 1
    assert lines[1].startswith("|---")
