"""Importing and using sparsenum on installs that forbid writing, and import cost."""

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import sparsenum
from sparsenum.utils import registered_modules
from sparsenum.utils.registry import all_warm_ups

ROOT = Path(sparsenum.__file__).resolve().parent.parent

# one function call of each module on a tiny input; what a new user runs first
_FIRST_CALLS = textwrap.dedent("""
    import numpy as np
    import sparsenum
    from sparsenum.utils.registry import all_warm_ups
    for module, warm_up in all_warm_ups():
        warm_up()
    print("ok", sorted(m for m, _ in all_warm_ups()))
""")


def _run_without_write_privilege(code, env, cwd):
    """Run ``code`` in a fresh interpreter that must respect file permissions.

    Root ignores permission bits; dropping the capabilities that let it do so (setpriv) gives
    the situation of an unprivileged user on a read-only install, with the same interpreter.
    """
    command = [sys.executable, "-c", code]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: cannot make folders unwritable")
        caps = "-dac_override,-dac_read_search,-fowner"
        command = [setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}", *command]
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=1100)


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_read_only_install_without_home_imports_and_runs(tmp_path):
    """site-packages read-only, HOME not writable, no cache variables: import and first calls
    must work (numba's cache falls back to a temporary folder, or compiles uncached)."""
    if os.name != "posix":
        pytest.skip("needs POSIX permissions")
    prefix = tmp_path / "site"
    shutil.copytree(ROOT / "sparsenum", prefix / "sparsenum",
                    ignore=shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc"))
    for path in [prefix, *prefix.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    temp = tmp_path / "tmp"
    temp.mkdir()
    home = tmp_path / "home"  # exists, not writable
    home.mkdir(mode=0o555)
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(prefix),
           "HOME": str(home), "TMPDIR": str(temp), "NUMBA_NUM_THREADS": "2"}
    try:
        result = _run_without_write_privilege(_FIRST_CALLS, env, str(tmp_path))
    finally:  # let pytest clean up
        for path in [home, prefix, *prefix.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
    assert result.returncode == 0, result.stderr[-3000:]
    ran = [m for m, _ in all_warm_ups()]
    assert f"ok {sorted(ran)}" in result.stdout and len(ran) >= 5, result.stdout[-2000:]
    assert not list(prefix.rglob("*.nbi")), "numba wrote next to read-only sources"
    assert list(temp.rglob("*.nbi")), "the fallback cache folder was not used"


@pytest.mark.parametrize("module", registered_modules())
def test_importing_a_module_does_not_import_scikit_learn(module):
    code = (f"import sys, sparsenum.{module}; "
            "assert 'sklearn' not in sys.modules, 'sklearn imported'; print('ok')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]


def test_dir_of_package_is_clean():
    names = dir(sparsenum)
    assert "importlib" not in names and "annotations" not in names
    assert {"__version__", "show_versions", "base", "utils"} <= set(names)
