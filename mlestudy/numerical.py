"""Numerical maximum likelihood, to confirm the closed forms independently.

The optimiser sees only the family's log-likelihood and parameter ranges: it
maximises over unconstrained coordinates (log for positive parameters, logit for
probabilities) from a fixed starting point that ignores the data, so agreement
with the closed-form MLE is evidence, not an echo.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import optimize

from .families import Family, Status
from .families.base import FloatArray, Theta
from .simulate import iter_data


def numerical_mle(family: Family, x: FloatArray) -> tuple[dict[str, float], bool]:
    """Maximise the log-likelihood of one sample ``x`` (1-d) with scipy.

    Returns the optimum and whether the optimiser reported success.
    """
    params = family.parameters
    z0 = np.array([float(p.to_unconstrained(p.start)) for p in params])
    row = x[None, :]

    def negloglik(z: FloatArray) -> float:
        theta = {p.name: np.array([p.from_unconstrained(zi)]) for p, zi in zip(params, z, strict=True)}
        value = float(family.loglik(row, theta)[0])
        return -value if np.isfinite(value) else 1e300

    with np.errstate(all="ignore"):
        res = optimize.minimize(negloglik, z0, method="BFGS", options={"gtol": 1e-10, "maxiter": 500})
        if not res.success:
            # fatol is absolute: 1e-12 is near float precision for a log-likelihood of order 10-1000.
            nm = {"xatol": 1e-10, "fatol": 1e-12, "maxiter": 4000}
            res = optimize.minimize(negloglik, res.x, method="Nelder-Mead", options=nm)
    theta = {p.name: float(p.from_unconstrained(zi)) for p, zi in zip(params, res.x, strict=True)}
    return theta, bool(res.success)


def check_closed_form(
    family: Family,
    theta: Theta,
    *,
    seed: int,
    scenario: str,
    sample_sizes: tuple[int, ...],
    replications: int,
) -> pd.DataFrame:
    """Closed-form vs numerical MLE on the study's own first replications.

    The data are regenerated from the same keyed streams as the simulation, so
    the rows compared are exactly replications 0..replications-1 of the study.
    Boundary cases (p-hat = 0, sigma2-hat = 0) are kept and flagged: there the
    optimiser can only approach the edge, so the difference is reported apart.
    """
    rows = []
    for n in sample_sizes:
        for first, x in iter_data(
            family, theta, seed=seed, scenario=scenario, n=n, first=0, stop=replications
        ):
            closed = family.fit(x)["mle"]
            for i in range(x.shape[0]):
                numeric, success = numerical_mle(family, x[i])
                for p in family.estimator("mle").parameters:
                    c, m = float(closed.values[p][i]), numeric[p]
                    rows.append(
                        {
                            "scenario": scenario,
                            "n": n,
                            "replication": first + i,
                            "parameter": p,
                            "closed_form": c,
                            "numerical": m,
                            "abs_diff": abs(c - m),
                            "boundary": bool(closed.status[i] == Status.BOUNDARY),
                            "converged": success,
                        }
                    )
    return pd.DataFrame(rows)
