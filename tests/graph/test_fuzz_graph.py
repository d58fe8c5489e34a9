"""Hostile and careless inputs to every public function of sparsenum.graph: each call ends in
a ValueError/TypeError naming the argument, or a finite, honest result; inputs unmodified."""

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sparsenum.graph import (
    effective_resistance,
    relative_condition_number,
    solve_laplacian,
    spanning_tree,
    sparsify,
    tree_stretch,
)
from tests._fuzz import BAD_INTS, BAD_REALS, bad_arrays, expect_clean_failure, outcome, unmodified

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

PATH = np.array([[0, 1, 0, 0], [1, 0, 2, 0], [0, 2, 0, 3], [0, 0, 3, 0.]])


def _bad_graphs():
    directed = nx.DiGraph([(0, 1), (1, 2)])
    multi = nx.MultiGraph([(0, 1), (0, 1)])
    loop = nx.Graph([(0, 0), (0, 1)])
    nx_neg = nx.Graph()
    nx_neg.add_edge("a", "b", weight=-1.0)
    nx_str = nx.Graph()
    nx_str.add_edge("a", "b", weight="heavy")
    asym = PATH.copy()
    asym[0, 1] = 5.0
    neg = PATH.copy()
    neg[0, 1] = neg[1, 0] = -1.0
    nan = PATH.copy()
    nan[2, 3] = nan[3, 2] = np.nan
    inf = PATH.copy()
    inf[2, 3] = inf[3, 2] = np.inf
    diag = PATH + np.eye(4)
    return [directed, multi, loop, nx_neg, nx_str, asym, neg, nan, inf, diag, np.ones((3, 4)),
            np.ones(4), np.zeros((0, 0)), sp.csr_matrix(asym), sp.csr_matrix(np.ones((2, 3))),
            PATH.astype(complex), "graph", None, 3.0, {"a": 1}, nx.Graph()]


BAD_GRAPHS = st.sampled_from(_bad_graphs())


@pytest.mark.timeout(120)
@SETTINGS
@given(G=BAD_GRAPHS)
def test_bad_graphs_fail_cleanly(G):
    for call in (lambda: sparsify(G), lambda: spanning_tree(G), lambda: effective_resistance(G),
                 lambda: relative_condition_number(G, PATH),
                 lambda: solve_laplacian(G, np.zeros(4)), lambda: tree_stretch(G, PATH)):
        expect_clean_failure(call, names=("G",))
    expect_clean_failure(lambda: relative_condition_number(PATH, G), names=("H",))
    expect_clean_failure(lambda: tree_stretch(PATH, G), names=("tree",))


@pytest.mark.timeout(120)
@SETTINGS
@given(value=BAD_REALS)
def test_bad_reals(value):
    expect_clean_failure(lambda: sparsify(PATH, offtree_density=value),
                         names=("offtree_density",))
    if value is not None:
        expect_clean_failure(lambda: sparsify(PATH, target_condition=value),
                             names=("target_condition",))
    expect_clean_failure(lambda: effective_resistance(PATH, eps=value), names=("eps",))
    expect_clean_failure(lambda: relative_condition_number(PATH, PATH, tol=value),
                         names=("tol",))
    expect_clean_failure(lambda: solve_laplacian(PATH, np.zeros(4), tol=value), names=("tol",))


@pytest.mark.timeout(120)
@SETTINGS
@given(value=BAD_INTS)
def test_bad_ints(value):
    expect_clean_failure(lambda: sparsify(PATH, max_rounds=value), names=("max_rounds",))
    expect_clean_failure(lambda: sparsify(PATH, similarity_hops=value),
                         names=("similarity_hops",))
    expect_clean_failure(lambda: solve_laplacian(PATH, np.zeros(4), max_iter=value),
                         names=("max_iter",))
    if value is not None:
        expect_clean_failure(lambda: sparsify(PATH, n_jobs=value), names=("n_jobs",))


@pytest.mark.timeout(120)
@SETTINGS
@given(value=st.sampled_from(["yes", "2", 1.5, np.float64(1.0), [1], -1, None, object(), print]))
def test_bad_verbose_and_callback(value):
    expect_clean_failure(lambda: sparsify(PATH, verbose=value), names=("verbose",))
    if value is not None and not callable(value):
        expect_clean_failure(lambda: sparsify(PATH, callback=value), names=("callback",))


