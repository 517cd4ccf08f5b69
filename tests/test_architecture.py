"""The shape of the package (docs/architecture.md), checked by reading its source:

* no import cycle between modules, counting imports made inside functions;
* package ``__init__`` files import nothing (except the registries that import their kinds to register them);
* no module over about 500 lines unless its docstring says why;
* no dispatch on layer kinds outside convcalc/layers/ and the executor: no ``isinstance``/``issubclass`` against a
  layer class, no comparison of a kind or type with a registered kind's name.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import convcalc
from convcalc.layers import REGISTRY

PACKAGE = Path(convcalc.__file__).resolve().parent
#: package files that import on purpose: the layer and executor registries load their kinds; convcalc/__init__
#: offers load/analyze (importing inside the functions)
IMPORTING_INITS = {"convcalc", "convcalc.layers", "convcalc.executor", "convcalc.executor.backward"}
MAX_LINES = 500
#: the phrase a longer module's docstring uses to say why it is long
LONG_BECAUSE = "is long because"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports(name: str) -> set[str]:
    """Every convcalc module ``name`` imports, anywhere in the file (``from . import x`` imports module x)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module
            submodules = {f"{prefix}.{alias.name}" for alias in node.names} & set(MODULES)
            # `from . import conv` imports the submodule; `from .base import X` and `from .. import X` the module
            found |= submodules if submodules and not node.module else {prefix} | submodules
    return {module for module in found if module in MODULES and module != name}


GRAPH = {name: imports(name) for name in MODULES}


def test_no_import_cycles():
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    cycles = []

    def visit(name, stack):
        state[name] = 1
        for target in sorted(GRAPH[name]):
            if state.get(target) == 1:
                cycles.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target, stack + [target])
        state[name] = 2

    for name in sorted(GRAPH):
        if name not in state:
            visit(name, [name])
    assert not cycles, "import cycles:\n" + "\n".join(" → ".join(cycle) for cycle in cycles)


def test_the_cycle_check_catches_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}}
    state, found = {}, []

    def visit(name, stack):
        state[name] = 1
        for target in graph[name]:
            if state.get(target) == 1:
                found.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target, stack + [target])
        state[name] = 2

    visit("a", ["a"])
    assert found == [["a", "b", "c", "a"]]


def test_package_files_import_nothing():
    for name, path in MODULES.items():
        if path.name == "__init__.py" and name not in IMPORTING_INITS:
            tree = ast.parse(path.read_text(encoding="utf-8"))
            assert not [node for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))], name


def test_modules_are_short_or_say_why():
    for name, path in MODULES.items():
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES:
            doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
            assert LONG_BECAUSE in doc, f"{name} has {lines} lines and its docstring does not say why"


# ---- no dispatch on layer kinds outside the registries ----------------------------------------------------------
LAYER_CLASSES = {cls.__name__ for cls in REGISTRY.values()} | {
    base.__name__ for cls in REGISTRY.values() for base in cls.__mro__[1:] if base.__module__.startswith("convcalc.layers")}
KIND_NAMES = set(REGISTRY)
ALLOWED = ("convcalc.layers", "convcalc.executor")


def dispatches(path: Path) -> list[str]:
    """Places in a file that test a layer's class or compare something with a registered kind's name."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in ("isinstance", "issubclass") and len(node.args) == 2:
            names = {n.id if isinstance(n, ast.Name) else n.attr for n in ast.walk(node.args[1])
                     if isinstance(n, (ast.Name, ast.Attribute))}
            if names & LAYER_CLASSES:
                found.append(f"{path.name}:{node.lineno}: {node.func.id}(…, {', '.join(sorted(names & LAYER_CLASSES))})")
        if isinstance(node, ast.Compare):
            strings = {n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
            if strings & KIND_NAMES:
                found.append(f"{path.name}:{node.lineno}: compares with kind {sorted(strings & KIND_NAMES)}")
    return found


def test_no_dispatch_on_layer_kinds_outside_the_registries():
    found = []
    for name, path in MODULES.items():
        if not name.startswith(ALLOWED):
            found += dispatches(path)
    assert not found, "\n".join(found)


def test_the_dispatch_check_catches_both_forms(tmp_path):
    path = tmp_path / "bad.py"
    path.write_text("def f(layer, node):\n    if isinstance(layer, Conv):\n        return 1\n"
                    "    return node.kind == 'maxpool'\n")
    assert [line.split(": ", 1)[1] for line in dispatches(path)] == ["isinstance(…, Conv)",
                                                                     "compares with kind ['maxpool']"]


@pytest.mark.parametrize("name", ["convcalc.cost.analysis", "convcalc.erf.analytic", "convcalc.compare.whatif"])
def test_the_cost_model_asks_the_kinds(name):
    assert "convcalc.layers" in {module.rsplit(".", 1)[0] if module.count(".") > 1 else module
                                 for module in GRAPH[name]} or any(m.startswith("convcalc.layers") for m in GRAPH[name])
