"""Turbo-VBI: sparse recovery with a structured (clustered) support.

Module A (``_turbo_module_a``) computes the variational posterior of ``x``, its precisions and
the noise given a support prior; module B (``_support``) runs sum-product on the support graph
(a Markov chain, a grid Markov random field, or independent coefficients) with module A's
evidence, and returns each coefficient's prior as implied by the others. The two exchange
these extrinsic messages until the posterior mean stops moving.

What makes it robust (the variational fixed points are many, and some are bad):

* the slab's variance is scaled to the data (``||y||^2``, the column norms and the support
  size of an SBL solution) and the spike's to the noise, so that nothing depends on units;
* each start is initialised from a pattern-coupled SBL solution computed at its noise level;
* several starts, from a high noise level down to a low one, and the one with the highest
  variational bound is continued (a start that explains the data with noise, or noise with
  the data, loses on the bound);
* the support prior is damped between iterations.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..base import ConvergenceHistory
from ..utils import check_int, check_one_of, check_random_state, check_scalar
from ._posterior import blas_threads_for
from ._result import TurboVBIResult
from ._support import SupportGraph
from ._turbo_module_a import Hyper, module_a
from ._validation import (
    check_callback,
    check_design,
    check_noise_var,
    check_support_shape,
    check_transition,
    check_verbose,
)
from .sbl import TUNING as SBL_TUNING
from .sbl import _Problem, empty_result, run_sbl, zero_data_result

__all__ = ["turbo_vbi"]


@dataclasses.dataclass(frozen=True)
class _Tuning:
    # Gamma shapes of the slab and the spike precisions: 1 is a broad prior (an exponential),
    # so each active coefficient's amplitude is learned from the data
    slab_shape: float = 1.0
    spike_shape: float = 1.0
    # spike variance as a fraction of the noise variance per unit squared column norm: spike
    # coefficients are then invisible in the data; clipped to [1e-6, 1e-3] of the slab
    # variance, because a spike much narrower than that cannot be told from the slab by VB
    # (every coefficient is then declared active) and a wider one blurs the two
    spike_to_noise: float = 1e-3
    spike_ratio_min: float = 1e-6
    spike_ratio_max: float = 1e-3
    # starting noise variances, as fractions of the mean power of y (high to low)
    noise_starts: tuple = (1.0, 0.3, 0.1)
    # iterations of pattern-coupled SBL (coupling 1) that initialise the first start; each
    # later start continues that SBL run at its own noise level for `init_more` iterations
    init_iter: int = 30
    init_more: int = 10
    # the SBL initialisation leaves out of its E-steps coefficients adding less than this
    # fraction of the (fixed, starting) noise variance; EM shrinks them slowly, and they only
    # matter through the support the initialisation finds
    init_freeze: float = 0.1
    # SBL coefficients above this fraction of the largest make the initial support
    init_support: float = 0.1
    # the sparsity assumed for the slab's scale stays in this range
    sparsity_range: tuple = (0.02, 0.5)
    # iterations a start may take before the best start is chosen, and the change of the
    # posterior mean at which it stops (the chosen start is continued to `tol`)
    start_iter: int = 50
    start_tol: float = 1e-3
    # weight of the previous support prior in each new one (module B's output is damped)
    damping: float = 0.5
    # support priors stay inside [prior_clip, 1 - prior_clip]
    prior_clip: float = 1e-6
    # coefficients whose prior variance adds less than this fraction of the noise variance to
    # the data are left out of the E-step (their posterior is their prior)
    freeze: float = 1e-2
    # initial support beliefs of module A for coefficients in / out of the SBL support
    init_belief: tuple = (0.01, 0.9)


TUNING = _Tuning()

HISTORY_LABELS = {
    "neg_evidence_bound": "negative variational bound on -log p(y) [nats]",
    "relative_change": "relative change of the posterior mean ||mu_t - mu_(t-1)|| / ||mu_t||",
    "n_active": "coefficients with support probability > 0.5",
    "noise_var": "noise variance sigma^2 [units of y^2]",
    "start": "start (index of the starting noise level)",
    "continued": "1 on the iterations continuing the start with the highest bound",
}


@dataclasses.dataclass
class _State:
    """Everything one Turbo-VBI iteration reads and writes."""

    rho_mean: np.ndarray
    pi_prior: np.ndarray
    pi_post: np.ndarray
    noise_var: float
    transition: tuple
    hyper: Hyper
    slab_var: float
    graph: SupportGraph
    mean: np.ndarray
    result: dict | None = None  # the last iteration's outputs
    bound: float = -np.inf

    def copy(self) -> _State:
        graph = dataclasses.replace(self.graph)
        if graph._msg is not None:
            graph._msg = graph._msg.copy()
        return dataclasses.replace(self, rho_mean=self.rho_mean.copy(),
                                   pi_prior=self.pi_prior.copy(), pi_post=self.pi_post.copy(),
                                   graph=graph, mean=self.mean.copy(),
                                   result=dict(self.result) if self.result else None)


def _spike_rate(tuning, noise_var, slab_var, mean_col_sq):
    """``bbar`` such that the spike's mean precision ``abar / bbar`` is 1 / spike variance."""
    spike_var = tuning.spike_to_noise * noise_var / mean_col_sq
    spike_var = min(max(spike_var, tuning.spike_ratio_min * slab_var),
                    tuning.spike_ratio_max * slab_var)
    return tuning.spike_shape * spike_var


