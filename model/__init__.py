"""legnumb: a Bayesian network that ranks the likely causes of leg numbness.

Decision support, not a diagnosis: posteriors help a clinician or researcher think, and red
flags are always reported whatever the posteriors say.

>>> from legnumb import load_model
>>> m = load_model()
>>> m.causes[:3]
('positional_compression', 'sciatica', 'spinal_stenosis')
"""

__version__ = "0.1.0"

from legnumb.data import DISCLAIMER
from legnumb.errors import EvidenceError, InputError, LegnumbError, PriorsError

#: Names imported on first use: the model pulls in pgmpy (seconds), which ``legnumb --help``
#: and an early Ctrl-C should not wait for.
_LAZY = {name: "legnumb.diagnosis.model" for name in ("Diagnosis", "Model", "load_model")}


def __getattr__(name: str):
    """Import the model's public names on first use."""
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'legnumb' has no attribute {name!r}")


__all__ = [
    "DISCLAIMER",
    "Diagnosis",
    "EvidenceError",
    "InputError",
    "LegnumbError",
    "Model",
    "PriorsError",
    "__version__",
    "load_model",
]
