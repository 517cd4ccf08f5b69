"""A parsed spec is read-only, so an unchanged network's expansion can be reused (Network.expanded)."""

from __future__ import annotations

import pytest

import convcalc
from convcalc.errors import SpecError
from convcalc.layers import REGISTRY
from convcalc.spec.loader import load

SPEC = """\
name: t
input: [3, 8, 8]
vars: {width: 4}
blocks:
  unit:
    args: {out: null}
    layers:
      - {type: conv, out: out, kernel: 3, padding: 1}
layers:
  - {block: unit, out: width}
  - {type: relu}
"""


def test_a_parsed_spec_refuses_changes():
    net = load(SPEC)
    layers = net.doc["layers"]
    changes = [lambda: net.doc.__setitem__("name", "u"), lambda: net.doc.update(name="u"),
               lambda: net.doc.pop("name"), lambda: net.doc.setdefault("x", 1), lambda: net.doc.clear(),
               lambda: layers.append({}), lambda: layers.__setitem__(0, {}), lambda: layers.extend([]),
               lambda: layers.insert(0, {}), lambda: layers.pop(), lambda: layers.sort(), lambda: layers.clear(),
               lambda: net.blocks.__setitem__("other", {}), lambda: layers[0].__delitem__("out")]
    for change in changes:
        with pytest.raises(TypeError, match="read-only"):
            change()
    assert net.doc["name"] == "t" and len(layers) == 2
    copy = dict(net.doc)  # a copy is an ordinary dict
    copy["name"] = "u"
    assert net.doc["name"] == "t"


def test_the_same_arguments_reuse_the_graph_and_others_do_not():
    net = load(SPEC)
    graph = net.expanded()
    assert net.expanded() is graph
    assert net.expanded({"width": 8}) is not graph
    assert net.expanded({"width": 8}).nodes[0].fields["out"] == 8
    assert net.expanded(batch=2).batch == 2 and net.expanded(batch=2) is not graph
    assert net.expand() is not graph  # expand() hands out a graph of its own
    assert convcalc.analyze(net, width=8).totals.params == 8 * 3 * 9 + 8  # conv: out·in·k² weights + out biases


def test_a_changed_network_or_registry_expands_afresh(monkeypatch):
    net = load(SPEC)
    graph = net.expanded()
    net.name = "renamed"
    renamed = net.expanded()
    assert renamed is not graph and renamed.name == "renamed"
    monkeypatch.setitem(REGISTRY, "relu", REGISTRY["relu"])  # the same class: still the same registry
    assert net.expanded() is renamed
    monkeypatch.delitem(REGISTRY, "relu")
    with pytest.raises(SpecError, match="unknown layer type `relu`"):
        net.expanded()


def test_few_graphs_are_kept_per_network():
    net = load(SPEC)
    for width in range(1, 20):
        net.expanded({"width": width})
    assert len(net._expansions) <= 4


def test_an_unhashable_override_expands_every_time():
    net = load(SPEC)
    with pytest.raises(SpecError):
        net.expanded({"width": [1, 2]})  # a list is no var value; the error comes from expand(), not the cache


def test_analysing_again_gives_the_same_report():
    for name in ("resnet50", "mobilenet_v2", "variants/transposed", "convnext_tiny"):
        net = load(name)
        first = convcalc.analyze(net).to_json()
        assert convcalc.analyze(net).to_json() == first == convcalc.analyze(net.expand()).to_json(), name


def test_an_analysis_that_fails_fails_again():
    net = load("name: t\ninput: [3, 4, 4]\nlayers:\n  - {type: conv, out: 8, kernel: 7}\n")
    for _ in range(2):
        with pytest.raises(SpecError, match="below 1"):
            convcalc.analyze(net)