def _start(prob, col_sq, graph, noise_start, transition, mean, warm) -> _State:
    """Initial state of one start: pattern-coupled SBL at this noise level (continuing the
    previous start's SBL run, held in ``warm``), and priors scaled to the data."""
    t = TUNING
    m, n = prob.A.shape
    noise_var = noise_start
    coupling = 0.0 if graph.kind == "iid" else 1.0
    init = run_sbl(prob, coupling=coupling, update="em", noise_var=noise_var,
                   precision_prior=(0.0, 0.0), noise_prior=(0.0, 0.0), prune=None, tol=1e-4,
                   max_iter=t.init_more if warm else t.init_iter, graph=graph, record=False,
                   warm=warm, freeze=t.init_freeze)
    magnitude = np.abs(init.coef)
    top = magnitude.max()
    support = magnitude > t.init_support * top if top > 0 else np.zeros(n, bool)
    sparsity = float(np.clip(support.mean(), *t.sparsity_range))
    mean_col_sq = float(col_sq.mean())
    y_sq = prob.power * m
    energy = max(y_sq - m * noise_var, 0.1 * y_sq) / mean_col_sq
    slab_var = energy / (sparsity * n)
    hyper = Hyper(a=t.slab_shape, b=t.slab_shape * slab_var, abar=t.spike_shape,
                  bbar=_spike_rate(t, noise_var, slab_var, mean_col_sq))
    if transition is None:
        transition = graph.transition_from_support(support)
    p01, p10 = transition
    pi_prior = np.full(n, p01 / (p01 + p10))
    pi_post = np.where(support, t.init_belief[1], t.init_belief[0])
    rho_mean = 1.0 / np.maximum(magnitude**2 + 1e-3 * slab_var, 1e-300)
    return _State(rho_mean=rho_mean, pi_prior=pi_prior, pi_post=pi_post, noise_var=noise_var,
                  transition=tuple(transition), hyper=hyper, slab_var=slab_var, graph=graph,
                  mean=mean)


