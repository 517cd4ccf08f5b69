"""convcalc: exact FLOP, MAC, parameter, memory and receptive-field calculator for CNNs described in YAML.

    >>> import convcalc
    >>> report = convcalc.analyze(convcalc.load("resnet50"))
    >>> report.totals.macs
    4089184256
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["load", "analyze", "__version__"]


def load(source):
    """Read a spec from a path, a shipped config name (``resnet50``), a YAML string or a dict."""
    from .spec.loader import load as _load

    return _load(source)


def analyze(network, **overrides):
    """Analyse a network (or a path / name / dict). Keyword arguments override vars, ``batch`` and ``input``."""
    from .cost.analysis import analyze as _analyze

    return _analyze(network, **overrides)
