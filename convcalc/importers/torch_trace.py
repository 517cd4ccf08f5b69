"""Tracing a PyTorch module into a list of calls with their shapes: torch.fx first, torch.export where fx fails.

**torch.fx** (https://pytorch.org/docs/stable/fx.html): :class:`ScopeTracer` is a ``torch.fx.Tracer`` whose
leaves are the module classes the op table maps (and the ``torch.nn`` classes fx keeps as leaves anyway, so an
unmapped one is reported as itself); every other module is traced through. Its ``call_module`` override keeps the
stack of enclosing module calls, so each node records its scope: ``(path, class name, call index)`` from the
outermost module in, ending with the leaf module itself for a module call. Shapes come from running the traced
graph on meta tensors (an ``fx.Interpreter`` that keeps every node's value), so ``x.size()`` arithmetic is
folded into plain ints.

**torch.export** (``strict=False``, https://pytorch.org/docs/stable/export.html) handles what fx cannot trace
(Python control flow on shapes). Its graph is of ATen operators with parameters lifted to inputs; each node's
``nn_module_stack`` metadata gives its scope (a repeated call of one module carries ``@n`` in its key) and
``meta["val"]`` its value.

Both give a :class:`Traced`: the calls in topological order, every node's value, and which nodes are the
model's parameters and buffers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import fx, nn


@dataclass
class Call:
    """One operation of the traced graph, as the op table sees it."""

    node: fx.Node
    key: object          # the table key: a module class, a function, a method name, an ATen op packet
    label: str           # its public name, for messages: torch.nn.Conv2d, torch.flatten, Tensor.view, aten.conv2d
    args: tuple
    kwargs: dict
    module: nn.Module | None    # the module of a module call
    scope: tuple         # ((path, class name, call index), ...), outermost first
    kind: str            # "module", "function", "method" or "aten"


@dataclass
class Constant:
    """A graph node that is one of the model's parameters or buffers (an fx ``get_attr``, an export input)."""

    name: str            # its state_dict name: `layer1.0.conv1.weight`
    learnable: bool      # a parameter (not a buffer)


@dataclass
class Traced:
    tracer: str                        # "torch.fx" or "torch.export"
    graph_module: fx.GraphModule
    input_node: fx.Node
    output: object                     # the output node's argument (a node, or a tuple/dict of nodes)
    calls: list = field(default_factory=list)
    values: dict = field(default_factory=dict)      # fx.Node → its value on the meta device
    constants: dict = field(default_factory=dict)   # fx.Node → Constant
    lifted: dict = field(default_factory=dict)      # export: placeholder name → tensor-constant name (ep.constants)
    program: object = None                          # export: the ExportedProgram


class TraceFailed(Exception):
    """The tracer could not follow the model's forward (the message says why)."""


class RunFailed(Exception):
    """The traced graph failed on the example input (the message names the node)."""


def public_name(obj) -> str:
    """``torch.nn.Conv2d`` for a class torch offers there, else its module and qualified name."""
    module, name = getattr(obj, "__module__", "") or "", getattr(obj, "__name__", repr(obj))
    if isinstance(obj, type) and module.startswith("torch.nn.modules") and getattr(nn, name, None) is obj:
        return f"torch.nn.{name}"
    module = {"torch._C._nn": "torch.nn.functional", "_operator": "operator", "torch._C._VariableFunctions": "torch",
              "builtins": ""}.get(module, module)
    return f"{module}.{name}" if module else name


def qualified_name(obj) -> str:
    """The defining module and qualified name of a class or function (``torchvision.ops.deform_conv.DeformConv2d``)."""
    return f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', getattr(obj, '__name__', ''))}"


# ---- torch.fx ------------------------------------------------------------------------------------------------
class ScopeTracer(fx.Tracer):
    """Symbolic tracing that keeps, on every node, the stack of module calls it was created in."""

    def __init__(self, is_mapped):
        super().__init__()
        self.is_mapped = is_mapped       # is_mapped(module) → the op table maps its class
        self.stack: list[tuple] = []
        self.calls: dict[str, int] = {}

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return self.is_mapped(m) or super().is_leaf_module(m, qualname)

    def call_module(self, m, forward, args, kwargs):
        path = self.path_of_module(m)
        index = self.calls.get(path, 0)
        self.calls[path] = index + 1
        self.stack.append((path, type(m).__name__, index))
        try:
            return super().call_module(m, forward, args, kwargs)
        finally:
            self.stack.pop()

    def create_node(self, *args, **kwargs):
        node = super().create_node(*args, **kwargs)
        node.meta["convcalc_scope"] = tuple(self.stack)
        return node


class RecordingInterpreter(fx.Interpreter):
    """Runs a graph and keeps the value of every node, or, given ``keep``, a copy of the value of those nodes
    (a copy: an in-place op later in the graph, such as ``ReLU(inplace=True)``, overwrites its input)."""

    def __init__(self, module, keep=None, progress=None):
        super().__init__(module, garbage_collect_values=keep is not None)
        self.keep = keep
        self.values: dict = {}
        self.progress, self.count = progress, 0  # ``progress(index, node)`` before each node, when given

    def run_node(self, n):
        self.current = n
        if self.progress is not None:
            self.progress(self.count, n)
            self.count += 1
        value = super().run_node(n)
        if self.keep is None:
            self.values[n] = value
        elif n.name in self.keep and isinstance(value, torch.Tensor):
            self.values[n] = value.detach().clone()
        return value


