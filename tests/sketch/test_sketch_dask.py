"""The Dask path (row-chunked A on a LocalCluster) equals the in-memory path."""

import subprocess
import sys

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("dask.distributed")

from sparsenum.sketch import (  # noqa: E402
    SRHT,
    CountSketch,
    GaussianSketch,
    SparseSign,
    sketch_and_precondition,
    sketch_and_solve,
)


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((3000, 8)) * np.logspace(0, 4, 8)
    b = A @ np.ones(8) + rng.standard_normal(3000)
    # uneven chunks that do not line up with the SRHT's power-of-two blocks
    return A, b, da.from_array(A, chunks=(700, 8)), da.from_array(b, chunks=900)


@pytest.mark.parametrize("make", [GaussianSketch, SRHT, SparseSign, CountSketch])
def test_blockwise_sketch_equals_in_memory(client, data, make):
    A, b, dA, db = data
    op = make(200, random_state=4)
    SA = op.apply(dA)
    assert isinstance(SA, da.Array)  # lazy until computed
    np.testing.assert_allclose(SA.compute(), op.apply(A), rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(op.apply(db).compute(), op.apply(b), rtol=1e-12, atol=1e-10)


@pytest.mark.parametrize("sketch", ["srht", "countsketch"])
def test_sketch_and_solve_dask_equals_in_memory(client, data, sketch):
    A, b, dA, db = data
    local = sketch_and_solve(A, b, sketch=sketch, sketch_size=200, random_state=1)
    remote = sketch_and_solve(dA, db, sketch=sketch, sketch_size=200, random_state=1)
    np.testing.assert_allclose(remote.coef, local.coef, rtol=1e-10)
    assert remote.residual_norm == pytest.approx(local.residual_norm, rel=1e-12)


def test_sketch_and_precondition_dask_equals_in_memory(client, data):
    A, b, dA, _ = data
    local = sketch_and_precondition(A, b, random_state=1)
    remote = sketch_and_precondition(dA, b, random_state=1)  # NumPy b is allowed
    assert remote.converged
    np.testing.assert_allclose(remote.coef, local.coef, rtol=1e-10)
    np.testing.assert_allclose(remote.coef, np.linalg.lstsq(A, b, rcond=None)[0], rtol=1e-10)


def test_dask_nan_chunk_and_dct_are_rejected(client, data):
    A, _b, dA, db = data
    bad = A.copy()
    bad[2500, 3] = np.nan
    with pytest.raises(ValueError, match="A must be finite"):
        sketch_and_solve(da.from_array(bad, chunks=(700, 8)), db, sketch_size=100, random_state=0)
    with pytest.raises(ValueError, match="cannot be applied block by block"):
        SRHT(50, transform="dct", random_state=0).apply(dA).compute()
    with pytest.raises(ValueError, match="length A.shape"):
        sketch_and_solve(dA, db[:-1], sketch_size=100)
    with pytest.raises(TypeError, match="pass both as dask arrays"):
        sketch_and_solve(A, db, sketch_size=100)


def test_single_machine_paths_do_not_import_dask():
    code = ("import sys, numpy as np\n"
            "from sparsenum.sketch import sketch_and_solve, sketch_and_precondition\n"
            "A = np.random.default_rng(0).standard_normal((300, 3)); b = A.sum(1)\n"
            "sketch_and_solve(A, b, sketch_size=30); sketch_and_precondition(A, b)\n"
            "assert not [m for m in sys.modules if m.split('.')[0] == 'dask'], 'dask imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True)
