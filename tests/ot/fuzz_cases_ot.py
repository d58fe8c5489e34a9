"""Hostile inputs for every public function and estimator of sparsenum.ot (shared by the fuzz
test and the fuzz census).

Each case changes one argument of a valid call to a bad or extreme value. ``expect="error"``:
the call must raise a ValueError/TypeError naming the argument; ``expect="either"``: a clean
error or an honest result (finite, nonnegative plan; history ending at ``n_iter``; converged
only if the criterion is met). :func:`judge` classifies what happened.
"""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np

# values from tests/_fuzz.py's strategies, enumerated (the census needs a fixed list)
BAD_REALS = ["0.1", "abc", None, True, False, [0.1], (0.1,), {}, 1j, float("nan"), float("inf"),
             -float("inf"), np.array([0.1, 0.2]), object()]
BAD_INTS = ["3", 3.5, 3.0, float("nan"), float("inf"), None, True, [3], 1j, np.float64(2.0),
            object()]
BAD_BOOLS = ["True", "False", "yes", 0, 1, 1.0, None, [True], np.array([1])]


def bad_arrays(shape):
    good = np.ones(shape)
    with_nan, with_inf = good.copy(), good.copy()
    with_nan.flat[0], with_inf.flat[-1] = np.nan, np.inf
    return [with_nan, with_inf, -with_inf, good.astype(object), good.astype(complex) + 1j,
            np.array(["a"] * good.size).reshape(shape),
            good.ravel() if len(shape) > 1 else good[:, None], np.ones((0, *shape[1:])),
            "not an array", None, [[1.0, 2.0], [3.0]]]


N, M = 6, 5
_rng = np.random.default_rng(0)
A = (_rng.random(N) + 0.2)
A /= A.sum()
B = (_rng.random(M) + 0.2)
B /= B.sum()
COST = _rng.random((N, M))
X = _rng.normal(size=(12, 2))


@dataclasses.dataclass(frozen=True)
class Case:
    function: str
    argument: str
    label: str
    value: object
    expect: str  # "error" or "either"
    names: tuple = ()  # acceptable argument names in the message (default: the argument)
    new_api: bool = False  # uses what did not exist before (emd, verbose, callback)

    @property
    def name(self):
        return f"{self.function}[{self.argument}={self.label}]"


def _label(value):
    if isinstance(value, np.ndarray):
        return f"array{value.shape}{value.dtype}" + ("nan" if value.dtype.kind == "f" and
                                                     np.isnan(value).any() else "")
    text = repr(value)
    return text if len(text) < 30 else text[:27] + "..."


def _weights_cases(arg, base):
    out = [(v, "error") for v in bad_arrays(base.shape)]
    n = base.shape[0]
    out += [
        (-base, "error"), (np.zeros(n), "error"), (np.full(n, 1e308), "error"),
        (np.r_[base, 0.1], "error"), (base[:-1], "error"),
        (base.astype(np.float32), "either"), (base * 1e-300, "either"), (base * 1e300, "either"),
        (list(base), "either"), (np.r_[base[:-1] + base[-1], 0.0], "either"),
        (np.r_[np.full(n - 1, 5e-324), 1.0], "either"),
    ]
    return out


def _cost_cases():
    out = [(v, "error") for v in bad_arrays(COST.shape)]
    out += [
        (COST.T.copy(), "error"), (COST[:, :-1], "error"), (COST * 1e305, "error"),
        (np.full(COST.shape, -1e301), "error"),
        (COST.astype(np.float32), "either"), ((COST * 10).astype(np.int64), "either"),
        (np.asfortranarray(COST), "either"), (np.zeros(COST.shape), "either"),
        (-COST, "either"), (COST * 1e-300, "either"), (COST * 1e200, "either"),
        (np.repeat(COST, 2, axis=1)[:, ::2], "either"),
    ]
    return out