@pytest.mark.parametrize("kwargs, name", [
    ({"offtree_density": -0.1}, "offtree_density"), ({"offtree_density": 1.5}, "offtree_density"),
    ({"target_condition": 1.0}, "target_condition"), ({"target_condition": 0.5},
                                                       "target_condition"),
    ({"method": "GRASS"}, "method"), ({"tree": "bfs"}, "tree"), ({"max_rounds": 0}, "max_rounds"),
    ({"similarity_hops": -1}, "similarity_hops"), ({"similarity_hops": "two"}, "similarity_hops"),
    ({"random_state": "0"}, "random_state"), ({"method": "resistance", "target_condition": 5.0},
                                              "target_condition"),
    ({"verbose": -1}, "verbose"), ({"verbose": "high"}, "verbose"), ({"callback": 1}, "callback"),
])
def test_sparsify_rejects(kwargs, name):
    expect_clean_failure(lambda: sparsify(PATH, **kwargs), names=(name,))


def test_other_rejections():
    expect_clean_failure(lambda: spanning_tree(PATH, kind="min"), names=("kind",))
    expect_clean_failure(lambda: effective_resistance(PATH, method="dense"), names=("method",))
    for edges in ([[0, 9]], [[0.0, 1.0]], [0, 1], "01", [[-1, 2]]):
        expect_clean_failure(lambda e=edges: effective_resistance(PATH, e), names=("edges",))
    G = nx.path_graph(["a", "b", "c"])
    expect_clean_failure(lambda: effective_resistance(G, [("a", "z")]), names=("edges",))
    expect_clean_failure(lambda: relative_condition_number(PATH, np.eye(3)), names=("H",))
    expect_clean_failure(lambda: relative_condition_number(G, nx.path_graph(3)), names=("H",))
    expect_clean_failure(lambda: relative_condition_number(PATH, PATH, exact=1), names=("exact",))
    expect_clean_failure(lambda: solve_laplacian(PATH, np.ones(4)), names=("b",))
    expect_clean_failure(lambda: solve_laplacian(PATH, np.zeros(3)), names=("b",))
    expect_clean_failure(lambda: solve_laplacian(PATH, np.zeros(4), preconditioner="ilu"),
                         names=("preconditioner",))
    expect_clean_failure(lambda: solve_laplacian(PATH, np.zeros(4), factorization="lu"),
                         names=("factorization",))
    expect_clean_failure(lambda: solve_laplacian(PATH, np.zeros(4), callback=3),
                         names=("callback",))


@pytest.mark.timeout(120)
@SETTINGS
@given(b=bad_arrays((4,)))
def test_bad_rhs(b):
    expect_clean_failure(lambda: solve_laplacian(PATH, b), names=("b",))


@st.composite
def weighted_graphs(draw):
    n = draw(st.integers(1, 25))
    p = draw(st.floats(0.0, 1.0))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    upper = np.triu((rng.random((n, n)) < p) * rng.uniform(0.01, 100.0, (n, n)), 1)
    return upper + upper.T


@pytest.mark.timeout(300)
@SETTINGS
@given(A=weighted_graphs(), method=st.sampled_from(["grass", "fegrass", "resistance"]),
       density=st.floats(0.0, 1.0), fmt=st.sampled_from(["dense", "csr", "coo"]),
       verbose=st.sampled_from([0, 1, 2, False, True]), stop_at=st.sampled_from([None, 0, 1, 2]))
def test_any_graph_gives_an_honest_sparsifier(A, method, density, fmt, verbose, stop_at):
    G = A if fmt == "dense" else sp.csr_matrix(A).asformat(fmt)
    calls = []

    def callback(iteration, state):
        calls.append((iteration, state["condition_number"], state["n_edges"]))
        return iteration == stop_at

    with unmodified(G):
        kind, res = outcome(lambda: sparsify(G, method=method, offtree_density=density,
                                             random_state=0, verbose=verbose,
                                             callback=callback), names=("G",))
    assert kind == "ok"
    h = res.history
    assert calls == list(zip(h.iteration, h.criterion, h["n_edges"]))
    if method != "resistance" and stop_at is not None:
        assert res.n_iter <= stop_at
    H = res.sparsifier
    assert type(H) is type(G)
    Hd = H if fmt == "dense" else H.toarray()
    assert ((Hd != 0) <= (A != 0)).all()
    exact = relative_condition_number(A, Hd, exact=True)
    if np.isinf(exact):
        assert res.condition_number == np.inf
    else:
        assert exact >= 1 - 1e-9
        assert res.condition_number == pytest.approx(exact, rel=1e-2)
    if method != "resistance":
        np.testing.assert_array_equal(Hd[Hd != 0], A[Hd != 0])
        assert np.isfinite(exact)
    R = effective_resistance(A)
    w = A[np.triu_indices_from(A, 1)][A[np.triu_indices_from(A, 1)] != 0]
    assert np.isfinite(R).all() and (w * R <= 1 + 1e-9).all()