def trace_fx(model: nn.Module, example: torch.Tensor, is_mapped, progress=None) -> Traced:
    """Trace with torch.fx and propagate ``example`` (a meta or CPU tensor) through the graph; ``progress`` (a
    :class:`convcalc.render.progress.Progress`) is told the nodes and moved one per node run."""
    tracer = ScopeTracer(is_mapped)
    try:
        graph = tracer.trace(model)
    except Exception as exc:  # fx raises many types (TraceError, TypeError, …) for what it cannot follow
        raise TraceFailed(short_error(exc)) from exc
    gm = fx.GraphModule(tracer.root, graph)
    placeholders = [n for n in graph.nodes if n.op == "placeholder"]
    check_single_input(len(placeholders), [n.name for n in placeholders])
    step = None
    if progress is not None:
        count = len(graph.nodes)
        progress.expect(progress.total + count)
        step = progress.phase("tracing", count)
    interpreter = RecordingInterpreter(gm, progress=step)
    try:
        with torch.no_grad():
            interpreter.run(example)
    except NotImplementedError:  # an operator without a kernel for this device (meta): the caller retries on CPU
        raise
    except Exception as exc:  # the model's own code rejects the input (a shape mismatch, mostly)
        node = interpreter.current
        where = node.target if node.op == "call_module" else node.name
        raise RunFailed(f"at '{where}': {short_error(exc)}") from exc
    params = {name for name, _ in model.named_parameters(remove_duplicate=False)}
    traced = Traced("torch.fx", gm, placeholders[0], next(n for n in graph.nodes if n.op == "output").args[0],
                    values=interpreter.values)
    for node in graph.nodes:
        scope = node.meta.get("convcalc_scope", ())
        if node.op == "get_attr":
            traced.constants[node] = Constant(node.target, node.target in params)
        elif node.op == "call_module":
            module = gm.get_submodule(node.target)
            traced.calls.append(Call(node, type(module), public_name(type(module)), node.args, node.kwargs, module,
                                     scope, "module"))
        elif node.op == "call_function":
            traced.calls.append(Call(node, node.target, public_name(node.target), node.args, node.kwargs, None,
                                     scope, "function"))
        elif node.op == "call_method":
            traced.calls.append(Call(node, node.target, f"Tensor.{node.target}", node.args, node.kwargs, None,
                                     scope, "method"))
    return traced


# ---- torch.export --------------------------------------------------------------------------------------------
def trace_export(model: nn.Module, example: torch.Tensor) -> Traced:
    """Export with ``torch.export.export(strict=False)``; shapes from each node's ``meta["val"]``."""
    from torch.export.graph_signature import InputKind

    try:
        program = torch.export.export(model, (example,), strict=False)
    except Exception as exc:  # export raises many types for what it cannot capture
        raise TraceFailed(short_error(exc)) from exc
    gm = program.graph_module
    specs = {spec.arg.name: spec for spec in program.graph_signature.input_specs}
    users = [name for name, spec in specs.items() if spec.kind == InputKind.USER_INPUT]
    check_single_input(len(users), users)
    nodes = list(gm.graph.nodes)
    traced = Traced("torch.export", gm, next(n for n in nodes if n.name == users[0]),
                    next(n for n in nodes if n.op == "output").args[0])
    traced.program = program
    for node in nodes:
        traced.values[node] = node.meta.get("val")
        spec = specs.get(node.name) if node.op == "placeholder" else None
        if spec is not None and spec.kind in (InputKind.PARAMETER, InputKind.BUFFER):
            traced.constants[node] = Constant(spec.target, spec.kind == InputKind.PARAMETER)
        elif spec is not None and spec.kind == InputKind.CONSTANT_TENSOR:
            traced.lifted[node.name] = spec.target
            traced.values[node] = program.constants[spec.target]
        elif node.op == "call_function":
            packet = getattr(node.target, "overloadpacket", None)
            key = packet if packet is not None else node.target
            label = f"aten.{packet.__name__}" if packet is not None else public_name(node.target)
            traced.calls.append(Call(node, key, label, node.args, node.kwargs, None, export_scope(node), "aten"))
    return traced


def export_scope(node: fx.Node) -> tuple:
    """``((path, class name, call index), ...)`` from ``nn_module_stack`` (keys end in ``@n`` for call n > 0)."""
    scope = []
    for key, (path, cls) in (node.meta.get("nn_module_stack") or {}).items():
        if not path:
            continue
        index = int(key.rsplit("@", 1)[1]) if "@" in key else 0
        name = cls.__name__ if isinstance(cls, type) else str(cls).rsplit(".", 1)[-1]
        scope.append((path, name, index))
    return tuple(scope)


# ---- helpers -------------------------------------------------------------------------------------------------
class InputCount(Exception):
    """The model's forward takes other than one tensor."""


def check_single_input(count: int, names: list) -> None:
    if count != 1:
        raise InputCount(f"its forward takes {count} inputs ({', '.join(names) or 'none'}); convcalc imports models "
                         f"with one input tensor")


def short_error(exc: BaseException, limit: int = 300) -> str:
    """``TypeName: first line of the message``, cut to ``limit`` characters."""
    text = str(exc).strip().splitlines()
    line = next((part.strip() for part in text if part.strip()), "")
    message = f"{type(exc).__name__}: {line}" if line else type(exc).__name__
    return message if len(message) <= limit else message[: limit - 1] + "…"
