"""Coverage by kind, driven by the layer registry (``convcalc.layers.REGISTRY``).

Every registered kind has an executor kernel and a VJP, each in the executor module of the kind's family
(``convcalc/layers/pool.py`` → ``convcalc/executor/pool.py`` and ``convcalc/executor/backward/pool.py``), and a
small example network (``REGISTRY[kind].example``) on which

* the executor's output shapes, params, buffers and MACs equal the cost model's, layer by layer;
* the VJP equals central finite differences in float64.

A placeholder kind (``placeholder = True``: ``unsupported``, an imported operator with no definition) declares that
it cannot run: its kernel refuses its example with an error naming the layer and the operator, ``verify`` refuses
it before running anything, and it has no VJP.

A new kind is picked up by its example: nothing in tests/executor/ needs an edit, and a kind without a kernel or
a VJP fails here, naming it. The awkward geometries stay in test_backward.py's CASES and the per-family tests.
"""

from __future__ import annotations

import ast

import pytest

import convcalc
from convcalc.cost.analysis import analyze, expand
from convcalc.executor import KERNELS, run
from convcalc.executor.backward import VJPS
from convcalc.layers import REGISTRY

from .helpers import PACKAGE, executor_modules, finite_difference_check

KINDS = sorted(REGISTRY)
#: the kinds that run: every kind but the placeholders, which declare they have no definition to run
RUNNABLE = [kind for kind in KINDS if not REGISTRY[kind].placeholder]
PLACEHOLDERS = [kind for kind in KINDS if REGISTRY[kind].placeholder]

#: kinds defined on positive input only: x^p for a real p (torch.nn.LPPool); their example runs on |x| + 0.1
POSITIVE_INPUT = {"lppool"}


def _family(kind: str) -> str:
    return REGISTRY[kind].__module__.rsplit(".", 1)[1]


def _example(kind: str) -> dict:
    example = REGISTRY[kind].example
    assert example is not None, f"layer kind `{kind}` has no `example` (convcalc.layers.base.Example)"
    return example.spec(kind)


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_has_a_kernel_in_its_family_module(kind):
    family = _family(kind)
    assert kind in KERNELS, (f"layer kind `{kind}` has no executor kernel: add `@kernel(\"{kind}\")` in "
                             f"convcalc/executor/{family}.py")
    assert KERNELS[kind].__module__ == f"convcalc.executor.{family}", \
        f"the kernel of `{kind}` lives in {KERNELS[kind].__module__}, not with its family in executor/{family}.py"


@pytest.mark.parametrize("kind", RUNNABLE)
def test_every_kind_has_a_vjp_in_its_family_module(kind):
    family = _family(kind)
    assert kind in VJPS, (f"layer kind `{kind}` has no VJP: add `@vjp(\"{kind}\")` in "
                          f"convcalc/executor/backward/{family}.py")
    assert VJPS[kind].__module__ == f"convcalc.executor.backward.{family}", \
        f"the VJP of `{kind}` lives in {VJPS[kind].__module__}, not in executor/backward/{family}.py"


def test_the_executor_registers_no_kind_the_cost_model_does_not_know():
    assert set(KERNELS) - set(REGISTRY) == set()
    assert set(VJPS) - set(REGISTRY) == set()


@pytest.mark.parametrize("kind", RUNNABLE)
def test_example_runs_with_the_cost_model_counts(kind):
    graph = expand(convcalc.load(_example(kind)), batch=2)
    assert graph.nodes[-1].name == kind and graph.nodes[-1].kind == kind
    report, ex = analyze(graph), run(graph, seed=0, dtype="float64")
    assert [layer.name for layer in ex.layers] == [layer.name for layer in report.layers]
    for ours, theirs in zip(report.layers, ex.layers):
        assert (tuple(ours.output_shape), ours.params, ours.buffers, ours.macs) == \
            (theirs.output_shape, theirs.params, theirs.buffers, theirs.macs), (kind, ours.name)


@pytest.mark.parametrize("kind", RUNNABLE)
def test_example_vjp_equals_finite_differences(kind):
    spec = _example(kind)
    finite_difference_check(tuple(spec["input"]), *spec["layers"], positive=kind in POSITIVE_INPUT)


def test_there_is_a_placeholder_kind():
    assert PLACEHOLDERS == ["unsupported"]


@pytest.mark.parametrize("kind", PLACEHOLDERS)
def test_a_placeholder_is_refused_naming_the_layer_and_the_operator(kind):
    from convcalc.errors import SpecError
    from convcalc.verify import verify

    example = REGISTRY[kind].example
    graph = expand(convcalc.load(_example(kind)), batch=2)
    op = example.fields["op"]
    with pytest.raises(SpecError) as ran:  # the executor itself: its kernel refuses
        run(graph, seed=0, dtype="float64")
    assert ran.value.message.startswith(f"layer `{kind}` ({kind}): a placeholder for {op}")
    assert ran.value.mark is not None and ran.value.mark.line >= 1
    with pytest.raises(SpecError) as checked:  # verify: before running anything
        verify(graph)
    assert checked.value.message.startswith(f"verify cannot run layer `{kind}`: it is a placeholder for {op}")
    assert kind not in VJPS


# ---- kernels do not dispatch on kinds ---------------------------------------------------------------------------
#: where comparing kinds is the registries' own business: registering (no kind twice), and open_activations
#: passing every activation's gradient through
REGISTRY_LOOKUPS = {("base.py", "register_in"), ("backward/base.py", "passes_through")}


def _kind_comparisons(path):
    """(function, line) of every comparison involving ``….kind`` or a name ``kind`` in the file."""
    tree = ast.parse(path.read_text(), filename=str(path))

    def is_kind(node):
        return (isinstance(node, ast.Attribute) and node.attr == "kind") or (isinstance(node, ast.Name)
                                                                              and node.id == "kind")

    def walk(node, function):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield from walk(child, child.name)
                continue
            if isinstance(child, ast.Compare) and any(is_kind(part) for part in [child.left, *child.comparators]):
                yield function, child.lineno
            if isinstance(child, ast.Match) and is_kind(child.subject):
                yield function, child.lineno
            yield from walk(child, function)

    return list(walk(tree, "<module>"))


def test_no_kernel_or_vjp_tests_the_layer_kind():
    found = []
    for path in executor_modules():
        name = path.relative_to(PACKAGE).as_posix()
        found += [f"{name}:{line} in {function}()" for function, line in _kind_comparisons(path)
                  if (name, function) not in REGISTRY_LOOKUPS]
    assert not found, "kinds that share a kernel differ by registration options, not by tests of the kind:\n" + \
        "\n".join(found)


def test_the_dispatch_check_catches_a_kind_test(tmp_path):
    path = tmp_path / "pool.py"
    path.write_text("def window_pool(ctx, node, xs):\n    if node.kind == 'avgpool':\n        pass\n"
                    "def f(kind):\n    return kind in ('a', 'b')\n")
    assert _kind_comparisons(path) == [("window_pool", 2), ("f", 5)]
