"""Numerical maximum likelihood, to confirm each model's MLE independently.

The optimiser sees only the model's log-likelihood and parameter domains: it
maximises over unconstrained coordinates (log for positive parameters, logit for
probabilities) from a fixed starting point that ignores the data, so agreement
with the MLE is evidence, not an echo.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import optimize

from .families import Family
from .models.base import Data, FloatArray, Model
from .simulate import as_model, iter_data
from .status import Status

CHECK_COLUMNS = [
    "scenario",
    "n",
    "replication",
    "parameter",
    "closed_form",
    "numerical",
    "abs_diff",
    "boundary",
    "converged",
]


def numerical_mle(
    model: Model | Family, raw: Data | FloatArray, theta: Mapping[str, float] | None = None
) -> tuple[dict[str, float], bool]:
    """Maximise the log-likelihood of one replication's raw data with scipy.

    ``raw`` is one replication (arrays with a leading axis of length 1, or a
    1-d sample of an i.i.d. family).  Returns the optimum and whether the
    optimiser reported success.
    """
    if isinstance(model, Family):  # the unfrozen family: any theta binds it
        model = model.bind(theta or {p.name: p.start for p in model.parameters})
    if not isinstance(raw, dict):
        raw = {"x": np.asarray(raw)[None, :]}
    names = model.parameter_names
    domains = [model.domains[p] for p in names]
    z0 = np.array([float(d.to_unconstrained(d.start)) for d in domains])

    def negloglik(z: FloatArray) -> float:
        theta = {p: np.array([d.from_unconstrained(zi)]) for p, d, zi in zip(names, domains, z, strict=True)}
        value = float(model.loglik(raw, theta)[0])
        return -value if np.isfinite(value) else 1e300

    with np.errstate(all="ignore"):
        res = optimize.minimize(negloglik, z0, method="BFGS", options={"gtol": 1e-10, "maxiter": 500})
        if not res.success:
            # fatol is absolute: 1e-12 is near float precision for a log-likelihood of order 10-1000.
            nm = {"xatol": 1e-10, "fatol": 1e-12, "maxiter": 4000}
            res = optimize.minimize(negloglik, res.x, method="Nelder-Mead", options=nm)
    theta = {p: float(d.from_unconstrained(zi)) for p, d, zi in zip(names, domains, res.x, strict=True)}
    return theta, bool(res.success)


def check_closed_form(
    model: Model | Family,
    theta: Mapping[str, float] | None = None,
    *,
    seed: int,
    scenario: str,
    sample_sizes: tuple[int, ...],
    replications: int,
) -> pd.DataFrame:
    """The model's MLE vs a numerical optimum, on the study's own first replications.

    The data are regenerated from the same keyed streams as the simulation, so
    the rows compared are exactly replications 0..replications-1 of the study.
    Boundary cases (p-hat = 0, sigma2-hat = 0) are kept and flagged: there the
    optimiser can only approach the edge, so the difference is reported apart.
    Replications without an MLE (failed status) are listed with NaN.
    """
    model = as_model(model, theta)
    mle = model.mle()
    rows = []
    if not model.numerical_check:
        return pd.DataFrame(columns=CHECK_COLUMNS)
    for n in sample_sizes:
        for first, raw in iter_data(model, seed=seed, scenario=scenario, n=n, first=0, stop=replications):
            fit = mle.fit(model, model.reduce(raw, n), n)
            for i in range(len(fit.status)):
                one = {k: v[i : i + 1] for k, v in raw.items()}
                numeric, success = numerical_mle(model, one)
                for p in mle.parameters(model):
                    c, m = float(fit.values[p][i]), numeric[p]
                    rows.append(
                        {
                            "scenario": scenario,
                            "n": n,
                            "replication": first + i,
                            "parameter": p,
                            "closed_form": c,
                            "numerical": m,
                            "abs_diff": abs(c - m),
                            "boundary": bool(fit.status[i] == Status.BOUNDARY),
                            "converged": success,
                        }
                    )
    return pd.DataFrame(rows)
