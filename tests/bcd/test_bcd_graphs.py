"""networkx graphs as label-propagation affinities, checked against scipy's direct solve."""

import networkx as nx
import numpy as np
import pytest
from scipy.sparse.linalg import spsolve

from sparsenum.bcd import BCDLabelPropagation, LabelPropagation, block_coordinate_descent


def _weighted_graph(seed=0):
    """A connected graph whose nodes are strings, with random positive weights."""
    G = nx.connected_watts_strogatz_graph(40, 4, 0.3, seed=seed)
    rng = np.random.default_rng(seed)
    for u, v in G.edges:
        G.edges[u, v]["weight"] = float(rng.uniform(0.5, 2.0))
    return nx.relabel_nodes(G, {k: f"node-{k}" for k in G.nodes})


def test_problem_from_a_graph_equals_the_matrix_problem():
    G = _weighted_graph()
    targets = {"node-0": 1.0, "node-20": -1.0, "node-33": 0.5}
    problem = LabelPropagation.from_graph(G, targets)
    nodes = list(G.nodes)
    W = nx.to_numpy_array(G, nodelist=nodes, weight="weight")
    t = np.array([targets.get(node, 0.0) for node in nodes])
    lab = np.array([node in targets for node in nodes])
    matrix = LabelPropagation(W, t, lab)
    assert (problem.Q != matrix.Q).nnz == 0 and np.array_equal(problem.c, matrix.c)
    res = block_coordinate_descent(problem, update="exact", partition="variable",
                                   block_size=8, tol=1e-12, max_iter=10_000)
    exact = spsolve(matrix.Q.tocsc(), matrix.c)
    assert res.converged and np.allclose(res.x, exact, atol=1e-9)
    assert problem.unlabelled_nodes() == [n for n in nodes if n not in targets]


def test_constructor_takes_a_graph_in_node_order():
    G = nx.path_graph(["a", "b", "c", "d"])
    problem = LabelPropagation(G, [1.0, 0.0, 0.0, -1.0], [True, False, False, True])
    res = block_coordinate_descent(problem, update="exact", block_size=2, tol=1e-12)
    assert problem.nodes == ["a", "b", "c", "d"]
    assert np.allclose(res.x, [1 / 3, -1 / 3])  # linear interpolation along the path


def test_estimator_fits_a_graph_with_labels_by_node():
    G = _weighted_graph(1)
    nodes = list(G.nodes)
    truth = {node: ("left" if k < 20 else "right") for k, node in enumerate(nodes)}
    labels = {nodes[k]: truth[nodes[k]] for k in (0, 5, 10, 25, 30, 35)}
    model = BCDLabelPropagation(kernel="precomputed").fit(G, labels)
    assert model.nodes_ == nodes
    assert set(model.classes_) == {"left", "right"}
    # the same data as an affinity matrix and an array of labels give the same answer
    W = nx.to_scipy_sparse_array(G, nodelist=nodes, weight="weight")
    y = np.array([labels.get(node, -1) for node in nodes], dtype=object)
    dense = BCDLabelPropagation(kernel="precomputed").fit(W, y)
    assert np.array_equal(model.transduction_, dense.transduction_)
    assert np.allclose(model.label_distributions_, dense.label_distributions_)


def test_graph_errors_name_the_argument():
    D = nx.DiGraph([(0, 1), (1, 2)])
    with pytest.raises(ValueError, match="directed"):
        BCDLabelPropagation(kernel="precomputed").fit(D, [0, -1, 1])
    G = nx.path_graph(3)
    with pytest.raises(ValueError, match="kernel='precomputed'"):
        BCDLabelPropagation().fit(G, [0, -1, 1])
    with pytest.raises(ValueError, match="not in the graph"):
        BCDLabelPropagation(kernel="precomputed").fit(G, {0: "a", 7: "b"})
    with pytest.raises(TypeError, match="mapping"):
        BCDLabelPropagation().fit(np.zeros((3, 2)), {0: "a"})
    G.add_edge(0, 1, weight=-2.0)
    with pytest.raises(ValueError, match="negative edge weights"):
        LabelPropagation(G, [1.0, 0.0, -1.0], [True, False, True])
    with pytest.raises(ValueError, match="not in G"):
        LabelPropagation.from_graph(nx.path_graph(3), {5: 1.0})
    with pytest.raises(TypeError, match="mapping"):
        LabelPropagation.from_graph(nx.path_graph(3), [1.0, 0.0, 0.0])
    fitted = BCDLabelPropagation(kernel="precomputed").fit(nx.path_graph(3), [0, -1, 1])
    with pytest.raises(TypeError, match="affinities of new points"):
        fitted.predict(nx.path_graph(3))


def test_importing_the_module_does_not_import_networkx():
    import subprocess
    import sys

    code = ("import sys; import sparsenum.bcd; "
            "print('networkx' in sys.modules, 'cvxpy' in sys.modules, 'sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=".")
    assert out.stdout.split() == ["False", "False", "False"]
