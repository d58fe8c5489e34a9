"""Non-interactive LDP sparse regression by sufficient-statistics perturbation.

Client side (:func:`nldp_reports`): every user clips ``x`` to ``|x_j| <= feature_bound`` and ``y``
to ``|y| <= target_bound`` and sends, once, ``x x^T`` (its upper triangle) and ``x y``, each with
noise calibrated to its sensitivity, spending ``split * epsilon`` on the first and the rest on the
second. This is the only code that touches raw records; nothing else leaves it.

Server side (:func:`nldp_regression`): average the messages into ``S`` and ``c``, raise the
eigenvalues of ``S`` to a floor (the noise makes it indefinite), and return a sparse solution of
``S theta = c``: the top ``k`` entries refitted on their support, or the minimiser of
``1/2 t'S t - c't + alpha ||t||_1``. With public unlabelled data the server takes ``S`` from them
and users spend their whole budget on ``x y`` (``split=0``).
"""

from __future__ import annotations

import math

import numpy as np

from ..base import ConvergenceHistory
from ..utils import (
    WAKE_UP_WORK,
    check_array,
    check_bool,
    check_int,
    check_one_of,
    check_scalar,
    random_seed,
)
from ..utils._threads import run_split
from ._hooks import noise_enabled
from ._kernels import N_CHUNKS, nldp_messages
from ._normal import ZIGGURAT
from ._result import LDPRegressionResult, NLDPReports
from ._solvers import hard_threshold, l1_quadratic_cd
from ._validation import check_bound, check_delta, check_design, check_epsilon
from .calibration import analytic_gaussian_sigma, laplace_scale

__all__ = ["nldp_regression", "nldp_reports"]

_DEFAULT_DELTA = 1e-6
# per-user messages beyond this are refused (a d x d message per user grows fast)
_MAX_STORED_BYTES = 16 * 2**30


def _sensitivities(d: int, feature_bound: float, target_bound: float, mechanism: str):
    """(covariance, x y) sensitivities over any two clipped records: l2 (Gaussian) or l1.

    For ``M = x x^T - x' x'^T`` the released upper triangle has squared l2 norm
    ``(||M||_F^2 + sum_a M_aa^2) / 2 <= (2 d^2 + d) tau^4 / 2``; its l1 norm is at most
    ``tau^2`` per diagonal and ``2 tau^2`` per off-diagonal entry, ``d^2 tau^2`` in all.
    """
    tau2 = feature_bound * feature_bound
    if mechanism == "gaussian":
        return tau2 * math.sqrt(d * d + 0.5 * d), 2.0 * feature_bound * target_bound * math.sqrt(d)
    return tau2 * d * d, 2.0 * feature_bound * target_bound * d


