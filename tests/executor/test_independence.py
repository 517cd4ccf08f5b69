"""The executor is an independent witness: it may import only NumPy, the standard library, convcalc.spec.graph,
convcalc.errors and its own modules — never the cost model (convcalc.layers, cost, erf, …). The check walks every
module of the executor and of its backward pass; the module list mirrors the layer families of the registry."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from .helpers import PACKAGE, executor_modules

ALLOWED_CONVCALC = {"convcalc.spec", "convcalc.spec.graph", "convcalc.errors"}


def _families() -> set[str]:
    """The modules of convcalc/layers/ that register kinds (the test may read the cost model; the executor not)."""
    from convcalc.layers import REGISTRY

    return {cls.__module__.rsplit(".", 1)[1] for cls in REGISTRY.values()}


def test_the_check_walks_every_executor_module_one_per_layer_family():
    # forward and backward: __init__, base, and one module per family of convcalc/layers/ (conv, factorised, …);
    # memory.py: the run's peak memory from the kernels' footprints; winograd.py, fft.py: the algorithms of `convcalc cost`
    expected = {f"{name}.py" for name in _families() | {"__init__", "base"}}
    expected |= {f"backward/{name}" for name in expected} | {"memory.py"}
    expected |= {"winograd.py", "fft.py"}  # algorithms, not families: the witnesses of `convcalc cost`
    expected |= {"backward/train.py"}  # the training step: the witness of `convcalc cost --train`
    walked = {path.relative_to(PACKAGE).as_posix() for path in executor_modules()}
    assert walked == expected, (f"the executor mirrors the families of convcalc/layers/: missing "
                                f"{sorted(expected - walked)}, not a family {sorted(walked - expected)}")
    assert {"factorised.py", "backward/deformable.py", "backward/unshared.py", "excitation.py"} <= expected


def _imports(path: Path):
    """Absolute names of every module the file imports (relative imports resolved against its package)."""
    package = "convcalc." + ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base)
                if node.module:
                    yield f"{prefix}.{node.module}", node.lineno
                else:  # `from . import conv, pool`: each name is a submodule
                    for alias in node.names:
                        yield f"{prefix}.{alias.name}", node.lineno
            else:
                yield node.module, node.lineno
        elif isinstance(node, ast.Call):
            name = ast.unparse(node.func)
            assert name not in ("__import__", "importlib.import_module", "import_module"), \
                f"{path.name}:{node.lineno}: dynamic import"


def _allowed(name: str) -> bool:
    top = name.split(".")[0]
    if top == "numpy":
        return True
    if top == "convcalc":
        return name in ALLOWED_CONVCALC or name == "convcalc.executor" or name.startswith("convcalc.executor.")
    return top in sys.stdlib_module_names


def test_every_executor_module_imports_only_numpy_stdlib_graph_errors_and_itself():
    bad = [f"{path.name}:{line}: imports {name}" for path in executor_modules() for name, line in _imports(path)
           if not _allowed(name)]
    assert not bad, "\n".join(bad)


def test_the_check_catches_a_cost_model_import():
    for name in ("convcalc.layers", "convcalc.layers.conv", "convcalc.analysis", "convcalc.conventions",
                 "convcalc.rf", "convcalc.spec.loader", "torch", "scipy"):
        assert not _allowed(name)
    assert _allowed("convcalc.executor.base") and _allowed("numpy.lib.stride_tricks") and _allowed("itertools")


def test_importing_the_executor_loads_no_cost_model_module():
    code = ("import sys, convcalc.executor\n"
            "bad = [m for m in sys.modules if m.startswith('convcalc.') and m.split('.')[1] not in "
            "('executor', 'spec', 'errors', 'records') "  # records: the dataclass writer of spec.graph, no model
            "or m.startswith('convcalc.spec.') and m != 'convcalc.spec.graph']\n"
            "print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
