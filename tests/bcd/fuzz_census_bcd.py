"""Hostile-input census of sparsenum.bcd: every case in a worker process with a CPU budget.

Not a test (pytest collects ``test_*.py`` only): a count of outcomes over about 620 hand-written
calls with bad values, shapes, dtypes and budgets, for reports. The hypothesis tests in
``test_fuzz_bcd.py`` hold the same contract in CI.

Outcomes per case:
  clean   - ValueError/TypeError naming one of the expected argument names
  unclear - ValueError/TypeError naming none of them, or another exception type
  crash   - the worker process died
  hang    - the case ran longer than the timeout
  silent  - a bad input was accepted, or a result holds NaN/inf
  ok      - an edge-but-valid input gave a finite result (expected for kind="edge")

Run from the repository root: ``python tests/bcd/fuzz_census_bcd.py [--timeout 20]
[--out census.json]`` (a hang is a case using more than ``--timeout`` CPU seconds).
"""
import json
import os
import select
import subprocess
import sys
import time

PRE = r'''
import numpy as np, scipy.sparse as sp, warnings, math
warnings.simplefilter("ignore")
from sparsenum.bcd import *
from sparsenum.bcd import BCDLasso, BCDLogisticRegression, BCDLabelPropagation
try:  # the problem class's current name; older versions called it LabelPropagation
    from sparsenum.bcd import LabelPropagationProblem as LabelPropagation
except ImportError:
    from sparsenum.bcd import LabelPropagation
rng = np.random.default_rng(0)
X = rng.standard_normal((30, 8)); y = X @ rng.standard_normal(8) + 0.1 * rng.standard_normal(30)
ys = np.sign(y); ys[ys == 0] = 1
yc = (ys > 0).astype(int)
y3 = np.arange(30) % 3
Xs = sp.csc_matrix(np.where(np.abs(X) > 0.8, X, 0.0))
W = np.zeros((10, 10)); idx = np.arange(9); W[idx, idx + 1] = W[idx + 1, idx] = 1.0
lab = np.zeros(10, bool); lab[[0, 9]] = True
t = np.zeros(10); t[0] = 1; t[9] = -1
ylp = np.full(30, -1); ylp[:3] = 0; ylp[-3:] = 1
'''

WORKER = PRE + r'''
import sys, json, traceback
def finite(v):
    import numbers
    if v is None: return True
    if isinstance(v, (bool, np.bool_, str)): return True
    if isinstance(v, numbers.Number): return bool(np.isfinite(v))
    if isinstance(v, np.ndarray):
        return v.dtype.kind not in "fc" or bool(np.isfinite(v).all())
    if isinstance(v, (tuple, list)): return all(finite(e) for e in v)
    if hasattr(v, "get_params"):
        return all(finite(getattr(v, a)) for a in ("coef_", "intercept_", "label_distributions_")
                   if hasattr(v, a))
    import dataclasses
    if dataclasses.is_dataclass(v):
        return all(finite(getattr(v, f.name)) for f in dataclasses.fields(v)
                   if f.name != "history")
    return True
print("READY", flush=True)
for line in sys.stdin:
    case = json.loads(line)
    ns = dict(globals())
    try:
        exec("__result = (" + case["code"] + ")", ns)
        res = ns["__result"]
        out = {"status": "returned", "finite": finite(res)}
    except (ValueError, TypeError) as exc:
        msg = str(exc)
        named = any(n in msg for n in case["names"])
        out = {"status": "clean" if named else "unclear",
               "error": type(exc).__name__ + ": " + msg[:200]}
    except BaseException as exc:
        out = {"status": "unclear", "error": type(exc).__name__ + ": " + str(exc)[:200]}
    print(json.dumps(out), flush=True)
'''


