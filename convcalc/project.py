"""Project defaults: a ``convcalc.toml``, or the ``[tool.convcalc]`` table of a ``pyproject.toml``, found from the
current directory upward (docs/editors.md).

Keys (every one optional)::

    budgets = "budgets.yaml"          # `convcalc check` without --budgets reads this file
    configs = ["nets", "../shared"]   # more folders searched for spec names, after $CONVCALC_CONFIGS
    units = "M"                       # the default of --units (auto, raw, K, M, G)
    width = 100                       # the default of --width (the output width in columns)

Paths are relative to the file that holds them. An option given on the command line always wins.

The search is cheap, since every ``convcalc analyze`` makes it: a few ``stat`` calls per directory up to the root,
stopping at the first ``convcalc.toml`` or at the first ``pyproject.toml`` whose text has a ``[tool.convcalc]``
header (a plain substring test: a project without one is never parsed as TOML). Only then is the file parsed, with
``tomllib`` (Python ≥ 3.11) or ``tomli`` (Python 3.10; a dependency there). A bad value is an
``error: FILE:LINE:COL: …`` (exit code 2), like a bad spec. ``os.path`` only: pathlib costs more to import than
the whole search.
"""

from __future__ import annotations

import os
import re

from .errors import Mark, SpecError, did_you_mean

PROJECT_FILE = "convcalc.toml"
PYPROJECT = "pyproject.toml"
TABLE = "tool.convcalc"
#: the project file's keys (docs/editors.md, "Project defaults")
KEYS = ("budgets", "configs", "units", "width")
MIN_WIDTH = 20
_HEADER = r"^[ \t]*\[[ \t]*tool[ \t]*\.[ \t]*convcalc[ \t]*\][ \t]*(#.*)?$"  # compiled on use (0.2 ms)


class ProjectDefaults:
    """What a project file sets (docs/editors.md): each key's value (None when unset) and the file it came from (None: no file)."""

    __slots__ = ("source", "budgets", "configs", "units", "width")

    def __init__(self, source: str | None = None, budgets: str | None = None, configs: tuple[str, ...] = (),
                 units: str | None = None, width: int | None = None):
        self.source, self.budgets, self.configs, self.units, self.width = source, budgets, configs, units, width

    def option_defaults(self) -> dict:
        """The option defaults it sets, by option name (``units``, ``width``, ``budgets``): what a command
        takes when the option is not given."""
        values = {"budgets": self.budgets, "units": self.units, "width": self.width}
        return {name: value for name, value in values.items() if value is not None}

    def __repr__(self) -> str:
        return f"ProjectDefaults({', '.join(f'{k}={getattr(self, k)!r}' for k in self.__slots__)})"


def find_project_file(start: str | None = None) -> tuple[str, str] | None:
    """``(path, table)`` of the project file that applies in ``start`` (default: the current directory), or None.
    ``table`` is ``""`` for a convcalc.toml (its keys are top-level) and ``tool.convcalc`` for a pyproject.toml."""
    directory = os.path.abspath(start or os.getcwd())
    while True:
        candidate = os.path.join(directory, PROJECT_FILE)
        if os.path.isfile(candidate):
            return candidate, ""
        candidate = os.path.join(directory, PYPROJECT)
        if os.path.isfile(candidate) and _has_table(candidate):
            return candidate, TABLE
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def _has_table(path: str) -> bool:
    try:
        with open(path, "rb") as stream:
            text = stream.read(1 << 20).decode("utf-8", "replace")
    except OSError:
        return False
    # the header's words on one line first: convcalc's own pyproject.toml, or one that depends on it, has none
    if not any("[" in line and "tool" in line and "convcalc" in line for line in text.splitlines()):
        return False
    return re.search(_HEADER, text, re.MULTILINE) is not None


_CACHE: dict[str, ProjectDefaults] = {}


def defaults(start: str | None = None) -> ProjectDefaults:
    """The project defaults that apply in ``start`` (default: the current directory), read once per directory."""
    key = os.path.abspath(start or os.getcwd())
    if key not in _CACHE:
        found = find_project_file(key)
        _CACHE[key] = ProjectDefaults() if found is None else read_project_file(*found)
    return _CACHE[key]


