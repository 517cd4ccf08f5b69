"""Layer kinds: :data:`REGISTRY` maps every ``type:`` to its class.

One module per family; one registered class per ``type:`` (docs/extending.md lists what a kind answers). A kind's
module is imported the first time the kind is looked up (:mod:`convcalc.layers.registry`), so that a command pays
only for the kinds its network uses.
"""

from .base import REGISTRY, Layer, register  # noqa: F401

__all__ = ["REGISTRY", "Layer", "register"]
