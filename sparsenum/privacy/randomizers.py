"""Duchi, Jordan and Wainwright's randomiser of vectors in an l2 ball (pure epsilon-LDP).

A user holding ``v`` with ``||v|| <= r`` sends a point ``Z`` of the sphere of radius ``B``: ``v`` is
first rounded to ``v~ = +-r v/||v||`` (``+`` with probability ``1/2 + ||v||/(2r)``), then ``Z`` is
drawn uniformly on the hemisphere ``{<Z, v~> > 0}`` with probability ``e^eps/(e^eps + 1)`` and on
the other one otherwise. With ``B`` below, ``E[Z] = v``; the densities of ``Z`` under two inputs
differ by at most ``e^eps`` (with equality for ``v`` and ``-v`` on the sphere).
"""

from __future__ import annotations

import math

import numpy as np

from ..utils import WAKE_UP_WORK, check_array, random_seed
from ..utils._threads import run_split
from ._hooks import noise_enabled
from ._kernels import N_CHUNKS, duchi_rows
from ._normal import ZIGGURAT
from ._validation import check_bound, check_epsilon

__all__ = ["duchi_randomizer", "duchi_sphere_radius"]


def duchi_sphere_radius(dim, epsilon, radius) -> float:
    """Norm ``B`` of every message of :func:`duchi_randomizer` (what makes it unbiased).

    ``B = r (e^eps + 1)/(e^eps - 1) sqrt(pi) Gamma((d + 1)/2) / Gamma(d/2)``, about
    ``r sqrt(pi d/2) (e^eps + 1)/(e^eps - 1)`` for large ``d``.

    Parameters
    ----------
    dim : int
        Dimension ``d`` of the vectors, >= 1.
    epsilon : float
        Privacy parameter, > 0.
    radius : float
        Clipping radius ``r``, > 0.

    Returns
    -------
    B : float

    Examples
    --------
    >>> from sparsenum.privacy import duchi_sphere_radius
    >>> round(duchi_sphere_radius(1, 1.0, 1.0), 4)  # d = 1: randomised response on {-B, B}
    2.164
    """
    from ..utils import check_int

    dim = check_int(dim, "dim", low=1)
    epsilon = check_epsilon(epsilon)
    radius = check_bound(radius, "radius")
    ratio = math.exp(math.lgamma((dim + 1) / 2.0) - math.lgamma(dim / 2.0))
    return radius / math.tanh(epsilon / 2.0) * math.sqrt(math.pi) * ratio


def duchi_randomizer(G, epsilon, radius, *, random_state=None, n_jobs=None) -> np.ndarray:
    """Privatise each row of ``G`` with Duchi et al.'s l2-ball randomiser (epsilon-LDP).

    Row ``i`` is one user's vector; its message is drawn from a random stream private to
    ``(random_state, i)``, so the output does not depend on ``n_jobs``. Rows longer than
    ``radius`` are first scaled to norm ``radius`` (a clipping bias: the message is then
    unbiased for the clipped vector, not for the row).

    Parameters
    ----------
    G : array-like of shape (n_users, d)
        The users' vectors (finite).
    epsilon : float
        Per-user privacy budget, > 0 and finite; each message is ``epsilon``-LDP.
    radius : float
        Public bound ``r`` on the norms, > 0.
    random_state : None, int, RandomState or Generator, default=None
        Seeds the users' streams.
    n_jobs : int, optional
        Threads (numba); the result is the same for any value.

    Returns
    -------
    Z : ndarray of shape (n_users, d)
        Messages, each of norm :func:`duchi_sphere_radius` ``(d, epsilon, radius)``; ``E[Z_i]`` is
        row ``i`` of ``G`` (clipped to ``radius``).

    Raises
    ------
    ValueError, TypeError
        If ``G`` is not a finite 2-D array or a parameter is out of range.

    References
    ----------
    Duchi, J. C., Jordan, M. I. and Wainwright, M. J. (2018). Minimax optimal procedures for
    locally private estimation. JASA 113(521), 182-201.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.privacy import duchi_randomizer, duchi_sphere_radius
    >>> G = np.tile([0.6, 0.0, 0.0], (100_000, 1))
    >>> Z = duchi_randomizer(G, epsilon=1.0, radius=1.0, random_state=0)
    >>> np.allclose(np.linalg.norm(Z, axis=1), duchi_sphere_radius(3, 1.0, 1.0))
    True
    >>> np.round(Z.mean(axis=0), 1)  # unbiased: the mean approaches the row
    array([ 0.6,  0. , -0. ])
    """
    G = check_array(G, "G", ndim=2)
    epsilon = check_epsilon(epsilon)
    radius = check_bound(radius, "radius")
    seed = random_seed(random_state)
    n, d = G.shape
    big = duchi_sphere_radius(d, epsilon, radius)
    keep = 1.0 / (1.0 + math.exp(-epsilon))
    Z = np.empty((n, d))
    clipped = np.zeros(n, dtype=np.bool_)
    run_split(duchi_rows, (G, radius, big, keep, np.uint64(seed), noise_enabled(), ZIGGURAT, Z,
                           clipped), N_CHUNKS, n_jobs, 20.0 * n * d, WAKE_UP_WORK)
    return Z
