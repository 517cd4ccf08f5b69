"""Hand-built imported models for the writer and source tests (no onnx, no torch): the IR of a shipped config,
read off its expanded graph, as a frontend would give it (the model's names, kinds, fields without defaults,
inputs, scopes); and a stand-in frontend module."""

from __future__ import annotations

import re
import sys
import types

from convcalc.importers.ir import ImportedLayer, ImportedModel
from convcalc.layers import REGISTRY
from convcalc.spec.fields import plain_value, same_value
from convcalc.spec.loader import load, shipped_configs


def plain_fields(node) -> dict:
    """The node's fields as a frontend writes them: plain values, defaults left out."""
    fields = REGISTRY[node.kind].fields
    out = {}
    for key, value in node.fields.items():
        default = fields[key].default
        if not fields[key].required and same_value(value, default):
            continue
        out[key] = plain_value(value)
    return out


def dotted_scope(name: str, class_of=lambda path: "") -> tuple:
    """The enclosing modules of a dotted name, outermost first: ``layer1.0.conv1`` → ``layer1``, ``layer1.0``."""
    parts = name.split(".")
    return tuple((".".join(parts[:i]), class_of(".".join(parts[:i]))) for i in range(1, len(parts)))


def resnet_class(path: str) -> str:
    """torchvision's classes of the ResNet modules: ``layerN.M`` is a Bottleneck, the rest are Sequentials."""
    return "Bottleneck" if re.fullmatch(r"layer\d+\.\d+", path) else "Sequential"


def ir_of(spec, class_of=lambda path: "", source: str = "model.onnx", **expand) -> ImportedModel:
    """The IR of a spec's expanded graph: every node as an ImportedLayer, scopes from the dotted names."""
    graph = load(spec).expand(**expand)
    layers = [ImportedLayer(node.name, node.kind, plain_fields(node), list(node.inputs),
                            dotted_scope(node.name, class_of), f"{node.kind} node '{node.name}'")
              for node in graph.nodes]
    return ImportedModel(graph.name, source, tuple(graph.input_shape), layers, batch=graph.batch)


def fake_frontend(monkeypatch, name: str, model_for):
    """Install ``convcalc.importers.NAME_read`` with a ``read`` returning ``model_for(target, shape)``; records
    its calls in ``module.calls``."""
    module = types.ModuleType(f"convcalc.importers.{name}_read")
    module.calls = []

    def read(target, *args, batch=None):
        shape = args[-1]
        module.calls.append((target, *args, batch))
        return model_for(target, shape)

    module.read = read
    monkeypatch.setitem(sys.modules, module.__name__, module)
    return module


def nodes_of(graph) -> list[tuple]:
    """What must survive a round trip: every node's name, kind, (normalised) fields and inputs, in order."""
    return [(node.name, node.kind, node.fields, list(node.inputs)) for node in graph.nodes]


#: the readability goal of issue 15: an imported ResNet-50 in at most 3 × the 44 lines of configs/resnet50.yaml
GOAL = 3 * 44


def round_trips(model) -> str:
    """The block spec of ``model`` (``write_spec(model)``), after checking that it expands to the nodes of the
    flat spec."""
    from convcalc.importers.writer import write_spec

    text = write_spec(model)
    assert nodes_of(load(text).expand()) == nodes_of(load(write_spec(model, flat=True)).expand())
    return text


def deep_resnet(factor: int) -> str:
    """configs/resnet50.yaml with ``factor`` × the bottlenecks per stage (175 layers at 1, 1,295 at 8)."""
    text = shipped_configs()["resnet50"].read_text(encoding="utf-8")
    head, tail = text.split("  - {block: bottleneck, name: layer1")[0], text.split("layer4, ")[1].split("\n", 1)[1]
    calls = ""
    for stage, (count, stride) in enumerate(zip((3, 4, 6, 3), (1, 2, 2, 2))):
        count *= factor
        calls += (f"  - {{block: bottleneck, name: layer{stage + 1}, repeat: {count}, mid: {2 ** stage} * width, "
                  f"stride: {[stride] + [1] * (count - 1)}, project: {[True] + [False] * (count - 1)}}}\n")
    return head + calls.replace("True", "true").replace("False", "false") + tail
