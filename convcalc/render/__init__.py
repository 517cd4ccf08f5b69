"""Turning computed results into output: one table model (:mod:`.model`), one emitter per format
(:mod:`.emitters`: the box-drawn text table, Markdown, CSV, JSON), and one view per command that builds the model
from that command's plain data (:mod:`.analyze`, :mod:`.zoo`, :mod:`.rf`, :mod:`.heatmap`, :mod:`.verify`,
:mod:`.compare`, :mod:`.whatif`, :mod:`.sweep`, :mod:`.explain`; :mod:`.check` renders budget reports
itself).

Data go to stdout, warnings to stderr. Rich is imported only when a colour terminal is written to. This package
file imports nothing: import from the modules themselves (``from convcalc.render.analyze import render``).
"""
