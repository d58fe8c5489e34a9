"""Turbo-VBI's module A: variational Bayes for ``x``, the precisions and the noise, given the
support prior ``pi`` that module B sends.

Hierarchical prior (Liu et al.; Xia, Tsang and Lau): ``x_n | rho_n ~ N(0, 1 / rho_n)``,
``rho_n | s_n = 1 ~ Gamma(a, b)`` (slab) and ``rho_n | s_n = 0 ~ Gamma(abar, bbar)`` (spike,
``abar / bbar >> a / b``), ``s_n ~ Bernoulli(pi_n)``. One pass of module A:

* ``q(x) = N(mu, Sigma)`` with ``Sigma = (diag E[rho] + A^H A / sigma^2)^-1`` (the Gaussian
  E-step with ``gamma = 1 / E[rho]``);
* ``q(rho_n) = Gamma(a~, b~)``, ``a~ = pi~ a + (1 - pi~) abar + h``,
  ``b~ = pi~ b + (1 - pi~) bbar + h E|x_n|^2`` (``h = 1/2`` real, 1 complex);
* ``logit pi~_n = logit pi_n + l1_n - l0_n`` with ``l1 = a ln b - ln Gamma(a) + (a - 1) E ln rho
  - b E rho`` and ``l0`` the same with ``abar, bbar``; ``l1 - l0`` is the evidence module A
  sends back (the part of ``pi~`` that ``pi`` did not already say);
* the noise variance ``sigma^2 = E||y - A x||^2 / M`` (a point estimate).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ._kernels import precision_update
from ._posterior import gaussian_posterior, posterior_step
from ._step_kernels import Design, select_columns
from .sbl import relative_change

# the support evidence is clipped to this many nats either way: the messages stay strictly
# inside (0, 1) in floating point, and one coefficient cannot lock its state for good
EVIDENCE_CLIP = 30.0
_LN_PI = math.log(math.pi)
_LN_2PI = math.log(2.0 * math.pi)


@dataclasses.dataclass
class Hyper:
    """Gamma parameters of the slab and the spike, scaled to the data."""

    a: float
    b: float
    abar: float
    bbar: float


@dataclasses.dataclass
class StepA:
    """What one pass of module A produced."""

    mean: np.ndarray
    var: np.ndarray
    gamma: np.ndarray  # the prior variances 1 / E[rho] the E-step used
    noise_var: float  # the noise variance the E-step used
    n_solved: int  # coefficients in the E-step (the others are frozen at their prior)
    evidence: np.ndarray  # l1 - l0, clipped
    nu: np.ndarray  # 1 / (1 + exp(-evidence)): the extrinsic message to module B
    rho_mean: np.ndarray  # E[rho] after the update
    pi_post: np.ndarray  # pi~ after the update
    new_noise_var: float
    bound: float  # the variational lower bound at this state
    neg_log_evidence: float  # Gaussian -log p(y) of the solved coefficients
    change: float  # relative change of the mean from the previous one


def module_a(prob, col_sq, rho_mean, pi_prior, pi_post, noise_var, hyper: Hyper, *,
             freeze: float, learn_noise: bool, noise_floor: float,
             old_mean: np.ndarray) -> StepA:
    """One pass of module A from ``E[rho]``, the prior ``pi`` and the previous ``pi~``;
    ``old_mean`` is the previous posterior mean (``StepA.change`` is measured from it)."""
    A, y, h = prob.A, prob.y, prob.half
    m, n = A.shape
    gamma = 1.0 / rho_mean
    # a coefficient whose prior variance adds less than `freeze` of the noise variance to the
    # data is left out of the E-step: its posterior is its prior, N(0, gamma_n)
    real = not prob.is_complex
    # (complex data: the kernel selects only, on no columns of its own)
    solved, frozen, B = select_columns(A if real else np.empty((m, 0)), gamma, col_sq,
                                       freeze * noise_var, -1 if real else n)
    if real:
        post, mean, var, second, frozen_sq, log_gamma, change = posterior_step(
            Design(A, y, col_sq), solved, frozen, gamma, noise_var, old_mean, B=B)
    else:
        post = gaussian_posterior(A[:, solved], y, gamma[solved], noise_var)
        mean = np.zeros(n, A.dtype)
        mean[solved] = post.mean
        var = gamma.copy()
        var[solved] = post.var
        second = mean.real**2 + var
        second += mean.imag**2
        frozen_sq = float(gamma[frozen] @ col_sq[frozen])
        log_gamma = float(np.log(gamma).sum())
        change = relative_change(mean, old_mean)
    new_rho, evidence, nu, new_pi_post, s_x, s_rho, s_s, s_ent = precision_update(
        second, pi_prior, pi_post, hyper.a, hyper.b, hyper.abar, hyper.bbar, h, EVIDENCE_CLIP)
    expected_sq = post.residual_sq + noise_var * post.dof + frozen_sq  # E||y - A x||^2
    new_noise = max(expected_sq / m, noise_floor) if learn_noise else noise_var
    # the bound at the state the E-step used (noise_var) and the updated q(rho), q(s)
    ln_c = _LN_PI if prob.is_complex else _LN_2PI
    log_noise = math.log(noise_var)
    log_det_sigma = log_gamma + m * log_noise - post.log_det_c
    bound = (-h * m * (ln_c + log_noise) - h * expected_sq / noise_var
             + s_x - h * n * ln_c + s_rho + s_s + h * (log_det_sigma + n * (1.0 + ln_c))
             + s_ent)
    nle = (m * _LN_PI if prob.is_complex else 0.5 * m * _LN_2PI) \
        + (1.0 if prob.is_complex else 0.5) * (post.log_det_c + post.quad)
    return StepA(mean=mean, var=var, gamma=gamma, noise_var=noise_var, n_solved=solved.size,
                 evidence=evidence, nu=nu, rho_mean=new_rho, pi_post=new_pi_post,
                 new_noise_var=new_noise, bound=bound, neg_log_evidence=float(nle),
                 change=change)