REAL_EXTRA = {
    "reg": [(0.0, "error"), (-1.0, "error"), (5e-324, "error"), (1e-300, "error"),
            (1e-12, "error"), (1e-9, "either"), (1e300, "either"), (np.float32(0.1), "either"),
            (np.int64(1), "either")],
    "tol": [(0.0, "error"), (-1.0, "error"), (1e-300, "either"), (10.0, "either"),
            (np.float32(1e-6), "either")],
    "density": [(0.0, "error"), (1.5, "error"), (-0.1, "error"), (1e-300, "either"),
                (1.0, "either")],
}
INT_EXTRA = {
    "max_iter": [(0, "error"), (-1, "error"), (10**12, "either"), (2**64, "either"),
                 (np.int32(5), "either")],
    "check_every": [(0, "error"), (-3, "error"), (10**12, "either"), (1, "either")],
    "warmup": [(0, "error"), (10**9, "either"), (1, "either")],
    "max_cg": [(0, "error"), (1, "either"), (10**12, "either")],
    "n_jobs": [(0, "error"), (-100, "either"), (10**6, "either"), (-1, "either")],
    "max_nz": [(0, "error"), (N + 1, "error"), (-1, "error"), (1, "either"), (N, "either"),
               (10**9, "error")],
    "verbose": [(-1, "error"), (0, "either"), (3, "either"), (True, "either")],
}
CHOICES = {
    "newton": ["sometimes", None, True, 1, "AUTO", ["auto"]],
    "formulation": ["primal", None, 0, "Dual", ("dual",)],
    "solver": ["lbfgs", None, 1],
    "metric": ["hamming", None, 3, "Euclidean"],
}


def _init_cases():
    f, g = np.zeros(N), np.zeros(M)
    return [
        (np.zeros(N), "error"), ((f,), "error"), ((f, g, g), "error"), ("fg", "error"),
        ((f, np.zeros(M + 1)), "error"), ((np.zeros(N - 1), g), "error"),
        ((np.full(N, np.nan), g), "error"), ((f, np.full(M, np.inf)), "error"),
        ((f, np.full(M, -np.inf)), "error"), ((f.astype(object), g), "error"),
        ((f + 1e300, g - 1e300), "either"), ((f, g), "either"), ([f, g], "either"),
        ((f.astype(np.float32), g), "either"),
    ]


SIGNATURES = {
    "sinkhorn": ("a", "b", "C", "reg", "tol", "max_iter", "init", "check_every", "n_jobs",
                 "verbose", "callback"),
    "sinkhorn_newton_sparse": ("a", "b", "C", "reg", "tol", "max_iter", "density", "warmup",
                               "check_every", "max_cg", "newton", "eps_scaling", "init",
                               "n_jobs", "verbose", "callback"),
    "sparsity_constrained_ot": ("a", "b", "C", "reg", "max_nz", "formulation", "tol",
                                "max_iter", "polish", "n_jobs", "verbose", "callback"),
    "emd": ("a", "b", "C", "max_iter"),
    "EntropicTransport.fit": ("X", "X_target", "reg", "solver", "metric", "tol", "max_iter"),
    "SparseTransport.fit": ("X", "X_target", "reg", "max_nz", "formulation", "metric", "tol",
                            "max_iter"),
    "EntropicTransport.transform": ("X",),
}
NEW_API = {"verbose", "callback"}


def _values(function, argument):
    if argument == "a":
        return _weights_cases("a", A)
    if argument == "b":
        return _weights_cases("b", B)
    if argument == "C":
        return _cost_cases()
    if argument in ("X", "X_target"):
        out = [(v, "error") for v in bad_arrays(X.shape)]
        # scikit-learn's convention: object arrays of numbers are numbers; X_target=None is X
        out = [(v, "either" if (isinstance(v, np.ndarray) and v.dtype == object
                                and argument == "X") or (v is None and argument == "X_target")
                else e) for v, e in out]
        out += [(X * 1e300, "error"), (X[:, :1], "error"), (X.astype(np.float32), "either"),
                (X * 1e-300, "either"), (np.zeros_like(X), "either"), (X[:1], "either")]
        if argument == "X" and function.endswith("fit"):
            out[-5] = (X[:, :1], "either")  # one feature is a valid X (its own target)
        return out
    if argument in ("reg", "tol", "density"):
        bad = [(v, "either" if v is None and argument == "density" else "error")
               for v in BAD_REALS]
        return bad + REAL_EXTRA[argument]
    if argument in INT_EXTRA:
        bad = [v for v in BAD_INTS if not (argument == "verbose" and isinstance(v, bool))]
        if argument == "n_jobs":
            bad = [v for v in bad if v is not None]
        extra = INT_EXTRA[argument]
        if argument == "max_nz" and function.startswith("SparseTransport"):
            # the estimator caps max_nz at the number of samples
            extra = [(v, "either" if isinstance(v, int) and v >= 1 else e) for v, e in extra]
        return [(v, "error") for v in bad] + extra
    if argument in ("eps_scaling", "polish"):
        return [(v, "error") for v in BAD_BOOLS] + [(np.bool_(False), "either")]
    if argument in CHOICES:
        bad = [(v, "error") for v in CHOICES[argument]]
        if argument in ("solver", "metric"):
            bad = [(v, "error") for v in CHOICES[argument]]
        return bad
    if argument == "init":
        return _init_cases()
    if argument == "callback":
        return [("print", "error"), (3, "error"),
                (lambda it, state: None, "either"), (lambda it, state: True, "either"),
                (lambda it, state: 1 / 0, "raises")]
    raise KeyError(argument)


