"""Problems: optimal values vs cvxpy, gradients vs finite differences, incremental state."""

import cvxpy as cp
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsenum.bcd import (
    BinaryLogistic,
    LabelPropagation,
    LeastSquares,
    MultinomialLogistic,
    block_coordinate_descent,
)

RNG = np.random.default_rng(0)
A = RNG.standard_normal((30, 8))
B = RNG.standard_normal(30)
YLOG = np.where(RNG.standard_normal(30) > 0, 1.0, -1.0)
YCLS = RNG.integers(0, 3, 30)


def lattice(n):
    idx = np.arange(n * n).reshape(n, n)
    rows = np.r_[idx[:-1].ravel(), idx[:, :-1].ravel()]
    cols = np.r_[idx[1:].ravel(), idx[:, 1:].ravel()]
    W = sp.coo_matrix((RNG.uniform(0.5, 2.0, rows.size), (rows, cols)), shape=(n * n, n * n))
    return (W + W.T).tocsr()


W5 = lattice(5)
LAB = np.zeros(25, bool)
LAB[[0, 7, 24]] = True
TARGET = np.zeros(25)
TARGET[[0, 7]] = 1.0
TARGET[24] = -1.0


def _solve(problem, update):
    res = block_coordinate_descent(problem, partition="order", selection="gsl", update=update,
                                   block_size=problem.n_coords, tol=1e-10, max_iter=200)
    assert res.converged
    return res


# cvxpy references (tolerance 1e-6 relative: cvxpy's conic solvers are accurate to ~1e-8)
@pytest.mark.parametrize("l1,nonneg", [(0.0, False), (3.0, False), (3.0, True)])
def test_least_squares_matches_cvxpy(l1, nonneg):
    x = cp.Variable(8, nonneg=nonneg)
    ref = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(A @ x - B) + 0.5 * cp.sum_squares(x)
                                 + l1 * cp.norm1(x))).solve()
    res = _solve(LeastSquares(A, B, l1=l1, l2=1.0, nonneg=nonneg), "exact")
    assert res.objective == pytest.approx(ref, rel=1e-6)


@pytest.mark.parametrize("l1", [0.0, 2.0])
def test_binary_logistic_matches_cvxpy(l1):
    x = cp.Variable(8)
    ref = cp.Problem(cp.Minimize(cp.sum(cp.logistic(-cp.multiply(YLOG, A @ x)))
                                 + 0.5 * cp.sum_squares(x) + l1 * cp.norm1(x))).solve()
    res = _solve(BinaryLogistic(A, YLOG, l1=l1, l2=1.0), "newton")
    assert res.objective == pytest.approx(ref, rel=1e-6)


def test_multinomial_matches_cvxpy():
    X = cp.Variable((8, 3))
    Y = np.eye(3)[YCLS]
    Z = A @ X
    ref = cp.Problem(cp.Minimize(cp.sum(cp.log_sum_exp(Z, axis=1)) - cp.sum(cp.multiply(Y, Z))
                                 + 0.5 * cp.sum_squares(X) + 0.5 * cp.norm1(X))).solve()
    res = _solve(MultinomialLogistic(A, YCLS, l2=1.0, l1=0.5), "newton")
    assert res.objective == pytest.approx(ref, rel=1e-6)


def test_label_propagation_matches_cvxpy():
    u = cp.Variable(25)
    W = W5.tocoo()
    mask = W.row < W.col
    i, j, w = W.row[mask], W.col[mask], W.data[mask]
    cons = [u[LAB] == TARGET[LAB]]
    ref = cp.Problem(cp.Minimize(0.5 * cp.sum(cp.multiply(w, cp.square(u[i] - u[j])))),
                     cons).solve()
    problem = LabelPropagation(W5, TARGET, LAB)
    res = _solve(problem, "exact")
    assert res.objective == pytest.approx(ref, rel=1e-6, abs=1e-9)
    assert np.allclose(res.x, u.value[problem.unlabelled], atol=1e-5)


