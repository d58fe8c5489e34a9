"""Every selection rule x update rule converges on every problem it supports (small sizes)."""

import numpy as np
import pytest
import scipy.sparse as sp

from sparsenum.bcd import (
    BinaryLogistic,
    LabelPropagation,
    LeastSquares,
    MultinomialLogistic,
    block_coordinate_descent,
)
from sparsenum.bcd.partitions import make_partition

RNG = np.random.default_rng(1)
A = RNG.standard_normal((25, 6)) * RNG.uniform(0.5, 2.0, 6)  # unequal column scales
B = RNG.standard_normal(25)
YLOG = np.where(RNG.standard_normal(25) > 0, 1.0, -1.0)
YCLS = RNG.integers(0, 3, 25)
PATH = sp.diags([np.ones(11), np.ones(11)], [-1, 1], shape=(12, 12)).tocsr()
CYCLE = (PATH + sp.coo_matrix(([1.0, 1.0], ([0, 11], [11, 0])), shape=(12, 12))).tocsr()
LAB = np.zeros(12, bool)
LAB[[0, 6]] = True
T = np.where(np.arange(12) == 0, 1.0, -1.0)

SMOOTH = {
    "ls": lambda: LeastSquares(A, B),
    "logistic": lambda: BinaryLogistic(sp.csc_matrix(A), YLOG, l2=0.1),
    "multinomial": lambda: MultinomialLogistic(A[:, :4], YCLS, l2=3.0),
    "labelprop": lambda: LabelPropagation(CYCLE, T, LAB),
}
L1 = {
    "ls_l1": lambda: LeastSquares(A, B, l1=2.0),
    "ls_nnl1": lambda: LeastSquares(sp.csc_matrix(A), B, l1=2.0, nonneg=True),
    "logistic_l1": lambda: BinaryLogistic(A, YLOG, l1=1.0),
}
SELECTIONS = ("cyclic", "random", "lipschitz", "gs", "gsl", "gsq", "gsd")
UPDATES = ("gradient", "adaptive", "matrix", "newton", "exact")


def _reference(problem):
    update = "exact" if problem.is_quadratic else "newton"
    return block_coordinate_descent(problem, block_size=problem.n_coords, update=update,
                                    tol=1e-11, max_iter=300).objective


def _supported(problem, selection, update):
    if update == "exact" and not problem.is_quadratic:
        return False
    return not (selection == "gsq" and (problem.l1 or problem.nonneg))


def _check(make, partition, selection, update, block_size=3):
    problem = make()
    if not _supported(problem, selection, update):
        with pytest.raises(ValueError, match="exact|gsq"):
            block_coordinate_descent(problem, partition=partition, selection=selection,
                                     update=update)
        return
    res = block_coordinate_descent(problem, partition=partition, selection=selection,
                                   update=update, block_size=block_size, tol=1e-6,
                                   max_iter=20000, random_state=0)
    assert res.converged, (partition, selection, update, res.criterion)
    assert res.objective <= _reference(problem) + 1e-7 * max(1.0, abs(res.objective))
    # objective never increases (every update is a descent step)
    assert np.all(np.diff(res.history.objective) <= 1e-9 * max(1.0, abs(res.objective)))


def _pairs(names, selections, updates):
    """Every selection x update on the cheap quadratic problems; on the others every selection
    with the gradient update and every update with GSL (the same code paths, fewer runs)."""
    cases = []
    for name in names:
        if name in ("ls", "labelprop", "ls_l1"):
            cases += [(name, s, u) for s in selections for u in updates]
        else:
            cases += [(name, s, "gradient") for s in selections]
            cases += [(name, "gsl", u) for u in updates if u != "gradient"]
    return cases


@pytest.mark.parametrize(("name", "selection", "update"), _pairs(sorted(SMOOTH), SELECTIONS,
                                                                 UPDATES))
def test_fixed_blocks_converge(name, selection, update):
    _check(SMOOTH[name], "sort", selection, update)


@pytest.mark.parametrize(("name", "selection", "update"), _pairs(sorted(L1), ("gsl", "gsd", "gs"),
                                                                 UPDATES))
