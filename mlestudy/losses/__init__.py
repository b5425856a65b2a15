"""The loss-function chapter's experiments: losses are likelihoods, measured on the run's own data.

- :mod:`.classification`: cross-entropy and squared error of a binary classifier on the
  logit scale, their derivatives and curvature bounds.
- :mod:`.gradient_descent`: full-batch gradient descent on both, over replications at once.
- :mod:`.underflow`: the sample size at which a raw likelihood underflows in float64.
- :mod:`.stable`: naive, clipped and stable forms of the binary cross-entropy, log-sum-exp
  and softmax, against an extended-precision reference.
- :mod:`.data`: the scenarios' replications, regenerated from their keyed streams.
- :mod:`.jobs` and :mod:`.figures`: what the chapter's workflow jobs write.

The report's chapter is built from these tables by :mod:`mlestudy.chapter`.
"""
