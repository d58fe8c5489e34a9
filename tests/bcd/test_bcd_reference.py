"""solver="cvxpy": the reference path agrees with the working-set solvers and scikit-learn."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import Lasso

from sparsenum.bcd import lasso_duality_gap, solve_l1_logistic, solve_lasso

RNG = np.random.default_rng(3)
X = RNG.standard_normal((40, 12))
W = np.zeros(12)
W[:4] = (2.0, -1.0, 0.5, 1.5)
Y = X @ W + 0.1 * RNG.standard_normal(40) + 1.0
S = np.where(X @ W + 0.5 * RNG.standard_normal(40) > 0, 1.0, -1.0)


@pytest.mark.parametrize("fit_intercept", [False, True])
@pytest.mark.parametrize("positive", [False, True])
@pytest.mark.parametrize("sparse", [False, True])
def test_lasso_reference_matches_ours_and_sklearn(fit_intercept, positive, sparse):
    Xd = sp.csc_matrix(np.where(np.abs(X) > 0.3, X, 0.0)) if sparse else X
    alpha = 0.05
    ref = solve_lasso(Xd, Y, alpha, fit_intercept=fit_intercept, positive=positive,
                      solver="cvxpy")
    ours = solve_lasso(Xd, Y, alpha, fit_intercept=fit_intercept, positive=positive, tol=1e-12)
    skl = Lasso(alpha=alpha, fit_intercept=fit_intercept, positive=positive, tol=1e-12,
                max_iter=100_000).fit(Xd, Y)
    assert ref.converged and ref.history.iteration[-1] == ref.n_iter
    # an interior-point answer: objective within 1e-7 of ours, coefficients within 1e-4
    assert ref.primal == pytest.approx(ours.primal, rel=1e-7)
    assert np.allclose(ref.coef, ours.coef, atol=1e-4)
    assert np.allclose(ref.coef, skl.coef_, atol=1e-4)
    assert ref.intercept == pytest.approx(ours.intercept, abs=1e-4)
    # the reported gap is recomputed from its coefficients
    Xc = Xd.toarray() if sparse else Xd
    if fit_intercept:
        Xc = Xc - Xc.mean(axis=0)
    yc = Y - Y.mean() if fit_intercept else Y
    gap = lasso_duality_gap(Xc, yc, ref.coef, alpha, positive=positive)[0]
    assert ref.duality_gap == pytest.approx(gap, rel=1e-6, abs=1e-13)
    if positive:
        assert (ref.coef >= 0).all()


def test_l1_logistic_reference_matches_ours():
    lam = 2.0
    ref = solve_l1_logistic(X, S, lam, solver="cvxpy")
    ours = solve_l1_logistic(X, S, lam, tol=1e-12)
    assert ref.converged and ours.converged
    assert ref.primal == pytest.approx(ours.primal, rel=1e-7)
    assert np.allclose(ref.coef, ours.coef, atol=1e-4)
    # its gap certifies it to the interior point's accuracy, far from ours at tol=1e-12
    assert 0.0 <= ref.duality_gap < 1e-5 * 40 * np.log(2)


def test_reference_path_imports_cvxpy_only_when_used():
    import subprocess
    import sys

    code = ("import sys, numpy as np; from sparsenum.bcd import solve_lasso; "
            "solve_lasso(np.eye(3), np.ones(3), 0.1); print('cvxpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=".")
    assert out.stdout.strip() == "False"
