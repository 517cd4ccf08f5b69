"""Placeholders (``type: unsupported``) have no VJP: they have no definition to differentiate, and the forward pass
refuses them first (:mod:`convcalc.executor.placeholder`). This module keeps the backward pass's families the
layer families (tests/executor/test_independence.py)."""
