"""Sparse Bayesian learning: classical SBL (EM or MacKay updates) and pattern-coupled SBL.

Each coefficient ``x_n`` has a zero-mean Gaussian prior with its own variance ``gamma_n``; the
variances and the noise variance are learned by maximising the marginal likelihood (type-II
maximum likelihood), alternating the Gaussian E-step of ``_posterior`` with closed-form updates.
Pattern-coupled SBL ties each precision to its neighbours' so that clustered supports share
evidence.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np

from ..base import ConvergenceHistory
from ..utils import check_int, check_one_of, check_scalar
from ._posterior import (
    blas_threads_for,
    gaussian_posterior,
    negative_log_evidence,
    posterior_step,
)
from ._result import SBLResult
from ._step_kernels import Design, sbl_variances, select_columns
from ._support import SupportGraph
from ._validation import (
    check_callback,
    check_design,
    check_noise_var,
    check_prior,
    check_verbose,
)

__all__ = ["sparse_bayesian_learning"]


@dataclasses.dataclass(frozen=True)
class _Tuning:
    # the noise variance starts at this fraction of the mean power of y: from above, so that
    # the first posteriors explain the data with few coefficients rather than fit the noise
    noise_start: float = 0.1
    # learned noise variances stay above this fraction of the mean power of y, so that an
    # exactly sparse, noiseless y still gives a well-conditioned E-step
    noise_floor: float = 1e-10
    # prior variances stay below this multiple of the starting variance (a coefficient no
    # data determines would otherwise get an infinite variance)
    variance_cap: float = 1e12
    # prune=None: coefficients whose variance falls below this fraction of the largest leave
    # (amplitudes 1e-4 of the largest: far below any noise level worth modelling)
    relative_prune: float = 1e-8


TUNING = _Tuning()

HISTORY_LABELS = {
    "neg_log_evidence": "negative log evidence -log p(y) [nats]",
    "relative_change": "relative change of the posterior mean ||mu_t - mu_(t-1)|| / ||mu_t||",
    "n_active": "coefficients kept",
    "noise_var": "noise variance sigma^2 [units of y^2]",
}


def relative_change(new: np.ndarray, old: np.ndarray) -> float:
    """``||new - old|| / ||new||`` (0 when both are zero)."""
    diff = new - old
    num = float(np.sqrt(np.real(np.vdot(diff, diff))))
    return num / max(float(np.sqrt(np.real(np.vdot(new, new)))), 1e-300) if num > 0 else 0.0


def zero_data_result(result_type, n: int, m: int, dtype, noise_var, **extra):
    """The exact answer for ``y = 0``: ``x = 0`` (said with a warning)."""
    return empty_result(result_type, n, np.zeros(m, dtype), noise_var,
                        "y is all zeros: the posterior mean is x = 0; returning it without "
                        "iterating", **extra)


def empty_result(result_type, n: int, y: np.ndarray, noise_var, message: str, **extra):
    """``x = 0`` when there is nothing to learn (``y = 0``, or ``A = 0``), with a warning; the
    noise variance is the power of ``y`` unless given."""
    warnings.warn(message, UserWarning, stacklevel=3)
    m = y.shape[0]
    power = float(np.real(np.vdot(y, y)))
    if noise_var is None:
        noise_var = power / m
    if noise_var == 0:
        log_evidence = np.inf  # y = 0: the evidence grows without bound as sigma -> 0
    elif np.iscomplexobj(y):
        log_evidence = -(m * np.log(np.pi * noise_var) + power / noise_var)
    else:
        log_evidence = -0.5 * (m * np.log(2.0 * np.pi * noise_var) + power / noise_var)
    history = ConvergenceHistory(1, ("n_active", "noise_var"),
                                 criterion_name="relative_change",
                                 objective_name="neg_log_evidence", labels=HISTORY_LABELS)
    history.record(0, objective=-log_evidence, criterion=0.0, n_active=0, noise_var=noise_var)
    return result_type(coef=np.zeros(n, y.dtype), posterior_var=np.zeros(n),
                       prior_var=np.zeros(n), noise_var=float(noise_var),
                       support=np.zeros(0, np.int64), log_evidence=float(log_evidence),
                       converged=True, n_iter=0, history=history, **extra)


@dataclasses.dataclass
class _Problem:
    """A validated problem and the constants every update needs."""

    A: np.ndarray
    y: np.ndarray
    is_complex: bool
    half: float  # weight of one real degree of freedom: 1/2 for real data, 1 for complex
    power: float  # mean power |y|^2 / M

    @classmethod
    def make(cls, A, y):
        is_complex = np.iscomplexobj(A)
        m = A.shape[0]
        return cls(A, y, is_complex, 1.0 if is_complex else 0.5,
                   float(np.real(np.vdot(y, y))) / m)


def _update_noise(prob, post, noise_var, update, prior):
    c, d = prior
    h = prob.half
    m = prob.A.shape[0]
    if update == "mackay":
        num = h * (m - post.dof) + c
        den = h * post.residual_sq + d
    else:
        num = h * m + c
        den = h * (post.residual_sq + noise_var * post.dof) + d
    floor = TUNING.noise_floor * prob.power
    if not num > 0 or not np.isfinite(den):
        return floor
    return max(den / num, floor)


class _GramCache:
    """``A^H A`` and ``A^H y`` on a set of columns, reused while it lasts.

    Once at most ``M`` coefficients are kept the E-step works on ``A^H A`` (``N_a x N_a``); the
    kept set only shrinks in classical SBL, so the product with ``A`` is computed once and a
    smaller set gathers its rows and columns (``O(N_a^2)`` instead of ``O(N_a^2 M)``).
    """

    def __init__(self, A, y):
        self.A, self.y = A, y
        self.columns = np.zeros(0, np.int64)
        self.sub = self.gram = self.ahy = None

    def get(self, kept):
        """``(A^H A, A^H y)`` on the columns ``kept``, or None for more than ``M`` (or none)."""
        if kept.size > self.A.shape[0] or kept.size == 0:
            return None
        if self.gram is not None and np.array_equal(kept, self.columns):
            return self.gram, self.ahy
        pos = np.minimum(np.searchsorted(self.columns, kept), max(self.columns.size - 1, 0))
        if self.gram is not None and np.array_equal(self.columns[pos], kept):
            self.sub, self.gram = self.sub[:, pos], self.gram[np.ix_(pos, pos)]
            self.ahy = self.ahy[pos]
        else:
            self.sub = self.A[:, kept]
            adj = self.sub.conj().T if np.iscomplexobj(self.sub) else self.sub.T
            self.gram, self.ahy = adj @ self.sub, adj @ self.y
        self.columns = kept.copy()
        return self.gram, self.ahy


def run_sbl(prob: _Problem, *, coupling: float, update: str, noise_var: float | None,
            precision_prior, noise_prior, prune: float | None, tol: float, max_iter: int,
            graph: SupportGraph | None = None, noise_start: float | None = None,
            callback=None, verbose: int = 0, record: bool = True,
            warm: dict | None = None, freeze: float = 0.0) -> SBLResult:
    """The SBL iterations on a validated problem (shared with Turbo-VBI's initialisation).

    ``warm``, if given, holds ``gamma`` and ``alpha`` to start from (when present) and receives
    the last ones used. ``freeze > 0`` leaves out of each E-step the coefficients whose prior
    variance adds less than ``freeze`` times the noise variance to the data (their posterior
    is then their prior).
    """
    A, y = prob.A, prob.y
    m, n = A.shape
    graph = graph or SupportGraph("chain", n)
    col_sq = np.einsum("ij,ij->j", A.real, A.real)
    if prob.is_complex:
        col_sq += np.einsum("ij,ij->j", A.imag, A.imag)
    start = prob.power * m / max(float(col_sq.sum()), 1e-300)
    gamma = np.where(col_sq > 0, start, 0.0)  # zero columns carry no information: x_n = 0
    alpha = np.where(col_sq > 0, 1.0 / start, np.inf)
    if warm and "gamma" in warm:
        gamma, alpha = warm["gamma"].copy(), warm["alpha"].copy()
    permanent = coupling == 0.0  # uncoupled precisions of pruned coefficients never come back
    learn_noise = noise_var is None
    sigma2 = prob.power * (TUNING.noise_start if noise_start is None else noise_start) \
        if learn_noise else noise_var
    cap = TUNING.variance_cap * start
    history = ConvergenceHistory(min(max_iter, 1024) + 1, ("n_active", "noise_var"),
                                 criterion_name="relative_change",
                                 objective_name="neg_log_evidence", labels=HISTORY_LABELS)
    dead = col_sq == 0
    mean = np.zeros(n, A.dtype)
    gram = _GramCache(A, y)
    height, width = graph.grid
    a, b = precision_prior
    prune = -TUNING.relative_prune if prune is None else prune
    converged = False
    it = 0
    real = not prob.is_complex
    design = Design(A, y, col_sq)
    threshold = 0.0  # freeze = 0: every coefficient with gamma > 0 is solved
    for it in range(1, max_iter + 1):
        if freeze > 0.0:
            threshold = freeze * sigma2
        # (complex data: the kernel selects only, on no columns of its own)
        kept, frozen, B = select_columns(A if real else np.empty((m, 0)), gamma, col_sq,
                                         threshold, m if real else n)
        if real:
            post, new_mean, *_, change = posterior_step(design, kept, frozen, gamma, sigma2,
                                                        mean, gram.get(kept), B)
            mean_sq = post.mean * post.mean
        else:
            post = gaussian_posterior(A[:, kept], y, gamma[kept], sigma2, gram.get(kept))
            new_mean = np.zeros(n, A.dtype)
            new_mean[kept] = post.mean
            change = relative_change(new_mean, mean)
            mean_sq = np.abs(post.mean) ** 2
        mean = new_mean
        objective = negative_log_evidence(post, m, prob.is_complex)
        if record:
            history.record(it, objective=objective, criterion=change, n_active=kept.size,
                           noise_var=sigma2)
        if verbose >= 2:
            print(f"SBL iteration {it}: -log p(y)={objective:.6g}, change={change:.3e}, "
                  f"kept={kept.size}, noise_var={sigma2:.4g}")
        if callback is not None:
            callback(it, {"coef": mean, "prior_var": gamma, "noise_var": sigma2,
                          "objective": objective, "criterion": change})
        if change < tol:
            converged = True
            break
        if it == max_iter:
            break
        # new variances (a frozen coefficient was left out of the E-step: nothing new is
        # known about it), capped, pruned; zero columns stay at zero, and without coupling so
        # do pruned coefficients
        gamma, alpha = sbl_variances(mean_sq, post.var, post.shrinkage, kept, frozen, gamma,
                                     alpha, dead, update == "mackay", coupling, height, width,
                                     a, b, prob.half, cap, prune, permanent)
        if learn_noise:
            sigma2 = _update_noise(prob, post, sigma2, update, noise_prior)
    if warm is not None:
        warm["gamma"], warm["alpha"] = gamma, alpha
    var = np.zeros(n)
    var[kept] = post.var
    prior_var = np.zeros(n)
    prior_var[kept] = gamma[kept]
    if verbose >= 1:
        state = "converged" if converged else "stopped at max_iter"
        print(f"sparse_bayesian_learning {state} after {it} iterations: {kept.size} of {n} "
              f"coefficients kept, noise_var={sigma2:.4g}")
    return SBLResult(coef=mean, posterior_var=var, prior_var=prior_var, noise_var=float(sigma2),
                     support=kept.astype(np.int64), log_evidence=-objective,
                     converged=converged, n_iter=it, history=history)


def sparse_bayesian_learning(A, y, *, coupling=0.0, update="em", noise_var=None,
                             precision_prior=(0.0, 0.0), noise_prior=(0.0, 0.0), prune=None,
                             tol=1e-6, max_iter=1000, callback=None, verbose=0) -> SBLResult:
    r"""Sparse Bayesian learning of ``x`` in ``y = A x + w``, classical or pattern-coupled.

    Each coefficient has the prior :math:`x_n \sim N(0, \gamma_n)` and the noise is
    :math:`w \sim N(0, \sigma^2 I)` (circular complex Gaussians for complex data). The
    variances are learned by maximising the marginal likelihood
    :math:`p(y\mid\gamma,\sigma^2)`; each iteration computes the Gaussian posterior of ``x``
    (a Cholesky factorisation of the smaller of :math:`\sigma^2 I + A\Gamma A^H` and
    :math:`I + \Gamma^{1/2}A^HA\Gamma^{1/2}/\sigma^2`; the posterior covariance is never
    formed) and then updates the variances:

    * ``update="em"``: :math:`\gamma_n \leftarrow E|x_n|^2` (Tipping; Wipf and Rao), monotone
      in the evidence, slow to prune;
    * ``update="mackay"``: :math:`\gamma_n \leftarrow |\mu_n|^2 / (1 - \Sigma_{nn}/\gamma_n)`,
      MacKay's fixed point, the update of scikit-learn's ``ARDRegression``; prunes fast;
    * ``coupling=beta > 0``: pattern-coupled SBL (Fang et al.): the precision of :math:`x_n` is
      :math:`\alpha_n + \beta(\alpha_{n-1} + \alpha_{n+1})`, updated in closed form as
      :math:`\alpha_n = 1 / (\omega_n + 2b)` with
      :math:`\omega_n = E x_n^2 + \beta(E x_{n-1}^2 + E x_{n+1}^2)` (real case), so that
      neighbours share evidence and clustered supports are favoured.

    Parameters
    ----------
    A : array-like of shape (M, N)
        Design (dictionary), real or complex.
    y : array-like of shape (M,)
        Observations, real or complex. A complex ``y`` with a real ``A`` is solved as a complex
        problem. An all-zero ``y`` returns ``x = 0`` at once, with a warning.
    coupling : float, default=0.0
        PC-SBL's :math:`\beta \ge 0` over the 1-D neighbours ``n - 1`` and ``n + 1``; 0 gives
        classical SBL. The paper's value is 1.
    update : {"em", "mackay"}, default="em"
        Variance update of classical SBL; ``coupling > 0`` has its own closed-form update
        and requires ``"em"``. The noise variance is updated the same way (EM or MacKay).
    noise_var : float, optional
        Fixed noise variance :math:`\sigma^2 > 0`; learned when ``None``.
    precision_prior : (float, float), default=(0.0, 0.0)
        Shape and rate :math:`(a, b)` of a Gamma hyperprior on each precision
        :math:`1/\gamma_n` (Tipping's convention, density in :math:`\log\alpha` proportional to
        :math:`\alpha^a e^{-b\alpha}`). ``ARDRegression``'s default is ``(1e-6, 1e-6)``.
    noise_prior : (float, float), default=(0.0, 0.0)
        The same on the noise precision :math:`1/\sigma^2`.
    prune : float, optional
        Coefficients whose prior variance falls below ``prune`` (in units of ``x**2``) are set
        to exactly 0 and leave the computation; by default, below ``1e-8`` times the largest
        variance. ``ARDRegression``'s ``threshold_lambda=1e4`` is ``prune=1e-4``. For
        ``coupling > 0`` a pruned coefficient comes back when its neighbours' precisions raise
        its variance again. Pass 0 to keep every coefficient.
    tol : float, default=1e-6
        Stop when :math:`\|\mu_t - \mu_{t-1}\| / \|\mu_t\| <` ``tol``.
    max_iter : int, default=1000
        Maximum number of iterations (E-step plus update).
    callback : callable, optional
        ``callback(iteration, state)`` after every E-step; ``state`` is a dict with ``coef``,
        ``prior_var``, ``noise_var``, ``objective`` and ``criterion``.
    verbose : int or bool, default=0
        1: a summary line; 2: a line per iteration.

    Returns
    -------
    SBLResult
        Posterior mean (``coef``) and variances, the prior and noise variances they were
        computed with, the indices kept and the log evidence. The history records the negative
        log evidence, the relative change of the posterior mean, the number of coefficients kept
        and the noise variance per iteration.

    Raises
    ------
    ValueError
        Shapes that do not match, NaN or infinity, ``coupling < 0``, ``coupling > 0`` with
        ``update="mackay"``, out-of-range parameters.
    TypeError
        Arguments of the wrong kind (a string for a number, a bool for an integer, ...).

    See Also
    --------
    turbo_vbi : structured supports (chains, grids) through a hidden support model.
    kronecker_sbl : Kronecker-structured designs and priors.

    Notes
    -----
    An iteration costs :math:`O(M^2 N_a)` with :math:`N_a` the coefficients kept, and
    :math:`O(N_a^3 + M N_a)` once :math:`N_a \le M`: :math:`A^H A` on the kept columns is
    computed once and reused while the kept set shrinks. EM-SBL's noise variance, learned with the
    variances, tends to be underestimated on underdetermined problems; fix ``noise_var`` when it
    is known.

    References
    ----------
    .. [1] M. E. Tipping, "Sparse Bayesian learning and the relevance vector machine", JMLR 1,
       2001.
    .. [2] D. P. Wipf and B. D. Rao, "Sparse Bayesian learning for basis selection", IEEE
       Trans. Signal Processing 52(8), 2004.
    .. [3] J. Fang, Y. Shen, H. Li and P. Wang, "Pattern-coupled sparse Bayesian learning for
       recovery of block-sparse signals", IEEE Trans. Signal Processing 63(2), 2015.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.bayes import sparse_bayesian_learning
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((30, 60))
    >>> x = np.zeros(60); x[[5, 6, 7, 40]] = [1.0, -2.0, 1.5, 3.0]
    >>> y = A @ x + 0.01 * rng.standard_normal(30)
    >>> res = sparse_bayesian_learning(A, y, update="mackay")
    >>> res.converged, int(np.argmax(np.abs(res.coef)))
    (True, 40)
    >>> np.round(res.coef[[5, 6, 7, 40]], 2)
    array([ 1.  , -2.  ,  1.5 ,  2.99])
    >>> bool(np.abs(res.coef - x).max() < 0.01)
    True
    """
    A, y = check_design(A, y)
    coupling = check_scalar(coupling, "coupling", low=0.0)
    update = check_one_of(update, "update", ("em", "mackay"))
    if coupling > 0.0 and update != "em":
        raise ValueError("coupling > 0 (pattern-coupled SBL) has its own closed-form update; "
                         f"pass update='em' (got update={update!r}, coupling={coupling:g})")
    noise_var = check_noise_var(noise_var)
    precision_prior = check_prior(precision_prior, "precision_prior")
    noise_prior = check_prior(noise_prior, "noise_prior")
    prune = check_scalar(prune, "prune", low=0.0, allow_none=True)
    tol = check_scalar(tol, "tol", low=0.0)
    max_iter = check_int(max_iter, "max_iter", low=1)
    callback = check_callback(callback)
    verbose = check_verbose(verbose)
    if not np.any(y):
        return zero_data_result(SBLResult, A.shape[1], A.shape[0], A.dtype, noise_var)
    prob = _Problem.make(A, y)
    with blas_threads_for(*A.shape):
        return run_sbl(prob, coupling=coupling, update=update, noise_var=noise_var,
                       precision_prior=precision_prior, noise_prior=noise_prior, prune=prune,
                       tol=tol, max_iter=max_iter, callback=callback, verbose=verbose)