def read_project_file(path: str, table: str = "") -> ProjectDefaults:
    """The defaults of one project file; ``table`` is where its keys sit (``tool.convcalc`` in a pyproject.toml)."""
    from .limits import read_file

    text = read_file(path, "the project file", hint="check the file")
    data = _parse_toml(text, path)
    for part in filter(None, table.split(".")):
        data = data.get(part, {})
    where = f"[{table}]" if table else PROJECT_FILE
    if not isinstance(data, dict):
        raise SpecError(f"`{table}` must be a table", _mark(text, path, table, None), f"write `[{table}]`")
    for key in data:
        if key not in KEYS:
            raise SpecError(f"unknown key `{key}` in {where}", _mark(text, path, table, key, value=False),
                            did_you_mean(str(key), KEYS) + " (keys: " + ", ".join(KEYS) + ")")
    here = os.path.dirname(os.path.abspath(path))

    def fail(key: str, what: str, hint: str):
        raise SpecError(f"`{key}` {what}", _mark(text, path, table, key), hint)

    budgets = data.get("budgets")
    if budgets is not None:
        if not isinstance(budgets, str) or not budgets:
            fail("budgets", f"must be the path of a budgets file, got {_shown(budgets)}",
                 'write e.g. `budgets = "budgets.yaml"` (relative to this file)')
        budgets = os.path.normpath(os.path.join(here, budgets))
        if not os.path.isfile(budgets):
            fail("budgets", f"names {budgets}, which is not a file", "create it (docs/check.md) or fix the path")
    configs = data.get("configs", ())
    if isinstance(configs, str):
        configs = [configs]
    if not isinstance(configs, (list, tuple)) or not all(isinstance(c, str) and c for c in configs):
        fail("configs", f"must be a folder or a list of folders, got {_shown(configs)}",
             'write e.g. `configs = ["nets"]` (relative to this file)')
    configs = tuple(os.path.normpath(os.path.join(here, c)) for c in configs)
    for directory in configs:
        if not os.path.isdir(directory):
            fail("configs", f"names {directory}, which is not a folder", "create it or fix the path")
    units = data.get("units")
    if units is not None:
        from .numbers import UNITS

        if units not in UNITS:
            fail("units", f"must be one of {', '.join(UNITS)}, got {_shown(units)}",
                 did_you_mean(str(units), UNITS) if isinstance(units, str) else 'write e.g. `units = "M"`')
    width = data.get("width")
    if width is not None and (type(width) is not int or width < MIN_WIDTH):
        fail("width", f"must be a whole number of columns ≥ {MIN_WIDTH}, got {_shown(width)}",
             "write e.g. `width = 100`")
    return ProjectDefaults(path, budgets, configs, units, width)


def _shown(value) -> str:
    from .limits import shorten

    if isinstance(value, bool):
        return str(value).lower()
    return shorten(repr(value) if isinstance(value, str) else str(value), 60)


def _parse_toml(text: str, path: str) -> dict:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        try:
            import tomli as tomllib
        except ImportError:
            raise SpecError(f"reading {os.path.basename(path)} needs Python ≥ 3.11 or the tomli package", None,
                            "pip install tomli (a dependency of convcalc on Python 3.10)") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        message = str(err)
        at = re.search(r"\(at line (\d+), column (\d+)\)", message)
        if at:
            mark = Mark(path, int(at.group(1)), int(at.group(2)))
        else:  # "at end of document"
            lines = text.splitlines() or [""]
            mark = Mark(path, len(lines), len(lines[-1]) + 1)
        raise SpecError(f"not valid TOML: {re.sub(r' *[(]at line.*', '', message) or message}", mark,
                        "fix the syntax (https://toml.io)") from None


def _mark(text: str, path: str, table: str, key: str | None, value: bool = True) -> Mark:
    """Where ``key`` (its value, or the key itself) is written in ``table``: TOML parsers give no positions, so the
    lines are scanned for ``key =`` under the table's header (dotted or inline forms point at the header)."""
    lines = text.splitlines()
    start = 0
    if table:
        header = re.search(_HEADER, text, re.MULTILINE)
        start = text.count("\n", 0, header.start()) + 1 if header else 1
    if key is None:
        return Mark(path, max(start, 1), 1)
    pattern = re.compile(rf"^(\s*)(['\"]?){re.escape(key)}\2\s*=\s*")
    for number in range(start, len(lines)):
        line = lines[number]
        if re.match(r"^\s*\[", line):  # the next table
            break
        found = pattern.match(line)
        if found:
            return Mark(path, number + 1, (found.end() if value else len(found.group(1))) + 1)
    return Mark(path, max(start, 1), 1)
