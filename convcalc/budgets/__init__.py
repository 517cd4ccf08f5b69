"""Model budgets for ``convcalc check`` (docs/check.md).

* :mod:`~convcalc.budgets.quantities`: what can be budgeted, read off a report; the layers behind a total.
* :mod:`~convcalc.budgets.kinds`: the kinds of budget, one class each (``TotalMax``, ``LayerMax``,
  ``MaxIncrease``, which are a ``Maximum``, and ``MinRF``): key, label, evaluation, and the texts the renderers
  print for their results.
* :mod:`~convcalc.budgets.results`: the ``Status`` enum, ``BudgetResult``, ``SpecCheck`` and ``CheckRun``.
* :mod:`~convcalc.budgets.parse`: budget values, ``budgets:`` sections, budgets files, command-line flags, merging.
* :mod:`~convcalc.budgets.evaluate`: checking a report, a spec and a whole run; loading baselines.
* :mod:`~convcalc.budgets.text`: values, percentages and layer lists as the messages print them.

Import from the modules themselves; this package file imports nothing.
"""