def _iterate(prob, col_sq, mean_col_sq, state: _State, learn_transition: bool,
             learn_noise: bool):
    """One Turbo-VBI iteration (module A, then module B) on ``state``, in place."""
    t = TUNING
    state.hyper.bbar = _spike_rate(t, state.noise_var, state.slab_var, mean_col_sq)
    step = module_a(prob, col_sq, state.rho_mean, state.pi_prior, state.pi_post,
                    state.noise_var, state.hyper, freeze=t.freeze, learn_noise=learn_noise,
                    noise_floor=SBL_TUNING.noise_floor * prob.power, old_mean=state.mean)
    # module A's extrinsic message to module B is step.nu
    extrinsic, posterior, counts = state.graph.messages(step.nu, state.transition)
    change = step.change
    state.result = {"step": step, "posterior": posterior, "transition": state.transition,
                    "change": change}
    state.bound = step.bound
    state.mean = step.mean
    state.rho_mean = step.rho_mean
    state.pi_post = step.pi_post
    state.noise_var = step.new_noise_var
    prior = t.damping * state.pi_prior
    prior += (1.0 - t.damping) * extrinsic
    state.pi_prior = np.clip(prior, t.prior_clip, 1.0 - t.prior_clip, out=prior)
    if learn_transition:
        state.transition = state.graph.update_transition(counts, posterior)
    return change