def cases():
    out = []

    def bad(code, names, label=None):
        out.append({"code": code, "names": names if isinstance(names, list) else [names],
                    "kind": "bad", "label": label or code})

    def edge(code, names, label=None):
        out.append({"code": code, "names": names if isinstance(names, list) else [names],
                    "kind": "edge", "label": label or code})

    bad_reals = ["'0.0001'", "True", "None", "[0.1]", "float('nan')", "float('inf')", "-1.0",
                 "1j", "np.array([0.1, 0.2])"]
    bad_ints = ["3.5", "'3'", "True", "float('nan')", "None", "np.float64(2.0)", "0", "-1"]
    bad_bools = ["'str'", "'False'", "0", "1", "None", "[True]"]
    bad_X = ["np.full((30, 8), np.nan)", "np.full((30, 8), np.inf)", "X.astype(object)",
             "X.astype(complex) + 1j", "np.array([['a'] * 8] * 30)", "X.ravel()",
             "np.ones((0, 8))", "np.ones((0, 0))", "np.ones((30, 0))", "'abc'", "None",
             "[[1.0, 2.0], [3.0]]", "X * 1e300", "sp.csc_matrix((30, 0))"]
    bad_y = ["y[:-1]", "np.full(30, np.nan)", "y.astype(complex)", "'abc'", "None",
             "y[:, None] * np.ones((1, 2))", "np.full(30, np.inf)"]

    # ---------------------------------------------------------------- solve_lasso
    for v in bad_reals:
        bad(f"solve_lasso(X, y, {v})", "alpha")
        bad(f"solve_lasso(X, y, 0.1, tol={v})", "tol")
    for v in bad_ints:
        bad(f"solve_lasso(X, y, 0.1, max_iter={v})", "max_iter")
        bad(f"solve_lasso(X, y, 0.1, max_epochs={v})", "max_epochs")
        bad(f"solve_lasso(X, y, 0.1, p0={v})", "p0")
    for v in bad_bools:
        bad(f"solve_lasso(X, y, 0.1, fit_intercept={v})", "fit_intercept")
        bad(f"solve_lasso(X, y, 0.1, positive={v})", "positive")
    for v in bad_X:
        bad(f"solve_lasso({v}, y, 0.1)", ["X", "y"])
    for v in bad_y:
        bad(f"solve_lasso(X, {v}, 0.1)", "y")
    for v in ["np.ones(7)", "np.full(8, np.nan)", "'abc'", "np.ones((8, 1))"]:
        bad(f"solve_lasso(X, y, 0.1, coef_init={v})", "coef_init")
    edge("solve_lasso(X, y, 0.1, tol=0.0)", "tol")
    edge("solve_lasso(Xs, y, 0.1, tol=0.0)", "tol")
    edge("solve_lasso(X, y, 0.1, tol=0.0, fit_intercept=True, positive=True)", "tol")
    edge("solve_lasso(X, y, 0.0)", "alpha")
    edge("solve_lasso(X, y, 1e300)", "alpha")
    edge("solve_lasso(X, y, 1e-300, tol=0.0)", "alpha")
    edge("solve_lasso(X, y, 0.1, max_iter=10**12)", "max_iter")
    edge("solve_lasso(X, y, 0.1, max_iter=10**12, tol=0.0)", "max_iter")
    edge("solve_lasso(X, y, 0.1, max_epochs=10**12, tol=0.0)", "max_epochs")
    edge("solve_lasso(X, y, 0.1, p0=10**12)", "p0")
    edge("solve_lasso(X, np.zeros(30), 0.1)", "y")
    edge("solve_lasso(np.zeros((30, 8)), y, 0.1)", "X")
    edge("solve_lasso(X, y * 1e200, 0.1)", "y")
    edge("solve_lasso(X * 1e-200, y, 0.1)", "X")
    edge("solve_lasso(X[:1], y[:1], 0.1)", "X")
    edge("solve_lasso(X[:, :1], y, 0.1)", "X")
    edge("solve_lasso(X.astype(np.float32), y, 0.1)", "X")
    edge("solve_lasso(X.astype(int), y, 0.1)", "X")
    edge("solve_lasso(sp.csr_matrix(X), y, 0.1, fit_intercept=True)", "X")
    edge("solve_lasso(np.asfortranarray(X), y, 0.1)", "X")

    # ---------------------------------------------------------------- lasso_duality_gap
    for v in bad_reals:
        bad(f"lasso_duality_gap(X, y, np.zeros(8), {v})", "alpha")
        if v != "-1.0":
            bad(f"lasso_duality_gap(X, y, np.zeros(8), 0.1, intercept={v})", "intercept")
    for v in bad_bools:
        bad(f"lasso_duality_gap(X, y, np.zeros(8), 0.1, positive={v})", "positive")
    for v in ["np.ones(7)", "np.full(8, np.nan)", "None", "'abc'"]:
        bad(f"lasso_duality_gap(X, y, {v}, 0.1)", "coef")
    for v in bad_X[:8]:
        bad(f"lasso_duality_gap({v}, y, np.zeros(8), 0.1)", ["X", "y", "coef"])
    for v in bad_y:
        bad(f"lasso_duality_gap(X, {v}, np.zeros(8), 0.1)", "y")
    edge("1.0 if lasso_duality_gap(X, y, -np.ones(8), 0.1, positive=True)[0] == np.inf "
         "else np.nan", "coef", label="infeasible coef under positive=True: gap must be inf")

    # ---------------------------------------------------------------- solve_l1_logistic
    for v in bad_reals:
        bad(f"solve_l1_logistic(X, ys, {v})", "lam")
        bad(f"solve_l1_logistic(X, ys, 1.0, tol={v})", "tol")
    for v in bad_ints:
        bad(f"solve_l1_logistic(X, ys, 1.0, max_iter={v})", "max_iter")
        bad(f"solve_l1_logistic(X, ys, 1.0, max_newton={v})", "max_newton")
        bad(f"solve_l1_logistic(X, ys, 1.0, p0={v})", "p0")
    for v in bad_X:
        bad(f"solve_l1_logistic({v}, ys, 1.0)", ["X", "y"])
    for v in [*bad_y, "yc", "np.zeros(30)", "ys * 2"]:
        bad(f"solve_l1_logistic(X, {v}, 1.0)", "y")
    for v in ["np.ones(7)", "np.full(8, np.nan)", "'abc'"]:
        bad(f"solve_l1_logistic(X, ys, 1.0, coef_init={v})", "coef_init")
    edge("solve_l1_logistic(X, ys, 1.0, tol=0.0)", "tol")
    edge("solve_l1_logistic(X, ys, 0.0)", "lam")
    edge("solve_l1_logistic(X, ys, 0.0, tol=0.0)", "lam")
    edge("solve_l1_logistic(X, ys, 1e-300, tol=0.0)", "lam")
    edge("solve_l1_logistic(X, ys, 1e300)", "lam")
    edge("solve_l1_logistic(X, ys, 1.0, max_iter=10**12)", "max_iter")
    edge("solve_l1_logistic(X, ys, 1.0, max_iter=10**12, tol=0.0)", "max_iter")
    edge("solve_l1_logistic(X, ys, 1.0, max_newton=10**12, tol=0.0)", "max_newton")
    edge("solve_l1_logistic(X * 1e150, ys, 1.0)", "X")
    edge("solve_l1_logistic(Xs, ys, 1.0, tol=0.0)", "tol")
    edge("solve_l1_logistic(X, np.ones(30), 1.0)", "y")

    # ---------------------------------------------------------------- l1_logistic_duality_gap
    for v in bad_reals:
        bad(f"l1_logistic_duality_gap(X, ys, np.zeros(8), {v})", "lam")
    for v in ["np.ones(7)", "np.full(8, np.nan)", "None"]:
        bad(f"l1_logistic_duality_gap(X, ys, {v}, 1.0)", "coef")

    # ---------------------------------------------------------------- block_coordinate_descent
    P = "LeastSquares(X, y)"
    for v in bad_reals:
        bad(f"block_coordinate_descent({P}, tol={v})", "tol")
    for v in bad_ints:
        if v in ("0",):
            continue
        bad(f"block_coordinate_descent({P}, max_iter={v})", "max_iter")
        bad(f"block_coordinate_descent({P}, block_size={v})", "block_size")
    for name in ("partition", "selection", "update"):
        for v in ["'bogus'", "None", "1", "['gsl']"]:
            bad(f"block_coordinate_descent({P}, {name}={v})", name)
    for v in ["'abc'", "-1", "2**40", "1.5"]:
        bad(f"block_coordinate_descent({P}, random_state={v})", "random_state")
    for v in ["np.ones(7)", "np.full(8, np.nan)", "'abc'"]:
        bad(f"block_coordinate_descent({P}, x0={v})", "x0")
    bad("block_coordinate_descent('abc')", "problem")
    edge(f"block_coordinate_descent({P}, tol=0.0, max_iter=10**12)", "tol")
    edge("block_coordinate_descent(BinaryLogistic(X, ys, l2=1.0), update='newton', "
         "tol=0.0, max_iter=10**12, block_size=4)", "tol")
    edge(f"block_coordinate_descent({P}, max_iter=10**12)", "max_iter")
    edge(f"block_coordinate_descent({P}, block_size=10**12)", "block_size")

    # ---------------------------------------------------------------- problems
    for v in bad_reals:
        bad(f"LeastSquares(X, y, l1={v})", "l1")
        bad(f"LeastSquares(X, y, l2={v})", "l2")
        bad(f"LabelPropagation(W, t, lab, reg={v})", "reg")
        if v != "-1.0":
            bad(f"SparseQuadratic(np.eye(3), np.ones(3), constant={v})", "constant")
    for v in bad_bools:
        bad(f"LeastSquares(X, y, nonneg={v})", "nonneg")
    for v in bad_X:
        bad(f"LeastSquares({v}, y)", ["A", "b"])
    for v in bad_y:
        bad(f"LeastSquares(X, {v})", "b")
    for v in ["3.5", "'3'", "float('nan')", "True", "1", "-3"]:
        bad(f"MultinomialLogistic(X, y3, n_classes={v})", "n_classes")
    for v in ["y3 + 0.5", "-y3", "y3.astype(str)", "np.full(30, np.nan)"]:
        bad(f"MultinomialLogistic(X, {v})", "y")
    for v in ["yc", "np.zeros(30)"]:
        bad(f"BinaryLogistic(X, {v})", "y")
    for v in ["-W", "np.full((10, 10), np.nan)", "W[:, :9]", "np.triu(W)", "'abc'",
              "np.ones((0, 0))"]:
        bad(f"LabelPropagation({v}, t, lab)", "W")
    for v in ["lab.astype(int)", "lab[:9]", "np.zeros(10, bool)", "np.ones(10, bool)", "'abc'"]:
        bad(f"LabelPropagation(W, t, {v})", "labelled")
    for v in ["t[:9]", "np.full(10, np.nan)", "'abc'"]:
        bad(f"LabelPropagation(W, {v}, lab)", "targets")
    for v in ["np.full((3, 3), np.nan)", "-np.eye(3)", "np.ones((3, 4))", "np.ones((0, 0))",
              "np.triu(np.ones((3, 3))) + np.eye(3)"]:
        bad(f"SparseQuadratic({v}, np.ones(3))", "Q")

    # ---------------------------------------------------------------- BCDLasso
    for v in bad_reals:
        bad(f"BCDLasso(alpha={v}).fit(X, y)", "alpha")
        bad(f"BCDLasso(tol={v}).fit(X, y)", "tol")
    for v in bad_ints:
        bad(f"BCDLasso(max_iter={v}).fit(X, y)", "max_iter")
    for name in ("fit_intercept", "positive", "warm_start"):
        for v in bad_bools:
            bad(f"BCDLasso({name}={v}).fit(X, y)", name)
    for v in bad_X:
        (edge if v == "X.astype(object)" else bad)(f"BCDLasso().fit({v}, y)", ["X", "y"])
    for v in bad_y:
        bad(f"BCDLasso().fit(X, {v})", ["y", "X"])
    bad("BCDLasso(warm_start=True).fit(X, y).fit(X[:, :5], y)", ["X", "feature"],
        label="warm-start refit on fewer features must name X's feature count")
    edge("BCDLasso(tol=0).fit(X, y)", "tol")
    edge("BCDLasso(tol=0.0, fit_intercept=False).fit(Xs, y)", "tol")
    edge("BCDLasso(max_iter=10**12).fit(X, y)", "max_iter")
    edge("BCDLasso(alpha=0.0).fit(X, y)", "alpha")

    # ---------------------------------------------------------------- BCDLogisticRegression
    for v in bad_reals:
        bad(f"BCDLogisticRegression(C={v}).fit(X, yc)", "C")
        bad(f"BCDLogisticRegression(tol={v}).fit(X, yc)", "tol")
        bad(f"BCDLogisticRegression(penalty='l1', tol={v}).fit(X, yc)", "tol")
        bad(f"BCDLogisticRegression(intercept_scaling={v}).fit(X, yc)", "intercept_scaling")
    for v in bad_ints:
        bad(f"BCDLogisticRegression(max_iter={v}).fit(X, yc)", "max_iter")
        bad(f"BCDLogisticRegression(penalty='l1', max_iter={v}).fit(X, yc)", "max_iter")
        bad(f"BCDLogisticRegression(block_size={v}).fit(X, yc)", "block_size")
    for v in bad_bools:
        bad(f"BCDLogisticRegression(fit_intercept={v}).fit(X, yc)", "fit_intercept")
    for name in ("penalty", "solver", "partition", "selection", "update"):
        bad(f"BCDLogisticRegression({name}='bogus').fit(X, yc)", name)
    for v in ["'abc'", "-1", "1.5"]:
        bad(f"BCDLogisticRegression(random_state={v}).fit(X, yc)", "random_state")
    for v in bad_X:
        (edge if v == "X.astype(object)" else bad)(f"BCDLogisticRegression().fit({v}, yc)",
                                                   ["X", "y"])
    for v in ["np.zeros(30)", "yc[:-1]", "np.full(30, np.nan)", "y"]:
        bad(f"BCDLogisticRegression().fit(X, {v})", ["y", "X"])
    edge("BCDLogisticRegression(tol=0.0).fit(X, yc)", "tol")
    edge("BCDLogisticRegression(penalty='l1', tol=0.0).fit(X, yc)", "tol")
    edge("BCDLogisticRegression(tol=0.0).fit(X, y3)", "tol")
    edge("BCDLogisticRegression(penalty='l1', tol=0.0, solver='bcd').fit(X, yc)", "tol")
    edge("BCDLogisticRegression(max_iter=10**12).fit(X, yc)", "max_iter")
    edge("BCDLogisticRegression(tol=0.0, max_iter=10**12).fit(X, yc)", "max_iter")
    edge("BCDLogisticRegression(C=1e300).fit(X, yc)", "C")
    edge("BCDLogisticRegression().fit(X, np.where(yc, 'a', 'b'))", "y")
    edge("BCDLogisticRegression().fit(X * 1e150, yc)", "X")

    # ---------------------------------------------------------------- BCDLabelPropagation
    for v in bad_reals:
        bad(f"BCDLabelPropagation(tol={v}).fit(X, ylp)", "tol")
        bad(f"BCDLabelPropagation(reg={v}).fit(X, ylp)", "reg")
        bad(f"BCDLabelPropagation(kernel='rbf', gamma={v}).fit(X, ylp)", "gamma")
    for v in bad_ints:
        bad(f"BCDLabelPropagation(n_neighbors={v}).fit(X, ylp)", "n_neighbors")
        bad(f"BCDLabelPropagation(max_iter={v}).fit(X, ylp)", "max_iter")
        bad(f"BCDLabelPropagation(block_size={v}).fit(X, ylp)", "block_size")
    for name in ("kernel", "update"):
        bad(f"BCDLabelPropagation({name}='bogus').fit(X, ylp)", name)
    for v in bad_X:
        (edge if v == "X.astype(object)" else bad)(f"BCDLabelPropagation().fit({v}, ylp)",
                                                   ["X", "y"])
    for v in ["np.full(30, -1)", "ylp[:-1]", "np.full(30, np.nan)", "np.zeros(30)"]:
        bad(f"BCDLabelPropagation().fit(X, {v})", ["y", "X", "label"])
    bad("BCDLabelPropagation().fit(X, np.where(ylp == -1, '-1.0', np.where(ylp == 0, 'a', 'b')))",
        ["y", "label"], label="string labels with '-1.0' as a class")
    bad("BCDLabelPropagation(kernel='precomputed').fit(X, ylp)", ["X", "kernel"])
    bad("BCDLabelPropagation(kernel='precomputed').fit(-np.ones((30, 30)), ylp)", ["X"])
    edge("BCDLabelPropagation(tol=0.0).fit(X, ylp)", "tol")
    edge("BCDLabelPropagation(max_iter=10**12).fit(X, ylp)", "max_iter")
    edge("BCDLabelPropagation().fit(X, np.where(ylp == -1, -1, np.where(ylp == 0, 'a', 'b')))",
         "y")
    edge("BCDLabelPropagation(n_neighbors=10**12).fit(X, ylp)", "n_neighbors")
    edge("BCDLabelPropagation(block_size=10**12).fit(X, ylp)", "block_size")
    return out


