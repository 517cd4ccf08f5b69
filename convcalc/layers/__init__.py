"""Layer kinds. Importing this package registers every kind in :data:`REGISTRY`.

One module per family; one registered class per ``type:`` (see ../shared/STYLE.md and docs/extending.md).
"""

from .base import REGISTRY, Layer, register  # noqa: F401
# registration side effects:
from . import conv, elementwise, linear, merge, pool, pool_extra, resample, variants  # noqa: F401

__all__ = ["REGISTRY", "Layer", "register"]