def nldp_reports(X, y, epsilon, *, delta=None, mechanism="gaussian", feature_bound=3.0,
                 target_bound=3.0, split=0.5, aggregate=True, sum_noise_shortcut=False,
                 random_state=None, n_jobs=None) -> NLDPReports:
    """The users' messages of the non-interactive protocol (client side).

    Parameters
    ----------
    X : array-like of shape (n_users, d)
        One record per user (finite).
    y : array-like of shape (n_users,)
    epsilon : float
        Each user's total budget, > 0 and finite.
    delta : float, optional
        Each user's total delta for ``mechanism="gaussian"``, in (0, 1); default 1e-6. Must be
        None for ``"laplace"`` (pure epsilon-LDP).
    mechanism : {"gaussian", "laplace"}, default="gaussian"
        Gaussian noise calibrated exactly (:func:`analytic_gaussian_sigma`) or Laplace noise.
    feature_bound, target_bound : float, default=3.0
        Public clipping bounds: ``x_j`` is clipped to ``[-feature_bound, feature_bound]``, ``y`` to
        ``[-target_bound, target_bound]`` (defaults suit standardised data; clipping biases the
        statistics of heavier-tailed data).
    split : float in [0, 1), default=0.5
        Fraction of ``epsilon`` (and ``delta``) spent on ``x x^T``. ``0`` sends only ``x y``, for
        a server that holds public unlabelled data.
    aggregate : bool, default=True
        Return only the sums over users (each user's noise is added into the sum inside the
        kernel and never stored); ``False`` returns every message.
    sum_noise_shortcut : bool, default=False
        Simulation only, Gaussian mechanism and ``aggregate=True``: draw the sum of the users'
        ``n`` independent ``N(0, s^2)`` noises as one ``N(0, n s^2)`` draw per entry. Exact in
        distribution, ``O(d^2)`` instead of ``O(n d^2)`` random numbers; the sum then differs
        from the per-user draws' sum for the same seed.
    random_state : None, int, RandomState or Generator
        Seeds the users' streams (user ``i`` draws from a stream of its own). Reports of other
        groups of users that will be added to these need other seeds.
    n_jobs : int, optional
        Threads (numba); the messages are the same for any value.

    Returns
    -------
    reports : NLDPReports

    Raises
    ------
    ValueError, TypeError
        Bad arrays or parameters, ``delta`` given to the Laplace mechanism.

    References
    ----------
    Zhu, L., Ding, M., Aggarwal, V., Xu, J. and Wang, D. (2024). Improved analysis of sparse
    linear regression in local differential privacy model. ICLR.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.privacy import nldp_reports
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(1000, 4)); y = X[:, 0]
    >>> r = nldp_reports(X, y, epsilon=1.0, random_state=0)
    >>> r.xy.shape, r.cov.shape, r.n_users
    ((4,), (10,), 1000)
    """
    X, y = check_design(X, y)
    epsilon = check_epsilon(epsilon)
    mechanism = check_one_of(mechanism, "mechanism", ("gaussian", "laplace"))
    if mechanism == "laplace":
        if delta is not None:
            raise ValueError(f"delta must be None for mechanism='laplace' (pure epsilon-LDP); "
                             f"got {delta!r}")
        delta = 0.0
    else:
        delta = _DEFAULT_DELTA if delta is None else check_delta(delta)
    feature_bound = check_bound(feature_bound, "feature_bound")
    target_bound = check_bound(target_bound, "target_bound")
    split = check_scalar(split, "split", low=0.0, high=1.0, include_high=False)
    aggregate = check_bool(aggregate, "aggregate")
    shortcut = check_bool(sum_noise_shortcut, "sum_noise_shortcut")
    if shortcut and (mechanism != "gaussian" or not aggregate):
        raise ValueError("sum_noise_shortcut=True needs mechanism='gaussian' and aggregate=True "
                         f"(a sum of Laplace noises is not Laplace); got mechanism={mechanism!r}, "
                         f"aggregate={aggregate}")
    seed = random_seed(random_state)
    n, d = X.shape
    with_cov = split > 0.0
    n_cov = d * (d + 1) // 2 if with_cov else 0
    stored = 8.0 * n * (n_cov + d)
    if not aggregate and stored > _MAX_STORED_BYTES:
        raise ValueError(f"aggregate=False would store every user's message: {stored / 2**30:.1f} "
                         f"GiB for {n} users and d={d} (limit {_MAX_STORED_BYTES / 2**30:.0f} "
                         "GiB); use aggregate=True, which keeps only the sums")
    sens_cov, sens_xy = _sensitivities(d, feature_bound, target_bound, mechanism)
    if mechanism == "gaussian":
        cov_scale = analytic_gaussian_sigma(sens_cov, split * epsilon, split * delta) \
            if with_cov else 0.0
        xy_scale = analytic_gaussian_sigma(sens_xy, (1 - split) * epsilon, (1 - split) * delta)
    else:
        cov_scale = laplace_scale(sens_cov, split * epsilon) if with_cov else 0.0
        xy_scale = laplace_scale(sens_xy, (1 - split) * epsilon)
    Xc = np.clip(X, -feature_bound, feature_bound)
    yc = np.clip(y, -target_bound, target_bound)
    noise = 1.0 if noise_enabled() else 0.0
    laplace_noise = mechanism == "laplace"
    work = float(n) * (n_cov + d) * (20.0 if not shortcut else 1.0)
    noisy = (Xc, yc, np.uint64(seed), laplace_noise, with_cov, noise * cov_scale,
             noise * xy_scale, ZIGGURAT)
    if not aggregate:
        cov, xy = np.empty((n, n_cov)), np.empty((n, d))
        run_split(nldp_messages, (*noisy, False, cov, xy), N_CHUNKS, n_jobs, work,
                  WAKE_UP_WORK)
        cov = cov if with_cov else None
    else:
        upper = np.triu_indices(d)
        cov = (Xc.T @ Xc)[upper] if with_cov else None
        xy = Xc.T @ yc
        if shortcut:
            rng = np.random.default_rng(seed)
            if with_cov:
                cov = cov + rng.normal(0.0, noise * cov_scale * math.sqrt(n), cov.shape[0])
            xy = xy + rng.normal(0.0, noise * xy_scale * math.sqrt(n), d)
        else:
            cov_noise, xy_noise = np.zeros((N_CHUNKS, n_cov)), np.zeros((N_CHUNKS, d))
            run_split(nldp_messages, (*noisy, True, cov_noise, xy_noise), N_CHUNKS, n_jobs,
                      work, WAKE_UP_WORK)
            cov = cov + cov_noise.sum(axis=0) if with_cov else None
            xy = xy + xy_noise.sum(axis=0)
    return NLDPReports(cov=cov, xy=xy, n_users=n, n_features=d, aggregated=aggregate,
                       epsilon=epsilon, delta=delta, mechanism=mechanism, split=split,
                       feature_bound=feature_bound, target_bound=target_bound,
                       cov_noise_scale=cov_scale, xy_noise_scale=xy_scale,
                       sensitivity_cov=sens_cov if with_cov else 0.0, sensitivity_xy=sens_xy)


