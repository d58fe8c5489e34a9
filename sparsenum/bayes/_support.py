"""The support graph of Turbo-VBI's module B: messages, neighbour sums and the EM of ``p01, p10``.

Three supports share one parameterisation, the transition pair ``(p01, p10)`` of a stationary
two-state chain (``pi1 = p01 / (p01 + p10)`` is the probability of being active):

* ``"chain"``: a Markov chain along the coefficients (forward-backward, exact);
* ``"mrf"``: a Markov random field on an ``H x W`` grid in C order whose pairwise potential is
  the chain's joint ``pi_a T[a, b]`` over the marginals (loopy belief propagation); an
  ``H x 1`` grid is the chain;
* ``"iid"``: independent coefficients, the chain with ``p01 + p10 = 1``, i.e.
  ``(lambda, 1 - lambda)``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ._kernels import chain_messages, grid_messages

# learned transition probabilities stay in [_CLIP, 1 - _CLIP]: a probability of exactly 0 or 1
# would make a support state impossible for every later iteration
_CLIP = 1e-3
# loopy BP: damping of the messages, the change at which a sweep is converged, sweeps at most
_BP_DAMPING = 0.5
_BP_TOL = 1e-9
_BP_SWEEPS = 200


@dataclasses.dataclass
class SupportGraph:
    kind: str  # "chain", "mrf" or "iid"
    n: int
    shape: tuple[int, int] | None = None
    _msg: np.ndarray | None = None  # loopy BP messages, warm-started across calls

    @property
    def grid(self) -> tuple[int, int]:
        """``(height, width)`` of the grid the kernels see: ``1 x N`` for the chain, the shape
        for the field, and width 0 (no neighbours) for ``"iid"``."""
        if self.kind == "mrf":
            return self.shape
        return (1, self.n) if self.kind == "chain" else (1, 0)

    def neighbour_sum(self, v: np.ndarray) -> np.ndarray:
        """Sum of ``v`` over each coefficient's neighbours (0 for ``"iid"``); SBL's update
        (``_step_kernels.sbl_variances``) sums them on ``grid`` in the same order."""
        out = np.zeros_like(v)
        if self.kind == "chain":
            out[1:] += v[:-1]
            out[:-1] += v[1:]
        elif self.kind == "mrf":
            g = v.reshape(self.shape)
            o = out.reshape(self.shape)
            o[1:, :] += g[:-1, :]
            o[:-1, :] += g[1:, :]
            o[:, 1:] += g[:, :-1]
            o[:, :-1] += g[:, 1:]
        return out

    def messages(self, nu: np.ndarray, transition: tuple[float, float]):
        """``(extrinsic, posterior, counts)`` for the evidence ``nu`` (see ``_kernels``)."""
        p01, p10 = transition
        if self.kind == "chain":
            return chain_messages(nu, p01, p10)
        if self.kind == "mrf":
            if self._msg is None:
                self._msg = np.full((4, *self.shape), 0.5)
            ext, post, counts, _ = grid_messages(nu.reshape(self.shape), p01, p10, self._msg,
                                                 _BP_DAMPING, _BP_TOL, _BP_SWEEPS)
            return ext, post, counts
        lam = p01 / (p01 + p10)
        ext = np.full(self.n, lam)
        post = lam * nu / (lam * nu + (1.0 - lam) * (1.0 - nu))
        return ext, post, None

    def update_transition(self, counts, posterior) -> tuple[float, float]:
        """EM update of ``(p01, p10)`` from the expected pair counts (or, for ``"iid"``, of
        ``lambda`` from the posterior marginals)."""
        if self.kind == "iid":
            lam = float(np.clip(posterior.mean(), _CLIP, 1.0 - _CLIP))
            return lam, 1.0 - lam
        if self.kind == "mrf":  # undirected edges: both orientations count
            counts = 0.5 * (counts + counts.T)
        (c00, c01), (c10, c11) = counts.tolist()
        p01 = c01 / max(c00 + c01, 1e-300)
        p10 = c10 / max(c10 + c11, 1e-300)
        return min(max(p01, _CLIP), 1.0 - _CLIP), min(max(p10, _CLIP), 1.0 - _CLIP)

    def transition_from_support(self, active: np.ndarray) -> tuple[float, float]:
        """Transition pair estimated from a 0/1 support, with one pseudo-count per pair so that
        an empty or full support still gives probabilities inside (0, 1)."""
        s = active.astype(float)
        if self.kind == "iid":
            lam = float(np.clip((s.sum() + 1.0) / (self.n + 2.0), _CLIP, 1.0 - _CLIP))
            return lam, 1.0 - lam
        counts = np.ones((2, 2))
        pairs = [(s[:-1], s[1:])] if self.kind == "chain" else []
        if self.kind == "mrf":
            g = s.reshape(self.shape)
            pairs = [(g[:-1, :].ravel(), g[1:, :].ravel()), (g[:, :-1].ravel(), g[:, 1:].ravel())]
        for a, b in pairs:
            counts[0, 0] += np.sum((1 - a) * (1 - b))
            counts[0, 1] += np.sum((1 - a) * b)
            counts[1, 0] += np.sum(a * (1 - b))
            counts[1, 1] += np.sum(a * b)
        return self.update_transition(counts, None)
