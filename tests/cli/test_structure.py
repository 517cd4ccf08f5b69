"""The shape of the command line: commands are plain functions registered in one list, their parameters come from
the definitions in convcalc/cli/options.py, and no import cycle runs through the CLI or the renderers (imports
inside functions count)."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest
import typer.main

from convcalc.cli import app as app_module
from convcalc.cli import options
from convcalc.cli.options import Argument, Option

PACKAGE = Path(app_module.__file__).resolve().parents[1]
COMMANDS_DIR = PACKAGE / "cli" / "commands"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def imports(name: str) -> set[str]:
    """The convcalc modules ``name`` imports anywhere in its body (functions included)."""
    path = MODULES[name]
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else [])) \
                if node.level else node.module
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
    return {m for m in found if m in MODULES and m != name}


def cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    graph = {name: imports(name) for name in MODULES}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out = []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for name in graph:
        if name not in index:
            visit(name)
    return out


def test_no_import_cycle_through_the_cli_or_the_renderers():
    assert "convcalc.cli.commands.analyze" in imports("convcalc.cli.entry")  # the finder sees function bodies
    assert imports("convcalc.cli.app") >= {"convcalc.cli.commands.analyze", "convcalc.cli.options"}
    assert "convcalc.cli.entry" not in imports("convcalc.cli.app")
    touching = [c for c in cycles() if any(m.startswith(("convcalc.cli", "convcalc.render")) for m in c)]
    assert touching == []


def test_the_cycle_finder_finds_a_cycle(monkeypatch):
    fake = {"convcalc.cli.a": {"convcalc.cli.b"}, "convcalc.cli.b": {"convcalc.cli.a"}}
    monkeypatch.setattr(f"{__name__}.MODULES", dict.fromkeys(fake, None))
    monkeypatch.setattr(f"{__name__}.imports", lambda name: fake[name])
    assert cycles() == [["convcalc.cli.a", "convcalc.cli.b"]]


def command_modules() -> list[str]:
    return sorted(p.stem for p in COMMANDS_DIR.glob("*.py") if p.stem != "__init__")


def test_every_command_module_is_registered_once_in_the_list():
    registered = [function.__module__.rsplit(".", 1)[-1] for function, _ in app_module.COMMANDS]
    assert sorted(registered) == command_modules()
    assert [function.__name__ for function, _ in app_module.COMMANDS] == registered  # module NAME, command NAME
    click = typer.main.get_command(app_module.app)
    # `convcalc --help` lists them in the list's order; `import_` (a Python keyword) is `convcalc import`
    assert list(click.commands) == [name.rstrip("_") for name in registered]


@pytest.mark.parametrize("name", command_modules())
def test_command_modules_do_not_import_the_app(name):
    found = imports(f"convcalc.cli.commands.{name}")
    assert not found & {"convcalc.cli.app", "convcalc.cli.entry", "convcalc.cli"}, found
    if name == "check":  # declares its own Typer parameters and formats, next to the budgets (docs/check.md)
        return
    text = (COMMANDS_DIR / f"{name}.py").read_text(encoding="utf-8")
    assert "typer" not in text and "convcalc.cli.params" not in found
    for chain in (r"\bformat ==", r"\bformat is\b", r"\bfmt\b", r"\bimport (csv|json)\b", r"json\.dumps",
                  r"\.write\(\"\|"):
        assert not re.search(chain, text), f"{name}.py: `{chain}` (formats are rendered by convcalc/render/)"


@pytest.mark.parametrize("package", ["convcalc.cli", "convcalc.cli.commands", "convcalc.render"])
def test_the_packages_import_nothing(package):
    """At import time: convcalc.render resolves `render` and `RenderOptions` on first use."""
    tree = ast.parse(MODULES[package].read_text(encoding="utf-8"))
    assert not [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]


@pytest.mark.parametrize("function, definitions", [c for c in app_module.COMMANDS if c[1] is not None],
                         ids=lambda value: getattr(value, "__name__", ""))
def test_each_function_takes_exactly_its_definitions(function, definitions):
    """Same names in the same order, and the function's defaults are the definitions' defaults."""
    signature = inspect.signature(function)
    assert list(signature.parameters) == [d.name for d in definitions]
    for definition in definitions:
        default = signature.parameters[definition.name].default
        if isinstance(definition, Argument):
            assert (default is inspect.Parameter.empty) == definition.required, definition.name
        else:
            assert default == definition.default, definition.name


def test_flags_are_unique_per_command_and_formats_and_units_defined_once():
    for _, definitions in app_module.COMMANDS:
        if definitions is None:
            continue
        flags = [f for d in definitions if isinstance(d, Option) for f in d.flags + ((d.off_flag,) if d.off_flag else ())]
        assert len(flags) == len(set(flags))
    from convcalc.numbers import UNITS

    assert options.FORMAT.choices is options.FORMATS and options.UNITS_OPTION.choices is UNITS
    for path in [*(PACKAGE / "cli").rglob("*.py"), *(PACKAGE / "render").rglob("*.py")]:
        text = path.read_text(encoding="utf-8")
        if path.name not in ("options.py", "check.py"):  # check: the budget formats (table … junit, github)
            assert '("table", "json"' not in text and '"K", "M", "G")' not in text, path
