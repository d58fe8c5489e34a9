"""The Dask path (row-chunked M on a LocalCluster) equals the in-memory path."""

import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("dask.distributed")

from sparsenum.completion import altmin_complete  # noqa: E402
from sparsenum.completion._cases import low_rank  # noqa: E402


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def data():
    _, M = low_rank(230, 90, 4, 0.3, noise=0.1, seed=0)
    rows, cols = np.nonzero(~np.isnan(M))
    S = sp.csr_matrix((M[rows, cols], (rows, cols)), shape=M.shape)
    return M, S


@pytest.mark.parametrize("kwargs", [
    {"reg": 0.05, "bias_reg": 1.0, "solver": "exact"},
    {"reg": 0.0, "biases": False, "solver": "exact"},
    # the factor penalty chosen on the (hashed) validation split; a loose tol keeps the
    # search's many small distributed sweeps short
    {"bias_reg": 1.0, "tol": 1e-4},
])
def test_dense_blocks_equal_in_memory(client, data, kwargs):
    M, _ = data
    ours = altmin_complete(da.from_array(M, chunks=(120, 90)), 4, n_sweeps=8, random_state=0,
                           **kwargs)
    reference = altmin_complete(M, 4, n_sweeps=8, random_state=0, **kwargs)
    assert ours.reg == pytest.approx(reference.reg, rel=1e-12)
    assert ours.n_iter == reference.n_iter
    np.testing.assert_allclose(ours.to_dense(), reference.to_dense(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(ours.history.objective, reference.history.objective, rtol=1e-10)


def test_bias_search_equals_in_memory(client, data):
    M, _ = data
    # the bias penalties chosen by bias-only sweeps on the blocks (the factor penalty fixed)
    kwargs = {"reg": 0.05, "n_sweeps": 2, "tol": 1e-3, "random_state": 0}
    ours = altmin_complete(da.from_array(M, chunks=(120, 90)), 4, **kwargs)
    reference = altmin_complete(M, 4, **kwargs)
    assert ours.bias_reg == reference.bias_reg
    np.testing.assert_allclose(ours.reg_search, reference.reg_search, rtol=1e-10)


def test_sparse_blocks_equal_in_memory(client, data):
    _, S = data
    D = da.from_array(S, chunks=(50, 90), asarray=False)
    kwargs = {"reg": 0.05, "bias_reg": 1.0, "n_sweeps": 8, "random_state": 0}
    ours = altmin_complete(D, 4, **kwargs)
    reference = altmin_complete(S, 4, **kwargs)
    np.testing.assert_allclose(ours.to_dense(), reference.to_dense(), rtol=0, atol=1e-10)


@pytest.mark.parametrize("solver", ["cg", "sketch"])
def test_iterative_solvers_equal_in_memory(client, data, solver):
    """Rows and columns are solved on the blocks with the asked solver, on the observations in
    the in-memory order, so the iterative solvers give the in-memory iterates too. Without the
    implicit prior: its Y-step sums the row blocks' parts in block order, so its conjugate
    gradients can stop one iteration apart from the in-memory ones (their equality to 1e-10 is
    tested in test_completion_implicit.py)."""
    M, _ = data
    kwargs = {"reg": 0.05, "bias_reg": 1.0, "solver": solver, "n_sweeps": 4, "random_state": 0,
              "implicit": None}
    ours = altmin_complete(da.from_array(M, chunks=(60, 90)), 4, **kwargs)
    reference = altmin_complete(M, 4, **kwargs)
    assert ours.history["inner_iterations"].min() > 0
    np.testing.assert_array_equal(ours.history["inner_iterations"],
                                  reference.history["inner_iterations"])
    np.testing.assert_allclose(ours.to_dense(), reference.to_dense(), rtol=0, atol=1e-10)


def test_bad_blocks_are_reported_with_their_rows(client):
    S = sp.random(40, 10, density=0.3, format="csr", random_state=0)
    S.data[-1] = np.nan
    with pytest.raises(ValueError, match=r"M \(rows 30 to 39\)"):
        altmin_complete(da.from_array(S, chunks=(10, 10), asarray=False), 2)
    empty = da.from_array(np.full((20, 5), np.nan), chunks=(10, 5))
    with pytest.raises(ValueError, match="at least one observed"):
        altmin_complete(empty, 2)
    with pytest.raises(ValueError, match="rank"):
        altmin_complete(da.from_array(np.eye(3), chunks=(2, 3)), 3)


def test_numpy_input_does_not_import_dask():
    code = ("import sys, numpy as np; import sparsenum.completion as c; "
            "assert not any(m.split('.')[0] in ('sklearn', 'dask', 'matplotlib', 'cvxpy', "
            "'networkx', 'ot') for m in sys.modules), 'import'; "
            "c.altmin_complete(np.eye(4) + 1.0, 1, n_sweeps=2); "
            "assert 'dask' not in sys.modules, 'dask'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=".")


@pytest.mark.parametrize("implicit", [2.0, "auto"])
def test_implicit_prior_equals_in_memory(client, data, implicit):
    """The implicit prior's joint step: row systems from the row blocks, ``B^T`` products
    summed over them; its penalty chosen on the hashed split as in memory."""
    _, S = data
    kwargs = {"reg": 0.05, "bias_reg": 1.0, "implicit": implicit, "solver": "exact",
              "n_sweeps": 6, "tol": 1e-4, "random_state": 0}
    ours = altmin_complete(da.from_array(S, chunks=(50, 90), asarray=False), 4, **kwargs)
    reference = altmin_complete(S, 4, **kwargs)
    assert ours.implicit_reg == reference.implicit_reg
    assert ours.implicit_reg is not None or implicit == "auto"
    np.testing.assert_allclose(ours.to_dense(), reference.to_dense(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(ours.implicit_factors, reference.implicit_factors, rtol=0,
                               atol=1e-10)
    np.testing.assert_allclose(ours.history.objective, reference.history.objective, rtol=1e-10)
