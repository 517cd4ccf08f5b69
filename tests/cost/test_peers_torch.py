"""`--convention PEER` against the peers themselves: every network of `convcalc zoo`, built in PyTorch by
tests/torch_build.py, run through fvcore, ptflops, thop and torchinfo (tests/peer_tools.py). Each convention's
total must equal what the tool prints within 0.1 % (issue 18's goal; it is exact on every network here), its
params exactly, and `--with-bugs` must equal the tool's default output where that follows a known bug.

The counts are per input, so the networks run at the smallest input their windows allow (32×32 mostly: the
linear layers after a flatten take whatever features reach them); dcgan_generator at its own latent vector. Each tool skips cleanly when it is
not installed (the `peers` extra of pyproject.toml pins the versions the rules follow).
"""

from __future__ import annotations

import os
from functools import lru_cache

import pytest

torch = pytest.importorskip("torch")

from convcalc.cost.analysis import analyze, expand  # noqa: E402
from convcalc.cost.peers import peer_totals  # noqa: E402
from convcalc.executor import run  # noqa: E402
from convcalc.zoo import zoo_entries  # noqa: E402

from tests import peer_tools  # noqa: E402
from tests.torch_build import build  # noqa: E402

SMALL = {"input": (3, 32, 32)}
#: network → how it is expanded for the test (a smaller input: the smallest its windows allow)
EXPANSION = {
    "dcgan_generator": {},  # a latent vector
    "alexnet": {"input": (3, 63, 63)}, "alexnet_bvlc": {"input": (3, 67, 67)},
    "inception_v3": {"input": (3, 75, 75)},  # its stem needs 75 pixels and more
    "c3d": {"input": (3, 16, 32, 32)}, "r3d_18": {"input": (3, 8, 32, 32)},  # pool5 needs 16 frames
    "deeplabv3_resnet50": {"resolution": 32},  # the ASPP pooling branch resizes to the input: a var
}
#: no torch.nn module for its kind: the convention leaves it out and says so (test_unmapped_kinds_are_named)
UNMAPPED = {"deepface": "locally_connected"}
NETWORKS = sorted(entry.name for entry in zoo_entries())
#: the networks CI runs: together they hold every kind of the zoo (test_the_subset_holds_every_kind) and every
#: known bug; the rules are per kind, so the other networks add layers, not rules. CONVCALC_PEERS_ZOO=all runs every
#: network (27 × 5 tool runs, several minutes).
SUBSET = ("resnet18", "mobilenet_v2", "mobilenet_v3_small", "efficientnet_b0", "efficientnet_b3", "convnext_tiny",
          "dcgan_generator", "deeplabv3_resnet50", "squeezenet1_1", "shufflenet_v1_g3", "shufflenet_v2_x1_0",
          "r3d_18")
RUN = NETWORKS if os.environ.get("CONVCALC_PEERS_ZOO") == "all" else SUBSET


@lru_cache(maxsize=1)  # one network at a time: the tests below are ordered network by network
def built(name: str):
    graph = expand(name, batch=1, **EXPANSION.get(name, SMALL))
    report = analyze(graph)
    model = build(graph, run(graph))
    return graph, report, model, torch.zeros(1, *graph.input_shape)


def _kinds(names) -> set[str]:
    return {node.kind for name in names for node in expand(name, batch=1, **EXPANSION.get(name, SMALL)).nodes}


def test_the_subset_holds_every_kind():
    assert len(NETWORKS) == 27 and set(SUBSET) <= set(NETWORKS)
    assert _kinds(set(NETWORKS) - set(UNMAPPED)) <= _kinds(SUBSET)


@pytest.mark.parametrize(("name", "peer"), [(name, peer) for name in RUN if name not in UNMAPPED
                                           for peer in peer_tools.RUNNERS])  # network by network: built() keeps one
def test_convention_prints_what_the_tool_prints(name, peer):
    pytest.importorskip(peer)
    graph, report, model, x = built(name)
    rule, default = peer_tools.RUNNERS[peer]
    ours, buggy = peer_totals(report, graph, peer), peer_totals(report, graph, peer, bugs=True)
    assert ours.unmapped == {}
    # thop and torchinfo run as they do by default: where a known bug applies, they print --with-bugs' count;
    # ptflops runs twice, by its module hooks (the rule) and as it does by default (its double counts)
    runs = [(rule, buggy if default is None and buggy.bugs else ours)] + ([(default, buggy)] if default else [])
    for runner, expected in runs:
        ops, params = runner(model, x)
        assert abs(expected.ops - ops) <= ops / 1000, (runner.__name__, expected.ops, ops)
        assert expected.params == params