def turbo_vbi(A, y, *, support="chain", shape=None, transition=None, noise_var=None, tol=1e-6,
              max_iter=200, random_state=None, callback=None, verbose=0) -> TurboVBIResult:
    r"""Turbo variational Bayesian inference of a sparse ``x`` with a structured support.

    A hidden support :math:`s \in \{0, 1\}^N` with a structured prior decides, for each
    coefficient, between a slab (active) and a spike (inactive) Gamma prior on its precision:
    :math:`x_n \mid \rho_n \sim N(0, 1/\rho_n)`, :math:`\rho_n \mid s_n \sim
    \mathrm{Gamma}(a, b)^{s_n}\,\mathrm{Gamma}(\bar a, \bar b)^{1 - s_n}`. Module A runs
    variational Bayes for :math:`x`, :math:`\rho` and the noise given a support prior; module B
    runs sum-product on the support graph with module A's evidence and returns, for each
    coefficient, the prior its neighbours imply. The transition probabilities of the support
    are re-estimated by EM from module B's pairwise marginals.

    Parameters
    ----------
    A : array-like of shape (M, N)
        Design, real or complex.
    y : array-like of shape (M,)
        Observations, real or complex (a complex ``y`` with a real ``A`` is a complex
        problem). An all-zero ``y`` returns ``x = 0`` at once, with a warning.
    support : {"chain", "mrf", "iid"}, default="chain"
        Support model: a Markov chain along the coefficients (clusters in 1-D,
        forward-backward, exact); a Markov random field on an ``H x W`` grid (clusters in 2-D,
        loopy belief propagation); or independent coefficients.
    shape : (int, int), optional
        ``(H, W)`` of the grid for ``support="mrf"``, the coefficients in C order
        (``H * W = N``). Required for ``"mrf"``, refused otherwise.
    transition : (float, float), optional
        ``(p01, p10)``: probability that the support switches on after an inactive neighbour,
        and off after an active one (for ``"iid"``: ``(lambda, 1 - lambda)``). Learned by EM
        when ``None``; both must lie strictly between 0 and 1.
    noise_var : float, optional
        Fixed noise variance; learned when ``None``.
    tol : float, default=1e-6
        Stop when :math:`\|\mu_t - \mu_{t-1}\| / \|\mu_t\| <` ``tol``.
    max_iter : int, default=200
        Maximum number of Turbo-VBI iterations, over all starts (the SBL initialisations are
        not counted).
    random_state : None, int or numpy.random.Generator
        Seeds the small perturbation of each start's initial precisions (ties between
        identical columns are broken by it); the same seed gives the same result.
    callback : callable, optional
        ``callback(iteration, state)`` after every iteration; ``state`` is a dict with
        ``coef``, ``support_proba``, ``noise_var``, ``objective`` and ``criterion``.
    verbose : int or bool, default=0
        1: a summary line; 2: a line per iteration.

    Returns
    -------
    TurboVBIResult
        Posterior mean and variances, the prior and noise variances used, support
        probabilities, transition probabilities and the variational bound. The history records
        the negative bound, the relative change of the posterior mean, the number of
        coefficients with support probability above 1/2, the noise variance and the start.

    Raises
    ------
    ValueError
        Shapes that do not match, ``shape`` missing for ``"mrf"`` or not multiplying to ``N``,
        transition probabilities outside (0, 1), NaN or infinity.
    TypeError
        Arguments of the wrong kind.

    See Also
    --------
    sparse_bayesian_learning : classical and pattern-coupled SBL.

    Notes
    -----
    Several starts are run, each initialised by pattern-coupled SBL at a different noise level
    (from the power of ``y`` down to a tenth of it), for at most 50 iterations each; the one
    with the highest variational bound is then continued to convergence. The slab variance is
    scaled to the data and the spike variance to the noise. Coefficients whose prior variance
    adds less than 1% of the noise variance to the data are left out of the E-step (their
    posterior is their prior), which makes an iteration cost :math:`O(M^2 N_a)` or
    :math:`O(N_a^2 M)` with :math:`N_a` the coefficients solved.

    References
    ----------
    .. [1] A. Liu, G. Liu, L. Lian, V. K. N. Lau and M.-J. Zhao, "Robust recovery of structured
       sparse signals with uncertain sensing matrix: a Turbo-VBI approach", IEEE Trans.
       Wireless Communications 19(5), 2020.
    .. [2] C. Xia, D. H. K. Tsang and V. K. N. Lau, "Structured Bayesian compression for deep
       neural networks based on the Turbo-VBI approach", IEEE Trans. Signal Processing 71,
       2023.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.bayes import turbo_vbi
    >>> rng = np.random.default_rng(1)
    >>> A = rng.standard_normal((40, 100)) / np.sqrt(40)
    >>> x = np.zeros(100)
    >>> x[20:25] = [1.0, -1.5, 2.0, 1.0, -0.8]; x[70:75] = [-1.2, 1.0, 0.7, -1.0, 1.5]
    >>> y = A @ x + 0.02 * rng.standard_normal(40)
    >>> res = turbo_vbi(A, y, random_state=0)
    >>> res.support.tolist()
    [20, 21, 22, 23, 24, 70, 71, 72, 73, 74]
    >>> bool(np.linalg.norm(res.coef - x) < 0.02 * np.linalg.norm(x))
    True
    """
    A, y = check_design(A, y)
    m, n = A.shape
    support = check_one_of(support, "support", ("chain", "mrf", "iid"))
    shape = check_support_shape(support, shape, n)
    transition = check_transition(transition)
    noise_var = check_noise_var(noise_var)
    tol = check_scalar(tol, "tol", low=0.0)
    max_iter = check_int(max_iter, "max_iter", low=1)
    rng = check_random_state(random_state, "random_state")
    callback = check_callback(callback)
    verbose = check_verbose(verbose)
    extra = {"support_proba": np.zeros(n), "evidence_bound": np.nan,
             "transition": np.array(transition if transition is not None else (np.nan, np.nan))}
    if not np.any(y):
        return zero_data_result(TurboVBIResult, n, m, A.dtype, noise_var, **extra)
    if not np.any(A):
        return empty_result(TurboVBIResult, n, y, noise_var, "A is all zeros: y carries no "
                            "information about x; returning x = 0", **extra)
    prob = _Problem.make(A, y)
    with blas_threads_for(m, n):
        return _run(prob, support, shape, transition, noise_var, tol, max_iter, rng, callback,
                    verbose)


