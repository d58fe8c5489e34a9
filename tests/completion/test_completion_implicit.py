"""The implicit-feedback prior: its joint step against a dense least-squares solve, the whole
model against a direct minimisation of the same objective, and its invariants."""

import numpy as np
import pytest
import scipy.optimize

from sparsenum.completion import AltMinImputer, altmin_complete
from sparsenum.completion._cases import low_rank
from sparsenum.completion._observed import Observed
from sparsenum.completion._validation import check_matrix
from sparsenum.completion.implicit import ImplicitPrior


@pytest.fixture(scope="module")
def ratings():
    """A noisy low-rank matrix whose observed pattern depends on the rows' factors (which
    entries a row has says something about it)."""
    _, M = low_rank(40, 30, 2, 0.35, noise=0.3, seed=3)
    return M


def _parts(M, U, V, a, c, Y, mu):
    """Counts, residuals on the observed entries (0 elsewhere) and the factors' distance
    to their prior means, from dense arrays."""
    observed = ~np.isnan(M)
    n_i, n_j = observed.sum(1), observed.sum(0)
    X = observed / np.sqrt(np.maximum(n_i, 1))[:, None]
    E = np.where(observed, np.nan_to_num(M) - mu - a[:, None] - c[None, :] - U @ V.T, 0.0)
    return n_i, n_j, X, E, U - X @ Y


def objective(M, U, V, a, c, Y, mu, reg, bias_reg, implicit_reg):
    """The regularised objective of the model with the implicit prior, from dense arrays."""
    n_i, n_j, _, E, D = _parts(M, U, V, a, c, Y, mu)
    return (np.sum(E**2) + reg * np.sum(n_i * np.sum(D**2, 1)) + reg * np.sum(n_j * np.sum(V**2, 1))
            + bias_reg[0] * a @ a + bias_reg[1] * c @ c + implicit_reg * np.sum(Y**2))


def _gradient(M, U, V, a, c, Y, mu, reg, bias_reg, implicit_reg):
    n_i, n_j, X, E, D = _parts(M, U, V, a, c, Y, mu)
    gU = -2 * E @ V + 2 * reg * n_i[:, None] * D
    gV = -2 * E.T @ U + 2 * reg * n_j[:, None] * V
    ga = -2 * E.sum(1) + 2 * bias_reg[0] * a
    gc = -2 * E.sum(0) + 2 * bias_reg[1] * c
    gY = -2 * reg * X.T @ (n_i[:, None] * D) + 2 * implicit_reg * Y
    return gU, gV, ga, gc, gY


def test_joint_step_equals_a_dense_least_squares_solve(ratings):
    """Row factors, row biases and Y with V, c fixed: the model is linear in them, so the
    step must equal the least-squares solution of the stacked system (numpy.linalg.lstsq)."""
    M = ratings
    m, n = M.shape
    k, mu, reg, beta, lam = 2, 0.3, 0.4, 2.0, 3.0
    rng = np.random.default_rng(0)
    V, c = rng.standard_normal((n, k)), rng.standard_normal(n)
    data = Observed(check_matrix(M, "M"))
    prior = ImplicitPrior(data, reg, lam)
    U, a = np.zeros((m, k)), np.zeros(m)
    Y, _ = prior.joint_step(V, c, U, a, np.zeros((n, k)), offset=mu, fit_bias=True,
                            pen_bias=np.full(m, beta), tol=1e-15)
    # unknowns: U (m k), a (m), Y (n k)
    observed = ~np.isnan(M)
    n_i = observed.sum(1)
    X = observed / np.sqrt(n_i)[:, None]
    size = m * k + m + n * k
    rows, targets = [], []
    for i, j in zip(*np.nonzero(observed)):
        r = np.zeros(size)
        r[i * k:(i + 1) * k] = V[j]
        r[m * k + i] = 1.0
        rows.append(r)
        targets.append(M[i, j] - mu - c[j])
    for i in range(m):
        w = np.sqrt(reg * n_i[i])
        for f in range(k):
            r = np.zeros(size)
            r[i * k + f] = w
            r[m * k + m + f::k] = -w * X[i]  # Y[:, f]
            rows.append(r)
            targets.append(0.0)
        r = np.zeros(size)
        r[m * k + i] = np.sqrt(beta)
        rows.append(r)
        targets.append(0.0)
    for t in range(n * k):
        r = np.zeros(size)
        r[m * k + m + t] = np.sqrt(lam)
        rows.append(r)
        targets.append(0.0)
    z = np.linalg.lstsq(np.array(rows), np.array(targets), rcond=None)[0]
    np.testing.assert_allclose(U, z[:m * k].reshape(m, k), atol=1e-9)
    np.testing.assert_allclose(a, z[m * k:m * k + m], atol=1e-9)
    np.testing.assert_allclose(Y, z[m * k + m:].reshape(n, k), atol=1e-9)