def test_proximal_rules_converge(name, selection, update):
    _check(L1[name], "avg", selection, update)


@pytest.mark.parametrize("selection", ("random", "lipschitz", "gs", "gsl", "gsq", "gsd"))
@pytest.mark.parametrize("name", ["ls", "logistic", "labelprop"])
def test_variable_blocks_converge(name, selection):
    _check(SMOOTH[name], "variable", selection, "matrix" if name != "logistic" else "newton")


@pytest.mark.parametrize("partition", ("order", "random", "sort", "avg"))
def test_partitions_converge(partition):
    _check(SMOOTH["ls"], partition, "gsl", "gradient")


def test_forest_blocks_with_message_passing_are_exact():
    """On a cycle graph the greedy forest block leaves out one node; each step is exact."""
    problem = LabelPropagation(CYCLE, T, LAB)
    res = block_coordinate_descent(problem, partition="forest", selection="gsl",
                                   update="message_passing", block_size=12, tol=1e-12,
                                   max_iter=500)
    assert res.converged
    exact = np.linalg.solve(problem.Q.toarray(), problem.c)
    assert np.allclose(res.x, exact, atol=1e-10)
    # a path graph is a tree: one message-passing step solves it
    path = LabelPropagation(PATH, T, LAB)
    one = block_coordinate_descent(path, partition="order", update="message_passing",
                                   block_size=12, tol=1e-12)
    assert one.n_iter == 1 and one.converged


def test_message_passing_rejects_cycles_and_other_problems():
    grid = sp.kron(PATH[:3, :3], sp.eye(3)) + sp.kron(sp.eye(3), PATH[:3, :3])  # 3 x 3 lattice
    corner = np.zeros(9, bool)
    corner[0] = True
    with pytest.raises(ValueError, match="cycle"):
        block_coordinate_descent(LabelPropagation(grid, np.ones(9), corner), partition="order",
                                 update="message_passing", block_size=8)
    with pytest.raises(ValueError, match="sparse quadratic"):
        block_coordinate_descent(LeastSquares(A, B), update="message_passing")


def test_partition_shapes():
    L = np.arange(10.0)
    for kind in ("order", "random", "sort", "avg"):
        part = make_partition(kind, 10, 3, L, np.random.default_rng(0))
        assert sorted(np.concatenate(part.blocks).tolist()) == list(range(10))
        assert max(len(b) for b in part.blocks) == 3
    sort = make_partition("sort", 10, 3, L, None)
    assert sort.blocks[0].tolist() == [9, 8, 7]


def test_gsl_beats_cyclic_with_unequal_lipschitz_constants():
    """The paper's ordering on a problem with very different column scales (Section 3)."""
    rng = np.random.default_rng(0)
    M = rng.standard_normal((100, 40)) * np.logspace(-1, 1.5, 40)
    b = rng.standard_normal(100)
    iters = {}
    for selection in ("cyclic", "gsl"):
        res = block_coordinate_descent(LeastSquares(M, b), partition="sort", selection=selection,
                                       update="gradient", block_size=1, tol=1e-6, max_iter=50000)
        iters[selection] = res.n_iter
    assert iters["gsl"] < iters["cyclic"]


@pytest.mark.parametrize("kwargs,match", [
    ({"partition": "bogus"}, "partition must be one of"),
    ({"selection": "bogus"}, "selection must be one of"),
    ({"update": "bogus"}, "update must be one of"),
    ({"block_size": 0}, "block_size must be an integer >= 1"),
    ({"tol": -1.0}, "tol must be a finite number >= 0"),
    ({"max_iter": 1.5}, "max_iter must be an integer"),
    ({"x0": np.ones(3)}, "x0 must have length"),
    ({"partition": "variable", "selection": "cyclic"}, "cyclic"),
    ({"partition": "forest"}, "sparse quadratic"),
])
def test_bad_solver_arguments(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        block_coordinate_descent(LeastSquares(A, B), **kwargs)


def test_problem_type_checked():
    with pytest.raises(TypeError, match="BCDProblem"):
        block_coordinate_descent(np.eye(3))