def _noise_operator_norm(reports: NLDPReports) -> float:
    """About the spectral norm of the averaged covariance noise: ``2 s sqrt(d)`` for a
    symmetric matrix of i.i.d. entries of standard deviation ``s`` (Wigner's semicircle edge)."""
    per_entry = reports.cov_noise_scale * (math.sqrt(2.0) if reports.mechanism == "laplace"
                                           else 1.0)
    return 2.0 * per_entry * math.sqrt(reports.n_features / reports.n_users)


def nldp_regression(reports, *, n_nonzero=None, alpha=None, public_X=None, eigen_floor=None,
                    max_sweeps=10_000, tol=1e-10) -> LDPRegressionResult:
    """The server's sparse estimate from the users' NLDP messages.

    ``S`` is the average covariance message (or ``X^T X / m`` of ``public_X``, clipped with the
    users' bound), ``c`` the average ``x y`` message. The eigenvalues of ``S`` are raised to
    ``eigen_floor``, then:

    * ``n_nonzero=k``: the ``k`` largest entries of ``S^{-1} c`` in magnitude, refitted by solving
      ``S`` restricted to that support;
    * ``alpha``: the minimiser of ``1/2 t'S t - c't + alpha ||t||_1`` (coordinate descent);
    * neither: ``S^{-1} c``.

    Parameters
    ----------
    reports : NLDPReports
        From :func:`nldp_reports` (per-user or summed; reports of several groups added).
    n_nonzero : int, optional
        Sparsity of the estimate, in [1, d].
    alpha : float, optional
        l1 penalty, >= 0 (not together with ``n_nonzero``).
    public_X : array-like of shape (m, d), optional
        Public unlabelled records: ``S`` comes from them instead of the private messages.
    eigen_floor : float, optional
        Smallest eigenvalue kept in ``S``, > 0. Default: the expected spectral norm of the noise
        in ``S``, ``2 s sqrt(d / n)`` for noise of scale ``s`` per entry (public), and
        ``1e-6`` times the mean eigenvalue for a public ``S``.
    max_sweeps : int, default=10000
        Coordinate-descent sweeps at most (``alpha`` only).
    tol : float, default=1e-10
        Coordinate descent stops when no coordinate moves by more than ``tol`` times the largest.

    Returns
    -------
    result : LDPRegressionResult
        ``n_iter = 1`` (one round of messages); the history's criterion is ``||coef - 0||``.

    Raises
    ------
    ValueError, TypeError
        Bad arguments; reports without a covariance message and no ``public_X``.

    References
    ----------
    Zhu, L., Ding, M., Aggarwal, V., Xu, J. and Wang, D. (2024). Improved analysis of sparse
    linear regression in local differential privacy model. ICLR.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.privacy import nldp_regression, nldp_reports
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200_000, 5)); y = X @ [0.8, 0, 0, -0.6, 0]
    >>> reports = nldp_reports(X, y, epsilon=4.0, split=0.0, random_state=0)
    >>> fit = nldp_regression(reports, n_nonzero=2, public_X=X[:2000])
    >>> fit.support, bool(np.abs(fit.coef - [0.8, 0, 0, -0.6, 0]).max() < 0.2)
    (array([0, 3]), True)
    """
    if not isinstance(reports, NLDPReports):
        raise TypeError(f"reports must be NLDPReports from nldp_reports; got "
                        f"{type(reports).__name__}")
    d = reports.n_features
    n_nonzero = check_int(n_nonzero, "n_nonzero", low=1, high=d, allow_none=True)
    alpha = check_scalar(alpha, "alpha", low=0.0, allow_none=True)
    if n_nonzero is not None and alpha is not None:
        raise ValueError(f"give n_nonzero or alpha, not both; got n_nonzero={n_nonzero}, "
                         f"alpha={alpha}")
    eigen_floor = check_bound(eigen_floor, "eigen_floor") if eigen_floor is not None else None
    max_sweeps = check_int(max_sweeps, "max_sweeps", low=1)
    tol = check_scalar(tol, "tol", low=0.0, include_low=False)
    Xp = None
    if public_X is not None:
        Xp = check_array(public_X, "public_X", ndim=2)
        if Xp.shape[1] != d:
            raise ValueError(f"public_X must have {d} columns (the reports' n_features); "
                             f"got shape {Xp.shape}")
    elif reports.cov is None:
        raise ValueError("reports carry no covariance message (split=0): pass public_X")
    return run_nldp(reports, n_nonzero, alpha, Xp, eigen_floor, max_sweeps, tol)


