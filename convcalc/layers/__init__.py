"""Layer kinds. Importing this package registers every kind in :data:`REGISTRY`.

One module per family; one registered class per ``type:`` (docs/extending.md lists what a kind answers).
"""

from .base import REGISTRY, Layer, register  # noqa: F401
# registration side effects:
from . import (channel, conv, deformable, elementwise, excitation, factorised, linear, merge, norm,  # noqa: F401
               placeholder, pool, resample, reshape, scale, unshared)

__all__ = ["REGISTRY", "Layer", "register"]
