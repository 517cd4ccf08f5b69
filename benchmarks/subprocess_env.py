"""The environment the whole-process benchmarks (analyze_speed.py, big_spec.py) run their children in.

Python writes byte-code caches to a private prefix (``PYTHONPYCACHEPREFIX``), as an installed package would have
them, even when the environment sets ``PYTHONDONTWRITEBYTECODE``; the shared checkout is never written to. Colour
is off (stdout is not a terminal anyway).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

PYCACHE = Path(tempfile.gettempdir()) / "convcalc-bench-pycache"


def environment() -> dict:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    env["NO_COLOR"] = "1"
    return env
