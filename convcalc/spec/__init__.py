"""Reading specs: YAML with positions (:mod:`.yamlio`), expressions (:mod:`.expr`), typed fields (:mod:`.fields`),
loading (:mod:`.loader`), expansion of blocks, repeats and ``when:`` (:mod:`.expand`) into the graph
(:mod:`.graph`) that the cost model and the executor both consume.

Import from the modules themselves (``from convcalc.spec.loader import load``); this package file imports nothing.
"""
