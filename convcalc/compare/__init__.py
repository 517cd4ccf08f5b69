"""Design comparisons: networks side by side (:mod:`.networks`), parameter sweeps (:mod:`.sweep`), one conv built
every way (:mod:`.whatif`) and whole-network rewrites (:mod:`.rewrite`, written out by :mod:`.yamlwrite`).

Logic only: every number comes from the cost model, and the results are plain dataclasses that
:mod:`convcalc.render.compare` turns into text. Import from the modules themselves; this package file imports
nothing.
"""
