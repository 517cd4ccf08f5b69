"""Effective receptive fields (Luo et al., NIPS 2016): result types and statistics (:mod:`.stats`), the exact
analytic model (:mod:`.analytic`) and the measurement on the NumPy executor (:mod:`.measured`).

Import from the modules themselves; this package file imports nothing.
"""
