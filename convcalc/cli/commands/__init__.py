"""The commands, one module each: a plain function (its keywords are the ``name`` of its definitions in
:mod:`convcalc.cli.options`, its docstring is its ``--help``, it returns the exit code) that loads, computes and
hands plain data to :mod:`convcalc.render`. None imports Typer or the app: :mod:`convcalc.cli.app` imports each
and registers it in one list. Heavy imports (numpy, the executor) stay inside the functions.
"""