def cases():
    out = []
    for function, arguments in SIGNATURES.items():
        for argument in arguments:
            for value, expect in _values(function, argument):
                if expect == "raises":  # a callback's own exception propagates unchanged
                    continue
                out.append(Case(function, argument, _label(value), value, expect,
                                new_api=function == "emd" or argument in NEW_API))
    return out


def call(case):
    """Run the case's call with the package imported now; returns the result."""
    from sparsenum import ot as sot

    if case.function.startswith(("EntropicTransport", "SparseTransport")):
        cls = getattr(sot, case.function.split(".")[0])
        params = {} if case.argument in ("X", "X_target") else {case.argument: case.value}
        est = cls(**params)
        if case.function.endswith("transform"):
            est.fit(X)
            return est.transform(case.value)
        if case.argument == "X":
            return est.fit(case.value)
        if case.argument == "X_target":
            return est.fit(X, X_target=case.value)
        return est.fit(X)
    fn = getattr(sot, case.function)
    args = {"a": A, "b": B, "C": COST}
    if case.function != "emd":
        args["reg"] = 0.1
    if case.function == "sparsity_constrained_ot":
        args["max_nz"] = 2
    args[case.argument] = case.value
    if case.argument in ("tol",) and case.expect == "either":
        args.setdefault("max_iter", 2000)
    positional = [args.pop(k) for k in ("a", "b", "C", "reg", "max_nz") if k in args]
    return fn(*positional, **args)


def names_argument(message, name):
    """Whether an error message names the user's argument ``name`` (not just contains it):
    ``a`` only at the start (elsewhere it is usually the article), other names as words."""
    if name == "a":
        return re.match(r"^a\b", message) is not None
    return re.search(rf"(^|[\s(\[`'])({re.escape(name)})([\s=\[\]`'):,.;]|$)",
                     message) is not None


def honest(case, result):
    """None if the returned value is honest, else what is wrong with it."""
    if case.function.endswith("transform"):
        ok = np.all(np.isfinite(result))
        return None if ok else "transform returned non-finite values"
    if case.function.endswith("fit"):
        result = result.result_
    plan = result.plan
    if not np.all(np.isfinite(plan)) or np.any(plan < 0):
        return "plan not finite or negative"
    for field in ("cost", "objective", "dual_objective", "marginal_error"):
        if not math.isfinite(getattr(result, field)):
            return f"{field} not finite"
    h = result.history
    if len(h) == 0 or h.iteration[-1] != result.n_iter:
        return "history does not end at n_iter"
    dual_plan = case.argument == "polish" and not case.value  # meets no marginal by design
    if result.converged and not dual_plan:
        mass = float(np.asarray(plan).sum())
        # the tolerance asked for (relative to the mass), or 1e-5 for float32 rounding
        tol = max(float(case.value), 1e-5) if case.argument == "tol" else 1e-5
        if not result.marginal_error <= tol * max(mass, 1e-300) + 1e-300:
            return f"converged with marginal_error {result.marginal_error:.2e} (mass {mass:.2e})"
    return None


def judge(case, run):
    """Run ``run()`` (which calls the case) and classify the outcome.

    Returns ``(category, detail)`` with category one of: ``clean`` (a ValueError/TypeError
    naming the argument), ``honest`` (an honest result where one is allowed), ``unnamed`` (an
    error not naming the argument), ``wrong_type`` (another exception type), ``silent`` (a
    result for an input that must be refused, or a dishonest result).
    """
    names = case.names or (case.argument,)
    try:
        value = run()
    except (ValueError, TypeError) as exc:
        message = str(exc)
        if any(names_argument(message, n) for n in names):
            return "clean", f"{type(exc).__name__}: {message[:120]}"
        return "unnamed", f"{type(exc).__name__}: {message[:160]}"
    except Exception as exc:  # classifying every failure is the point
        return "wrong_type", f"{type(exc).__name__}: {str(exc)[:160]}"
    if case.expect == "error":
        return "silent", "returned a result for an input that must be refused"
    problem = honest(case, value)
    if problem is not None:
        return "silent", problem
    return "honest", ""
