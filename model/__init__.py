"""legnumb: a Bayesian network that ranks the likely causes of leg numbness.

Decision support, not a diagnosis.
"""

__version__ = "0.1.0"
