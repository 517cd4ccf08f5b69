"""convcalc: exact FLOP, MAC, parameter, memory and receptive-field calculator for CNNs described in YAML.

    >>> import convcalc
    >>> report = convcalc.analyze(convcalc.load("resnet50"))
    >>> report.totals.macs
    4089184256

``convcalc.analyze`` returns a :class:`Report` (with :class:`LayerReport`, :class:`Totals` and :class:`RFReport`
inside; the JSON contract of docs/json.md): plain dataclasses, defined in :mod:`convcalc.cost.report` and
offered here.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["load", "analyze", "Report", "LayerReport", "Totals", "RFReport", "__version__"]
_REPORT_TYPES = ("Report", "LayerReport", "Totals", "RFReport")


def load(source):
    """Read a spec from a path, a shipped config name (``resnet50``), a YAML string or a dict."""
    from .spec.loader import load as _load

    return _load(source)


def analyze(network, **overrides):
    """Analyse a network (or a path / name / dict). Keyword arguments override vars, ``batch`` and ``input``."""
    from .cost.analysis import analyze as _analyze

    return _analyze(network, **overrides)


def __getattr__(name: str):
    """The report dataclasses, imported on first use (``import convcalc`` stays instant)."""
    if name in _REPORT_TYPES:
        from .cost import report

        return getattr(report, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
