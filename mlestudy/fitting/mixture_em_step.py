"""One EM step for 1-D normal mixtures over many rows, in cache-sized chunks.

The step is memory-bound: about fifteen passes over an array of (rows x K x n)
values.  Allocating that array afresh every step costs more than the
arithmetic (the pages are faulted in each time), so the step works through the
rows in chunks that fit in cache, with two buffers allocated once per fit and
reused.  Rows are independent, so the chunking never changes a result.
"""

from __future__ import annotations

import numpy as np

from .mixture_model import LOG_2PI, FloatArray

CHUNK_ELEMENTS = 1 << 16
"""Values (rows x K x n) per chunk: two float64 buffers of 512 KiB, which stay in a 1 MiB L2 cache."""


class EMStep:
    """The EM map theta -> M(theta) on stacked parameters (B, 3, K): rows (weights, means, variances).

    E-step: the stable log-sum-exp (each point's largest log-joint subtracted
    before exponentiating), whose exponentials give the responsibilities r_ik.
    M-step: N_k = sum_i r_ik, w_k = N_k / n, and the weighted mean and variance
    from the moments of d_ik = x_i - m_k about the *old* mean,

        m_k' = m_k + S1/N_k,  v_k' = S2/N_k - (S1/N_k)^2,   S_a = sum_i r_ik d_ik^a,

    which is the two-pass weighted variance about m_k' rewritten (exact
    algebra); it loses no digits near convergence, where S1/N_k -> 0.
    """

    def __init__(self, n_components: int, n: int, chunk_elements: int | None = None) -> None:
        per_chunk = CHUNK_ELEMENTS if chunk_elements is None else chunk_elements
        self.rows = max(1, per_chunk // (n_components * n))
        self._a = np.empty((self.rows, n_components, n))
        self._d = np.empty((self.rows, n_components, n))

    def __call__(self, z: FloatArray, theta: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Log-likelihood at ``theta`` (B,) and the updated parameters (B, 3, K) for data z (B, n)."""
        b = z.shape[0]
        ll = np.empty(b)
        new = np.empty_like(theta)
        for start in range(0, b, self.rows):
            stop = min(start + self.rows, b)
            ll[start:stop] = self._chunk(z[start:stop], theta[start:stop], new[start:stop])
        return ll, new

    def _chunk(self, z: FloatArray, theta: FloatArray, out: FloatArray) -> FloatArray:
        rows = z.shape[0]
        a, d = self._a[:rows], self._d[:rows]
        w, m, v = theta[:, 0, :], theta[:, 1, :], theta[:, 2, :]
        np.subtract(z[:, None, :], m[:, :, None], out=d)
        np.multiply(d, d, out=a)
        a *= (-0.5 / v)[:, :, None]
        a += (np.log(w) - 0.5 * (LOG_2PI + np.log(v)))[:, :, None]
        top = a.max(axis=1)
        a -= top[:, None, :]
        np.exp(a, out=a)
        total = a.sum(axis=1)
        a /= total[:, None, :]
        np.log(total, out=total)
        total += top
        counts = a.sum(axis=-1)
        s1 = np.einsum("bkn,bkn->bk", a, d)
        a *= d
        s2 = np.einsum("bkn,bkn->bk", a, d)
        shift = s1 / counts
        out[:, 0, :] = counts / counts.sum(axis=-1, keepdims=True)
        out[:, 1, :] = m + shift
        out[:, 2, :] = s2 / counts - shift * shift
        return total.sum(axis=-1)