def test_the_known_bugs_are_seen_on_the_tools():
    """dcgan_generator's transposed convs (thop, torchinfo) and convnext_tiny's channels-last linears (torchinfo):
    the default convention is the rule, --with-bugs what the tool prints (docs/flops.md)."""
    for name, peer, printed in (("dcgan_generator", "thop", 428_834_816), ("dcgan_generator", "torchinfo",
                                                                          428_345_216)):
        pytest.importorskip(peer)
        graph, report, model, x = built(name)
        assert peer_tools.RUNNERS[peer][0](model, x)[0] == printed
        assert peer_totals(report, graph, peer, bugs=True).ops == printed
        assert peer_totals(report, graph, peer).ops < printed / 4
        assert "conv_transpose" in peer_totals(report, graph, peer, bugs=True).bugs


@pytest.mark.parametrize("name", sorted(UNMAPPED))
def test_unmapped_kinds_are_named(name):
    graph = expand(name, batch=1)
    report = analyze(graph)
    for peer in peer_tools.RUNNERS:
        assert UNMAPPED[name] in peer_totals(report, graph, peer).unmapped


#: the factorised convs, each built by tests/torch_build.py as the nn.Sequential of its stages (strides, dilation,
#: asymmetric `same` padding, a multiplier, mid layers, no bias, 1-D and 3-D)
FACTORISED = {
    "separable": {"input": [2, 9, 9], "layers": [{"type": "separable", "out": 2, "kernel": 3, "stride": 2,
                                                  "padding": "same", "mid": 3}]},
    "separable_1d_3d": {"input": [4, 6, 7, 8], "layers": [
        {"type": "separable", "out": 6, "kernel": [3, 2, 5], "padding": [1, 0, 2], "dilation": [1, 2, 1],
         "bias": False}, {"type": "reshape", "shape": [6, -1]}, {"type": "separable", "out": 3, "kernel": 3}]},
    "depthwise_separable": {"input": [32, 8, 8], "layers": [{"type": "depthwise_separable", "out": 64, "kernel": 3,
                                                             "padding": 1}]},
    "depthwise_separable_mid": {"input": [3, 7, 7], "layers": [
        {"type": "depthwise_separable", "out": 4, "kernel": 3, "stride": 2, "padding": "same", "multiplier": 2,
         "mid": ["batchnorm", "relu"]},
        {"type": "depthwise_separable", "out": 5, "kernel": 2, "bias": False,
         "mid": [{"type": "groupnorm", "groups": 2}, "relu6", "silu"]}]},
    "flattened": {"input": [2, 9, 9], "layers": [{"type": "flattened", "out": 2, "kernel": 3, "stride": [2, 1],
                                                  "padding": [1, 0]}]},
    "flattened_3d": {"input": [3, 5, 6, 7], "layers": [{"type": "flattened", "out": 4, "kernel": [3, 2, 3],
                                                        "padding": 1, "bias": False}]},
    # not factorised, but also counted as the module it is written with: −maxpool(−x), an nn.MaxPool a submodule
    "minpool": {"input": [3, 9, 10], "layers": [{"type": "minpool", "kernel": 3, "stride": 2, "padding": 1,
                                                 "ceil_mode": True}, {"type": "relu"}]},
}


@pytest.mark.parametrize(("name", "peer"), [(name, peer) for name in FACTORISED for peer in peer_tools.RUNNERS])
def test_factorised_convs_print_what_the_tool_prints(name, peer):
    """Each tool's count and params of the stages, exactly; ptflops' default run (its double counts) is
    --with-bugs. The torch model computes what the executor does (the same stages)."""
    pytest.importorskip(peer)
    graph = expand({"name": name, **FACTORISED[name]}, batch=1)
    report = analyze(graph)
    ex = run(graph)
    model = build(graph, ex)
    x = torch.from_numpy(ex.input)
    assert torch.allclose(model(x), torch.from_numpy(ex.output), atol=1e-4)
    rule, default = peer_tools.RUNNERS[peer]
    ours, buggy = peer_totals(report, graph, peer), peer_totals(report, graph, peer, bugs=True)
    assert ours.unmapped == {} and buggy.unmapped == {}
    runs = [(rule, buggy if default is None and buggy.bugs else ours)] + ([(default, buggy)] if default else [])
    for runner, expected in runs:
        assert (expected.ops, expected.params) == runner(model, x), runner.__name__
