"""CLI commands beyond `analyze`, one module each. Each module defines its command on :data:`convcalc.cli.app`
(``@app.command()``) at import time and keeps heavy imports (numpy, the executor) inside the function body.

To add a command: write ``convcalc/commands/NAME.py`` and add ``"NAME"`` to :data:`MODULES`.
"""

MODULES: tuple[str, ...] = ("check", "zoo", "compare", "sweep", "rf", "explain", "verify")
