"""Model budgets for ``convcalc check`` (docs/check.md).

Import from the modules themselves; this package file imports nothing.
"""
