"""Batched fitting kernels shared by every model without a closed-form MLE.

Each kernel fits all replications of a batch at once (arrays with replications
on the first axis) and returns per-replication estimates, standard errors and
:class:`~mlestudy.status.Status` codes; no per-replication Python loop.

- :mod:`.newton`: the generic batched Newton / Fisher-scoring driver.
- :mod:`.design`: pair products and weighted Gram matrices X'WX.
- :mod:`.glm`: logistic, Poisson and softmax regression, and least squares on a
  binary outcome.
- :mod:`.separation`: whether the MLE exists (rank; separation by linear programs).
"""