def run(timeout, out_path):
    all_cases = cases()
    results = []
    proc = None

    def start():
        p = subprocess.Popen([sys.executable, "-c", WORKER], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                             bufsize=1)
        assert p.stdout.readline().strip() == "READY"
        return p

    def cpu_seconds(pid):
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    for case in all_cases:
        if proc is None or proc.poll() is not None:
            proc = start()
        t0 = time.perf_counter()
        c0 = cpu_seconds(proc.pid)
        proc.stdin.write(json.dumps(case) + "\n")
        proc.stdin.flush()
        outcome = None
        while outcome is None:
            ready, _, _ = select.select([proc.stdout], [], [], 0.5)
            if ready:
                line = proc.stdout.readline()
                if not line:
                    proc.wait()
                    outcome = {"status": "crash", "returncode": proc.returncode}
                    proc = None
                else:
                    outcome = json.loads(line)
                break
            try:
                used = cpu_seconds(proc.pid) - c0
            except (FileNotFoundError, ProcessLookupError):
                continue
            # a hang is counted in CPU seconds (the machine may be loaded), with a wall backstop
            if used > timeout or time.perf_counter() - t0 > 20 * timeout:
                proc.kill()
                proc.wait()
                proc = None
                outcome = {"status": "hang", "cpu": used}
        elapsed = time.perf_counter() - t0
        st = outcome["status"]
        if st == "returned":  # a bad input accepted, or a non-finite result, is silent
            st = "ok" if case["kind"] == "edge" and outcome["finite"] else "silent"
        outcome.update(case=case["label"], kind=case["kind"], outcome=st,
                       seconds=round(elapsed, 3))
        results.append(outcome)
        print(f"{st:8s} {elapsed:7.2f}s  {case['label']}  {outcome.get('error', '')[:110]}",
              flush=True)
    if proc is not None:
        proc.kill()
    counts = {}
    for r in results:
        counts[r["outcome"]] = counts.get(r["outcome"], 0) + 1
    summary = {"cases": len(results), **counts}
    print(json.dumps(summary))
    with open(out_path, "w") as fh:
        json.dump({"summary": summary, "results": results}, fh, indent=1)


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--timeout", type=float, default=20.0)
    ap.add_argument("--out", default="census.json")
    a = ap.parse_args()
    run(a.timeout, a.out)