PROBLEMS = {
    "ls": lambda: LeastSquares(A, B, l2=0.5),
    "ls_sparse": lambda: LeastSquares(sp.csc_matrix(np.where(np.abs(A) > 0.5, A, 0.0)), B),
    "logistic": lambda: BinaryLogistic(A, YLOG, l2=1.0),
    "logistic_sparse": lambda: BinaryLogistic(sp.csr_matrix(np.where(np.abs(A) > 0.5, A, 0)),
                                              YLOG, l2=1.0),
    "multinomial": lambda: MultinomialLogistic(A, YCLS, l2=1.0),
    "labelprop": lambda: LabelPropagation(W5, TARGET, LAB, reg=0.1),
}


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_gradient_and_hessian_match_finite_differences(name):
    p = PROBLEMS[name]()
    x = 0.3 * np.random.default_rng(1).standard_normal(p.n_coords)
    s = p.start(x)
    eps = 1e-6
    fd = np.array([(p.start(x + eps * e).f - p.start(x - eps * e).f) / (2 * eps)
                   for e in np.eye(p.n_coords)])
    assert np.allclose(s.grad, fd, rtol=1e-5, atol=1e-5)
    block = np.array([0, 2, 3])
    H = p.block_hessian(s, block)
    fdH = np.array([(p.start(x + eps * e).grad[block] - p.start(x - eps * e).grad[block])
                    / (2 * eps) for e in np.eye(p.n_coords)[block]])
    assert np.allclose(H, fdH, rtol=1e-4, atol=1e-5)
    # the matrix bound dominates the Hessian, and L_i bounds its diagonal
    assert np.linalg.eigvalsh(p.block_bound(block) - H).min() > -1e-9
    assert np.all(p.lipschitz[block] >= np.diag(H) - 1e-9)
    D = p.diag_bound(3)[block]
    assert np.linalg.eigvalsh(np.diag(D) - H).min() > -1e-9


@pytest.mark.parametrize("name", sorted(PROBLEMS))
@settings(max_examples=10)
@given(seed=st.integers(0, 2**31 - 1))
def test_incremental_state_equals_recomputed(name, seed):
    """After random block moves, the maintained z, gradient and f equal a fresh computation."""
    p = PROBLEMS[name]()
    rng = np.random.default_rng(seed)
    s = p.start()
    for _ in range(5):
        block = np.sort(rng.choice(p.n_coords, size=3, replace=False))
        d = rng.standard_normal(3)
        predicted = p.smooth_change(s, block, d)
        f_before = s.f
        p.apply(s, block, d)
        assert s.f - f_before == pytest.approx(predicted, rel=1e-9, abs=1e-9)
    fresh = p.start(s.x)
    assert np.allclose(s.grad, fresh.grad, rtol=1e-9, atol=1e-9)
    assert s.f == pytest.approx(fresh.f, rel=1e-10, abs=1e-10)


def test_inputs_not_modified():
    A0, B0 = A.copy(), B.copy()
    x0 = np.ones(8)
    block_coordinate_descent(LeastSquares(A, B, l1=1.0), x0=x0, max_iter=50)
    assert np.array_equal(A, A0) and np.array_equal(B, B0) and np.array_equal(x0, np.ones(8))


@pytest.mark.parametrize("make,match", [
    (lambda: LeastSquares(A, B[:-1]), "b must have length"),
    (lambda: LeastSquares(A[:, :, None], B), "2-dimensional"),
    (lambda: LeastSquares(np.where(A > 1, np.nan, A), B), "NaN"),
    (lambda: LeastSquares(A, B, l1=-1.0), "l1 must be a finite number >= 0"),
    (lambda: LeastSquares(A, B, l2=np.inf), "l2 must be"),
    (lambda: BinaryLogistic(A, np.arange(30.0)), "labels -1 and \\+1"),
    (lambda: MultinomialLogistic(A, np.zeros(30)), "n_classes must be >= 2"),
    (lambda: MultinomialLogistic(A, np.full(30, 0.5)), "integer class labels"),
    (lambda: LabelPropagation(W5, TARGET, np.zeros(25, bool)), "at least one node"),
    (lambda: LabelPropagation(-W5, TARGET, LAB), "nonnegative"),
    (lambda: LabelPropagation(sp.triu(W5), TARGET, LAB), "symmetric"),
    (lambda: LabelPropagation(W5, TARGET[:-1], LAB), "length n_nodes"),
])
def test_bad_problem_inputs(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_disconnected_graph_without_labels_is_rejected():
    W = sp.block_diag([W5, W5]).tocsr()
    lab = np.r_[LAB, np.zeros(25, bool)]
    with pytest.raises(ValueError, match="connected component"):
        LabelPropagation(W, np.r_[TARGET, np.zeros(25)], lab)
    # a ridge makes it well posed
    p = LabelPropagation(W, np.r_[TARGET, np.zeros(25)], lab, reg=0.1)
    assert block_coordinate_descent(p, update="exact", block_size=60, tol=1e-9).converged
