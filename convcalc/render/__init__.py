"""Turning computed results into output: one table model (:mod:`.model`), one emitter per format
(:mod:`.emitters`: the box-drawn text table, Markdown, CSV, JSON), and one view per command that builds the model
from that command's plain data (:mod:`.analyze`, :mod:`.zoo`, :mod:`.rf`, :mod:`.heatmap`, :mod:`.verify`,
:mod:`.compare`, :mod:`.whatif`, :mod:`.sweep`; :mod:`.check` renders budget reports itself).

Data go to stdout, warnings to stderr. Rich is imported only when a colour terminal is written to. This package
file imports nothing; ``from convcalc.render import render, RenderOptions`` (the analyze renderer) is resolved on
first use.
"""


def __getattr__(name: str):
    if name in ("render", "RenderOptions"):
        from . import analyze

        return getattr(analyze, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
