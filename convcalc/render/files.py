"""The checks of an output file made before any heavy work (``rf --save``, ``import -o``, ``device measure -o``):
a type the command writes, the optional package that type needs (matplotlib for PNG), a directory that exists
and a file that can be written. A run of a minute must not fail at its last step for want of matplotlib or of a
directory: each problem is bad input (exit 2) with its fix, before the work starts.

Nothing is created or imported here: the package is looked up (``importlib.util.find_spec``), the path tested
with ``os.access``.
"""

from __future__ import annotations

import os

from ..errors import SpecError, shorten

#: the optional packages of output types, with the extra that installs them (pyproject.toml)
EXTRAS = {"matplotlib": "plot"}


def suffix_of(path: str) -> str:
    name = os.path.basename(path)
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def check_output(path: str, option: str, formats: dict[str, str | None] | None = None) -> None:
    """Refuse ``path`` (given as ``option``) before the work: a type not in ``formats`` (suffix → the package it
    needs, or None), a missing package, a missing directory, a directory given as the file, or no permission to
    write. ``formats`` None: any type."""
    shown = shorten(path, 80)
    if os.path.isdir(path):
        raise SpecError(f"{option} {shown} is a directory", None, "give a file name, e.g. out/erf.svg")
    if formats is not None:
        suffix = suffix_of(path)
        if suffix not in formats:
            raise SpecError(f"{option} {shown}: unknown file type `.{shorten(suffix, 20)}`" if suffix else
                            f"{option} {shown}: no file type", None,
                            "use " + ", ".join(f".{s}" for s in formats))
        package = formats[suffix]
        if package is not None and not _installed(package):
            extra = EXTRAS.get(package)
            how = f'pip install "convcalc[{extra}]" (or {package})' if extra else f"pip install {package}"
            other = [f".{s}" for s, needs in formats.items() if needs is None]
            raise SpecError(f"{option} {shown}: a .{suffix} file needs {package}, which is not installed", None,
                            f"{how}, or save as {' or '.join(other)}" if other else how)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise SpecError(f"{option} {shown}: no directory {shorten(directory, 80)}", None,
                        "create it first, or save somewhere else")
    if not os.access(path if os.path.exists(path) else directory, os.W_OK):
        raise SpecError(f"{option} {shown}: cannot write there (permission denied)", None,
                        "choose a writable directory or file")


def _installed(package: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        return False
