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
from legnumb.diagnosis.model import Diagnosis, Model, load_model
from legnumb.errors import EvidenceError, InputError, LegnumbError, PriorsError

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
