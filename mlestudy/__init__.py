"""mlestudy: what the theory of maximum likelihood promises, simulated.

The science of the study: families (sampler, log-likelihood, MLE, Fisher
information, exact moments), keyed seeding, simulation, performance measures
with Monte Carlo standard errors, figures and the report.  The Snakemake rules,
the scripts and the tests all call these same functions.
"""