def _run(prob, support, shape, transition, noise_var, tol, max_iter, rng, callback, verbose):
    """The starts, then the best start continued; every iteration counts towards max_iter.

    The iterations form one sequence (each start's, then the continuation's), and each
    criterion compares with the previous iterate of that sequence, so that a run stopped at
    ``max_iter = k`` returns exactly the k-th iterate of a longer run.
    """
    t = TUNING
    A = prob.A
    n = A.shape[1]
    col_sq = np.einsum("ij,ij->j", A.real, A.real)
    if prob.is_complex:
        col_sq += np.einsum("ij,ij->j", A.imag, A.imag)
    col_sq = np.maximum(col_sq, 1e-300 * max(float(col_sq.max()), 1e-300))
    mean_col_sq = float(col_sq.mean())
    learn_noise = noise_var is None
    learn_transition = transition is None
    starts = [f * prob.power for f in t.noise_starts] if learn_noise else [noise_var]
    history = ConvergenceHistory(min(max_iter, 1024) + 1,
                                 ("n_active", "noise_var", "start", "continued"),
                                 criterion_name="relative_change",
                                 objective_name="neg_evidence_bound", labels=HISTORY_LABELS)
    counter = {"it": 0, "mean": np.zeros(n, A.dtype)}

    def run(state, index, budget, tol, continued=False):
        for _ in range(budget):
            counter["it"] += 1
            state.mean = counter["mean"]  # the sequence's previous iterate
            change = _iterate(prob, col_sq, mean_col_sq, state, learn_transition, learn_noise)
            counter["mean"] = state.mean
            _report(history, counter["it"], state, index, continued, change, callback,
                    verbose)
            if change < tol:
                return True
        return False

    best = None
    warm: dict = {}
    for index, start_noise in enumerate(starts):
        state = _start(prob, col_sq, SupportGraph(support, n, shape), start_noise, transition,
                       counter["mean"], warm)
        # breaks ties between identical columns reproducibly
        state.rho_mean *= 1.0 + 1e-9 * rng.random_sample(n)
        run(state, index, min(t.start_iter, max_iter - counter["it"]), max(tol, t.start_tol))
        if best is None or state.bound > best[0]:
            best = (state.bound, index, state.copy())
        if counter["it"] >= max_iter:
            return _result(state, history, counter["it"], False, verbose)
    _, index, state = best
    converged = run(state, index, max_iter - counter["it"], tol, continued=True)
    return _result(state, history, counter["it"], converged, verbose)


def _report(history, it, state, index, continued, change, callback, verbose):
    step = state.result["step"]
    posterior = state.result["posterior"]
    n_active = int(np.count_nonzero(posterior > 0.5))
    history.record(it, objective=-step.bound, criterion=change, n_active=n_active,
                   noise_var=step.noise_var, start=index, continued=float(continued))
    if verbose >= 2:
        print(f"Turbo-VBI iteration {it} (start {index}): bound={step.bound:.6g}, "
              f"change={change:.3e}, active={n_active}, noise_var={step.noise_var:.4g}")
    if callback is not None:
        callback(it, {"coef": step.mean, "support_proba": posterior,
                      "noise_var": step.noise_var, "objective": -step.bound,
                      "criterion": change})


def _result(state, history, it, converged, verbose) -> TurboVBIResult:
    step = state.result["step"]
    posterior = state.result["posterior"]
    support = np.flatnonzero(posterior > 0.5).astype(np.int64)
    if verbose >= 1:
        status = "converged" if converged else "stopped at max_iter"
        print(f"turbo_vbi {status} after {it} iterations: {support.size} active coefficients, "
              f"noise_var={step.noise_var:.4g}")
    return TurboVBIResult(coef=step.mean, posterior_var=step.var, prior_var=step.gamma,
                          noise_var=float(step.noise_var), support=support,
                          log_evidence=-step.neg_log_evidence, support_proba=posterior,
                          transition=np.array(state.result["transition"], dtype=float),
                          evidence_bound=float(step.bound), converged=bool(converged),
                          n_iter=it, history=history)
