"""Batched fitting kernels shared by every model without a closed-form MLE.

Each kernel fits all replications of a batch at once (arrays with replications
on the first axis) and returns per-replication estimates, standard errors and
:class:`~mlestudy.status.Status` codes; no per-replication Python loop.
"""
