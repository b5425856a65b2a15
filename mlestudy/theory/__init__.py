"""Theory the simulation is compared with: exact finite-sample results where they
exist, expected information and bounds, and first-order approximations (always
labelled as such, never judged as exact).

Regression models with covariates (logistic, Poisson, softmax; issues 9 and 10):

- :mod:`.design_laws` -- the feature laws of a random design row x = (1, z_1..z_d):
  ``normal`` (equicorrelation rho), ``uniform`` on (-sqrt 3, sqrt 3), ``bernoulli`` (0.5).
- :mod:`.design_quadrature` -- expectations over those laws, converged to 1e-11
  (index-reduced Gauss-Hermite, product Gauss-Legendre, enumeration).
- :mod:`.glm_families` -- the canonical-link response laws and the parameter order.
- :mod:`.glm_information` -- I_1 = E[V (x) xx'], X'WX, and the CRLBs (exact).
- :mod:`.glm_bias` -- the Cordeiro-McCullagh O(1/n) bias (APPROXIMATE).
- :mod:`.least_squares` -- the least-squares sandwich and its efficiency (asymptotic).
- :mod:`.separation_probability` -- the exact probability that the logistic MLE
  exists with one Bernoulli feature.

Conventions shared by all of them: ``family`` is 'logistic', 'poisson' or
'softmax'; ``beta`` is (p,) with beta[0] the intercept, or (K-1, p) for softmax
with row k-1 the coefficients of class k (class 0 the reference); vectors and
matrices are in the flat order beta[j], or beta[k, j] row-major (k major);
``features`` and ``correlation`` name the design law, and a fixed design is
passed as its (n, p) matrix X with the intercept column.  The random-design
functions are cached pure functions of (family, beta, features, correlation).
"""
