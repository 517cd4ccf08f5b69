"""The analytic cost model: the counting conventions (:mod:`.conventions`), receptive-field arithmetic
(:mod:`.rf`), the analysis that asks each layer kind for its numbers (:mod:`.analysis`), the report it returns
(:mod:`.report`) and the receptive-field table (:mod:`.rftable`).

Import from the modules themselves; this package file imports nothing.
"""
