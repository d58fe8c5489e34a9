"""Discovery of sparsenum's modules, their estimators and their demos.

A module registers itself by holding a ``_register.py`` file in its folder, with

``ESTIMATORS``
    names of its public estimator classes (importable from the module);
``demo(out_dir: pathlib.Path) -> list[DemoRow]``
    a short run on embedded data (bundled or generated, never downloaded), compared against a
    reference no one here wrote, returning one :class:`DemoRow` per solver run.

and, optionally,

``check_instances()`` and ``EXPECTED_FAILED_CHECKS``
    the instances scikit-learn's estimator checks run on, and the checks an estimator cannot
    pass, each with a written reason;
``warm_up()``
    calls the module's main functions once on tiny inputs, so that ``python -m sparsenum
    compile`` fills numba's cache for every kernel a first-time user would compile;
``solver_cases() -> list[SolverCase]``
    small problems for every public solver function; the common tests check that each
    result's history agrees with the result and that repeated runs under load are identical;
``easy_fits() -> list[EasyFit]``
    every estimator with its default parameters on an easy, well-conditioned problem; the
    common tests check that none of them warns.

Nothing else in the foundation changes when a module is added: the demo command, the common
estimator tests, the API reference and the docs all find it here.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import pkgutil
from collections.abc import Callable
from types import ModuleType

from ..base import ConvergenceHistory

__all__ = ["DemoRow", "EasyFit", "SolverCase", "all_demos", "all_easy_fits", "all_estimators",
           "all_solver_cases", "all_warm_ups", "registered_modules"]

_NOT_MODULES = {"utils"}


@dataclasses.dataclass(frozen=True, kw_only=True)
class DemoRow:
    """One line of ``python -m sparsenum demo``.

    Attributes
    ----------
    problem : str
        The problem instance, e.g. ``"random assignment n=300, reg=1e-3"``.
    solver : str
        Which solver ran, e.g. ``"sinkhorn_newton_sparse"``.
    time : float
        Wall-clock seconds of the (warm) run.
    n_iter : int or None
        Iterations, if the solver is iterative.
    accuracy : float
        The accuracy measure, recomputed from the returned solution.
    accuracy_name : str
        What ``accuracy`` is, e.g. ``"|cost - ot.emd2| / ot.emd2"``.
    reference : str
        The independent reference it was compared against, e.g. ``"POT ot.emd2"``.
    history : ConvergenceHistory or None
        Plotted to the demo's output folder when given.
    """

    problem: str
    solver: str
    time: float
    n_iter: int | None
    accuracy: float
    accuracy_name: str
    reference: str
    history: ConvergenceHistory | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class SolverCase:
    """A small problem for one public solver function, run by the common tests.

    Attributes
    ----------
    name : str
        Test id, e.g. ``"sinkhorn random 20x30"``.
    run : callable
        ``run() -> SolverResult``: calls the public function on fixed inputs.
    criterion : callable, optional
        ``criterion(result) -> float``: the stopping criterion recomputed from the returned
        solution (e.g. the marginal violation of the returned plan), independently of the
        history. The history's last criterion must agree with it.
    rtol : float, default=1e-6
        Relative tolerance of that agreement (absolute below ``atol``).
    atol : float, default=1e-12
        Absolute tolerance of that agreement.
    tol : float, optional
        The tolerance the case asked for: a converged result's criterion must be below it.
    deterministic : bool, default=True
        Whether two runs must give identical iterates, ``n_iter`` and history (every solver
        should; a case says False only for a documented reason).
    """

    name: str
    run: Callable
    criterion: Callable | None = None
    rtol: float = 1e-6
    atol: float = 1e-12
    tol: float | None = None
    deterministic: bool = True


@dataclasses.dataclass(frozen=True, kw_only=True)
class EasyFit:
    """An estimator with default parameters and an easy problem it must fit without warning."""

    name: str
    estimator: object
    X: object
    y: object = None


def registered_modules() -> list[str]:
    """Names of the sparsenum subpackages that hold a ``_register.py``, sorted.

    Examples
    --------
    >>> from sparsenum.utils import registered_modules
    >>> isinstance(registered_modules(), list)
    True
    """
    import sparsenum

    names = []
    for info in pkgutil.iter_modules(sparsenum.__path__):
        if not info.ispkg or info.name.startswith("_") or info.name in _NOT_MODULES:
            continue
        if importlib.util.find_spec(f"sparsenum.{info.name}._register") is not None:
            names.append(info.name)
    return sorted(names)


def _registration(module: str) -> ModuleType:
    return importlib.import_module(f"sparsenum.{module}._register")


def all_estimators(type_filter: str | None = None) -> list[tuple[str, type]]:
    """All public estimator classes of sparsenum, as ``(name, class)`` pairs sorted by name.

    Parameters
    ----------
    type_filter : {"classifier", "regressor", "transformer", "cluster"}, optional
        Keep only estimators of that kind (scikit-learn's mixins decide).

    Examples
    --------
    >>> from sparsenum.utils import all_estimators
    >>> all(isinstance(name, str) for name, _ in all_estimators())
    True
    """
    from sklearn.base import ClassifierMixin, ClusterMixin, RegressorMixin, TransformerMixin

    kinds = {"classifier": ClassifierMixin, "regressor": RegressorMixin,
             "transformer": TransformerMixin, "cluster": ClusterMixin}
    if type_filter is not None and type_filter not in kinds:
        raise ValueError(f"type_filter must be None or one of {sorted(kinds)}; got {type_filter!r}")
    found = []
    for module in registered_modules():
        package = importlib.import_module(f"sparsenum.{module}")
        for name in getattr(_registration(module), "ESTIMATORS", ()):
            cls = getattr(package, name)
            if type_filter is None or issubclass(cls, kinds[type_filter]):
                found.append((name, cls))
    return sorted(found, key=lambda pair: pair[0])


def all_demos() -> list[tuple[str, Callable]]:
    """``(module, demo)`` pairs of every registered module that has a demo."""
    demos = []
    for module in registered_modules():
        demo = getattr(_registration(module), "demo", None)
        if demo is not None:
            demos.append((module, demo))
    return demos


def _collect(hook: str) -> list:
    found = []
    for module in registered_modules():
        make = getattr(_registration(module), hook, None)
        if make is not None:
            found.extend((module, item) for item in make())
    return found


def all_solver_cases() -> list[tuple[str, SolverCase]]:
    """``(module, case)`` pairs from every module's ``solver_cases()``."""
    return _collect("solver_cases")


def all_easy_fits() -> list[tuple[str, EasyFit]]:
    """``(module, fit)`` pairs from every module's ``easy_fits()``."""
    return _collect("easy_fits")


def all_warm_ups() -> list[tuple[str, Callable]]:
    """``(module, warm_up)`` pairs of every registered module that has a ``warm_up``."""
    warm_ups = []
    for module in registered_modules():
        warm_up = getattr(_registration(module), "warm_up", None)
        if warm_up is not None:
            warm_ups.append((module, warm_up))
    return warm_ups