def run_nldp(reports, n_nonzero, alpha, Xp, eigen_floor, max_sweeps, tol,
             n_free=0) -> LDPRegressionResult:
    """The server's estimate on validated inputs; the last ``n_free`` columns (an intercept)
    are never penalised nor counted in ``n_nonzero``."""
    d = reports.n_features
    sums = reports.sums()
    n = sums.n_users
    c = sums.xy / n
    if Xp is not None:
        Xp = np.clip(Xp, -sums.feature_bound, sums.feature_bound)
        S = Xp.T @ Xp / Xp.shape[0]
        floor = eigen_floor if eigen_floor is not None else \
            1e-6 * max(float(np.trace(S)) / d, np.finfo(float).tiny)
        method = "nldp_public_covariance"
    else:
        S = np.zeros((d, d))
        S[np.triu_indices(d)] = sums.cov / n
        S = S + np.triu(S, 1).T
        floor = eigen_floor if eigen_floor is not None else \
            max(_noise_operator_norm(sums), 1e-6 * max(float(np.trace(S)) / d, 1e-300))
        method = "nldp"
    w, V = np.linalg.eigh(S)
    S = (V * np.maximum(w, floor)) @ V.T
    S = 0.5 * (S + S.T)
    converged, sweeps = True, 0
    penalised = d - n_free
    if alpha is not None:
        alphas = np.r_[np.full(penalised, alpha), np.zeros(n_free)]
        coef, sweeps, converged = l1_quadratic_cd(S, c, alphas, tol, max_sweeps)
    else:
        coef = np.linalg.solve(S, c)
        if n_nonzero is not None:
            support = np.r_[np.flatnonzero(hard_threshold(coef[:penalised], n_nonzero)),
                            np.arange(penalised, d)]
            coef = np.zeros(d)
            coef[support] = np.linalg.solve(S[np.ix_(support, support)], c[support])
    coef = np.asarray(coef, dtype=np.float64)
    budget = (f"one message per user: x x^T with epsilon={sums.split * sums.epsilon:g}, "
              f"x y with epsilon={(1 - sums.split) * sums.epsilon:g} "
              f"({sums.mechanism}, delta={sums.delta:g} split alike)")
    history = ConvergenceHistory.from_arrays(
        [0, 1], criterion=[np.nan, float(np.linalg.norm(coef))],
        criterion_name="coef_change", labels={"coef_change": "||theta_t - theta_(t-1)||_2"},
        cd_sweeps=[0.0, float(sweeps)])
    return LDPRegressionResult(
        converged=bool(converged), n_iter=1, history=history, coef=coef,
        support=np.flatnonzero(coef[:penalised]), epsilon=sums.epsilon, delta=sums.delta, n_users=n,
        method=method, coef_path=np.vstack([np.zeros(d), coef]), budget=budget)
