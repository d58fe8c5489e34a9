"""BCDLogisticRegression and BCDLabelPropagation against scikit-learn and scipy."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import spsolve
from sklearn.datasets import load_iris, make_classification, make_moons
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import kneighbors_graph

from sparsenum.bcd import BCDLabelPropagation, BCDLogisticRegression, LabelPropagation

X2, Y2 = make_classification(80, 10, n_informative=5, random_state=0)
XI, YI = load_iris(return_X_y=True)


def _objective(X, y, coef, C, penalty):
    z = X @ coef.T
    if coef.shape[0] == 1:
        s = np.where(y == 1, 1.0, -1.0)
        loss = np.logaddexp(0, -s * z[:, 0]).sum()
    else:
        from scipy.special import logsumexp
        loss = (logsumexp(z, axis=1) - z[np.arange(len(y)), y]).sum()
    reg = np.abs(coef).sum() if penalty == "l1" else 0.5 * (coef**2).sum()
    return C * loss + reg


@pytest.mark.parametrize("penalty", ["l2", "l1"])
@pytest.mark.parametrize("data", ["binary", "multinomial"])
def test_logistic_objective_matches_sklearn(penalty, data):
    X, y = (X2, Y2) if data == "binary" else (XI, YI)
    if penalty == "l1":
        solver = "liblinear" if data == "binary" else "saga"
        ref = LogisticRegression(penalty="l1", C=0.5, solver=solver, fit_intercept=False,
                                 tol=1e-8, max_iter=100000).fit(X, y)
    else:
        ref = LogisticRegression(C=0.5, fit_intercept=False, tol=1e-10, max_iter=10000).fit(X, y)
    ours = BCDLogisticRegression(penalty=penalty, C=0.5, fit_intercept=False, tol=1e-9,
                                 max_iter=5000).fit(X, y)
    f_ours = _objective(X, y, ours.coef_, 0.5, penalty)
    f_ref = _objective(X, y, ref.coef_, 0.5, penalty)
    assert f_ours <= f_ref + 1e-6 * abs(f_ref)
    if penalty == "l2":  # strongly convex: unique minimiser
        assert np.allclose(ours.coef_, ref.coef_, atol=1e-4)
    assert ours.converged_
    assert np.allclose(ours.predict_proba(X).sum(axis=1), 1.0)


def test_logistic_sparse_input_and_intercept():
    ours = BCDLogisticRegression(C=1.0).fit(sp.csr_matrix(X2), Y2)
    dense = BCDLogisticRegression(C=1.0).fit(X2, Y2)
    assert np.allclose(ours.coef_, dense.coef_, atol=1e-6)
    assert ours.score(X2, Y2) > 0.7


def test_logistic_bad_inputs():
    with pytest.raises(ValueError, match="at least two classes"):
        BCDLogisticRegression().fit(X2, np.zeros(80))
    with pytest.raises(ValueError, match="C must be a finite number > 0"):
        BCDLogisticRegression(C=0).fit(X2, Y2)
    with pytest.raises(ValueError, match="penalty must be one of"):
        BCDLogisticRegression(penalty="elasticnet").fit(X2, Y2)
    with pytest.raises(ValueError, match="gsq"):
        BCDLogisticRegression(penalty="l1", solver="bcd", selection="gsq").fit(X2, Y2)
    with pytest.raises(ValueError, match="solver must be one of"):
        BCDLogisticRegression(solver="newton").fit(X2, Y2)


MOONS_X, MOONS_Y = make_moons(300, noise=0.05, random_state=0)
PARTIAL = np.full(300, -1)
PARTIAL[np.r_[np.flatnonzero(MOONS_Y == 0)[:5], np.flatnonzero(MOONS_Y == 1)[:5]]] = \
    MOONS_Y[np.r_[np.flatnonzero(MOONS_Y == 0)[:5], np.flatnonzero(MOONS_Y == 1)[:5]]]


@pytest.mark.parametrize("update", ["auto", "newton"])
def test_label_propagation_matches_direct_solve(update):
    model = BCDLabelPropagation(n_neighbors=6, update=update, tol=1e-12, max_iter=50000)
    model.fit(MOONS_X, PARTIAL)
    W = kneighbors_graph(MOONS_X, 6, mode="connectivity")
    W = W.maximum(W.T)
    lab = PARTIAL != -1
    problem = LabelPropagation(W, (PARTIAL == 1).astype(float), lab)
    u1 = spsolve(problem.Q.tocsc(), problem.c)
    problem0 = LabelPropagation(W, (PARTIAL == 0).astype(float), lab)
    u0 = spsolve(problem0.Q.tocsc(), problem0.c)
    expected = u1 / (u0 + u1)
    assert np.allclose(model.label_distributions_[~lab, 1], expected, atol=1e-6)
    assert (model.transduction_ == MOONS_Y).mean() > 0.95


def test_label_propagation_rbf_and_precomputed():
    rbf = BCDLabelPropagation(kernel="rbf", gamma=20, tol=1e-6).fit(MOONS_X, PARTIAL)
    W = kneighbors_graph(MOONS_X, 6, mode="connectivity")
    pre = BCDLabelPropagation(kernel="precomputed", tol=1e-6).fit(W.maximum(W.T), PARTIAL)
    assert (rbf.transduction_ == MOONS_Y).mean() > 0.9
    assert (pre.transduction_ == MOONS_Y).mean() > 0.95
    assert rbf.predict(MOONS_X[:5]).shape == (5,)


def test_label_propagation_bad_inputs():
    with pytest.raises(ValueError, match="at least two classes"):
        BCDLabelPropagation().fit(MOONS_X, np.where(PARTIAL == 1, -1, PARTIAL))
    # two far-apart clusters, labels only in one: a component without labels
    X = np.r_[MOONS_X[:50], MOONS_X[:50] + 100.0]
    y = np.full(100, -1)
    y[:2] = [0, 1]
    with pytest.raises(ValueError, match="connected component"):
        BCDLabelPropagation(n_neighbors=3).fit(X, y)
    with pytest.raises(ValueError, match="kernel must be one of"):
        BCDLabelPropagation(kernel="poly").fit(MOONS_X, PARTIAL)
    with pytest.raises(ValueError, match="square"):
        BCDLabelPropagation(kernel="precomputed").fit(MOONS_X, PARTIAL)