def test_whole_model_against_a_direct_minimisation(ratings):
    """At convergence the gradient of the full objective vanishes, and L-BFGS on the full
    objective (scipy.optimize) from a generic start finds no lower value (to 1e-6)."""
    M = ratings
    m, n = M.shape
    k, reg, bias_reg, lam = 2, 0.5, (2.0, 1.0), 4.0
    result = altmin_complete(M, k, reg=reg, bias_reg=bias_reg, implicit=lam, solver="exact",
                             tol=1e-13, n_sweeps=3000, random_state=0)
    mu = result.global_mean
    fit = (result.row_factors, result.col_factors, result.row_bias, result.col_bias,
           result.implicit_factors)
    ours = objective(M, *fit, mu, reg, bias_reg, lam)
    assert ours == pytest.approx(result.history.objective[-1], rel=1e-10)
    gradient = np.concatenate([g.ravel() for g in _gradient(M, *fit, mu, reg, bias_reg, lam)])
    assert np.linalg.norm(gradient) <= 1e-6 * ours

    shapes = [(m, k), (n, k), (m,), (n,), (n, k)]
    sizes = [int(np.prod(s)) for s in shapes]

    def unpack(z):
        parts, start = [], 0
        for shape, size in zip(shapes, sizes):
            parts.append(z[start:start + size].reshape(shape))
            start += size
        return parts

    def full(z):
        parts = unpack(z)
        g = _gradient(M, *parts, mu, reg, bias_reg, lam)
        return (objective(M, *parts, mu, reg, bias_reg, lam),
                np.concatenate([x.ravel() for x in g]))

    z0 = np.random.default_rng(1).standard_normal(sum(sizes)) * 0.3
    direct = scipy.optimize.minimize(full, z0, jac=True, method="L-BFGS-B",
                                     options={"maxiter": 20000, "ftol": 1e-15, "gtol": 1e-10})
    assert ours <= direct.fun * (1 + 1e-6)
    assert ours == pytest.approx(direct.fun, rel=1e-6)


def test_objective_never_increases_with_the_exact_solver(ratings):
    result = altmin_complete(ratings, 3, reg=0.3, bias_reg=1.0, implicit=2.0, solver="exact",
                             tol=0, n_sweeps=40, random_state=0)
    steps = np.diff(result.history.objective)
    assert np.all(steps <= 1e-12 * result.history.objective[:-1])
    assert result.implicit_reg == 2.0
    assert np.linalg.norm(result.implicit_factors) > 0


@pytest.mark.parametrize("implicit", [1.5, "auto"])
def test_results_do_not_depend_on_n_jobs(ratings, implicit):
    kwargs = {"reg": 0.2, "bias_reg": 1.0, "implicit": implicit, "n_sweeps": 6,
              "random_state": 0}
    one = altmin_complete(ratings, 3, n_jobs=1, **kwargs)
    two = altmin_complete(ratings, 3, n_jobs=2, **kwargs)
    np.testing.assert_array_equal(one.row_factors, two.row_factors)
    np.testing.assert_array_equal(one.implicit_factors, two.implicit_factors)
    np.testing.assert_array_equal(one.history.objective, two.history.objective)
    np.testing.assert_array_equal(one.reg_search, two.reg_search)


def test_off_and_without_penalty_it_is_plain_altmin(ratings):
    plain = altmin_complete(ratings, 2, reg=0.2, bias_reg=1.0, implicit=None, n_sweeps=5,
                            random_state=0)
    assert plain.implicit_reg is None and not plain.implicit_factors.any()
    # reg = 0 gives the prior no weight: implicit is ignored, plain AltMin
    zero = altmin_complete(ratings, 2, reg=0, biases=False, implicit=3.0, n_sweeps=5,
                           random_state=0)
    reference = altmin_complete(ratings, 2, reg=0, biases=False, implicit=None, n_sweeps=5,
                                random_state=0)
    assert zero.implicit_reg is None
    np.testing.assert_array_equal(zero.to_dense(), reference.to_dense())


def test_auto_records_its_candidates(ratings):
    result = altmin_complete(ratings, 3, random_state=0)
    table = result.reg_search
    implicit_rows = table[~np.isnan(table[:, 3])]
    assert implicit_rows.shape[0] >= 1
    if result.implicit_reg is not None:
        assert result.implicit_reg in implicit_rows[:, 3]
        assert implicit_rows[implicit_rows[:, 3] == result.implicit_reg, 4].min() == \
            implicit_rows[:, 4].min()


def test_imputer_transform_uses_the_prior(ratings):
    """Rows of the training matrix, solved again against the fitted column side with their
    prior means, get the fitted completion back (the joint optimum is a fixed point)."""
    imputer = AltMinImputer(rank=2, reg=0.4, bias_reg=1.0, implicit=3.0, tol=1e-12,
                            n_sweeps=3000, solver="exact", random_state=0).fit(ratings)
    assert imputer.implicit_reg_ == 3.0
    filled = imputer.transform(ratings)
    expected = imputer.result_.to_dense()
    missing = np.isnan(ratings)
    np.testing.assert_allclose(filled[missing], expected[missing], atol=1e-7)
