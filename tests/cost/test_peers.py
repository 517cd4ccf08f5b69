"""`--convention`: each peer's count by hand on small networks, the figures the peer tools print for ResNet-50 and
MobileNetV2 at 224×224 (recorded from the tools, docs/flops.md), and the options on analyze, compare and check.
No peer tool is needed here; tests/cost/test_peers_torch.py runs the tools themselves."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from convcalc.cli.app import app
from convcalc.cost.analysis import analyze, expand
from convcalc.cost.peers import peer_totals, peers_summary, under_convention

TINY = """name: tiny
input: [3, 8, 8]
layers:
  - {type: conv, out: 8, kernel: 3, padding: 1}
  - {type: batchnorm}
  - {type: relu}
  - {type: maxpool, kernel: 2}
  - {type: global_avgpool}
  - {type: flatten}
  - {type: linear, out: 4}
"""
# conv: 8·8·8 = 512 outputs × 27 = 13,824 MACs, 216 + 8 params; batch norm and relu on 512 elements; max pool to
# 8·4·4 = 128; the global pool reads 128; linear 8 → 4: 32 MACs, 36 params. Params 224 + 16 + 36 = 276.
TINY_COUNTS = {
    # 13,824 + BN 2·512 + adaptive_avg_pool2d 128 + linear 32
    ("fvcore", False): 15_008,
    # conv 13,824 + 512 bias; BN 2·512; relu 512; max pool 512 (its input); pool 128 (its input); linear 32 + 4
    ("ptflops", False): 16_548,
    # its default run counts relu, the max pool and the global pool twice: + 512 + 512 + 128
    ("ptflops", True): 17_700,
    # 13,824 + BN 4·512 + (16/1 + 1)·8 + 8·4; relu and max pool 0
    ("thop", False): 16_040,
    # conv (216 + 8)·64 + BN 16 + linear 36
    ("torchinfo", False): 14_388,
}


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(("peer", "bugs"), list(TINY_COUNTS))
def test_each_peer_by_hand(tiny, peer, bugs):
    graph = expand(tiny)
    totals = peer_totals(analyze(graph), graph, peer, bugs)
    assert (totals.ops, totals.params) == (TINY_COUNTS[peer, bugs], 276)
    if not bugs and peer != "ptflops":  # no known bug here: --with-bugs changes nothing
        assert peer_totals(analyze(graph), graph, peer, True).ops == totals.ops


def test_transposed_conv_overcount_only_with_bugs():
    """ConvTranspose2d(4, 2, 2, stride=2, bias=False) on 4×3×3: 4·9·2·4 = 288 products; thop's and torchinfo's conv
    rule on the 2·6·6 = 72 outputs gives 72·4·4 = 32 params·36 positions = 1,152, s² = 4 times too many."""
    graph = expand({"input": [4, 3, 3], "layers": [{"type": "conv_transpose", "out": 2, "kernel": 2, "stride": 2,
                                                      "bias": False}]})
    report = analyze(graph)
    assert report.totals.macs == 288
    for peer in ("fvcore", "ptflops", "thop", "torchinfo"):
        assert peer_totals(report, graph, peer).ops == 288
    for peer in ("thop", "torchinfo"):
        buggy = peer_totals(report, graph, peer, bugs=True)
        assert buggy.ops == 1_152 and "conv_transpose" in buggy.bugs


# The factorised convs, 32 → 64 channels, 3×3, padding 1, on 8×8 (positions 64; bias on every conv), counted as the
# torch modules a model writes them with (tests/torch_build.py), each by its kind's rule:
# * depthwise_separable, mid [batchnorm, relu]: depthwise 32·64·9 = 18,432 MACs, 2,048 outputs, 288 + 32 params;
#   batch norm on 2,048 elements, 64 params; pointwise 64·64·32 = 131,072 MACs, 4,096 outputs, 2,048 + 64 params.
#   MACs 149,504, params 320 + 64 + 2,112 = 2,496. fvcore + BN 2·2,048; ptflops + biases 2,048 + 4,096, BN
#   2·2,048, relu 2,048 (twice by default); thop + BN 4·2,048; torchinfo 320·64 + 64 + 2,112·64.
# * separable (mid = out = 64): 3×1 32 → 64, 64·64·32·3 = 393,216 MACs; 1×3 64 → 64, 64·64·64·3 = 786,432; 4,096
#   outputs each. Params 6,144 + 64 + 12,288 + 64 = 18,560. The biases (ptflops, torchinfo) 2·4,096.
# * flattened (F = 64): lateral 1×1 64·64·32 = 131,072 MACs, then two per-channel 1-D convs 64·64·3 = 12,288 each;
#   4,096 outputs each. Params 2,048 + 64 + 2·(192 + 64) = 2,624. The biases (ptflops, torchinfo) 3·4,096.
FACTORISED = {
    "depthwise_separable": ({"mid": ["batchnorm", "relu"]}, 149_504, 2_496, {
        "fvcore": 149_504 + 4_096, "ptflops": 149_504 + 6_144 + 4_096 + 2_048, "thop": 149_504 + 8_192,
        "torchinfo": 20_480 + 64 + 135_168}),
    "separable": ({}, 1_179_648, 18_560, {
        "fvcore": 1_179_648, "ptflops": 1_179_648 + 8_192, "thop": 1_179_648, "torchinfo": 1_179_648 + 8_192}),
    "flattened": ({}, 155_648, 2_624, {
        "fvcore": 155_648, "ptflops": 155_648 + 12_288, "thop": 155_648, "torchinfo": 155_648 + 12_288}),
}
#: --with-bugs: ptflops' default run counts the relu twice; nothing else changes
FACTORISED_BUGS = {("depthwise_separable", "ptflops"): 149_504 + 6_144 + 4_096 + 2 * 2_048}


@pytest.mark.parametrize(("kind", "peer"), [(kind, peer) for kind in FACTORISED
                                           for peer in ("fvcore", "ptflops", "thop", "torchinfo")])
def test_factorised_convs_by_hand(kind, peer):
    fields, macs, params, ops = FACTORISED[kind]
    graph = expand({"input": [32, 8, 8], "layers": [{"type": kind, "out": 64, "kernel": 3, "padding": 1,
                                                      **fields}]})
    report = analyze(graph)
    assert (report.totals.macs, report.totals.params) == (macs, params)
    totals, buggy = peer_totals(report, graph, peer), peer_totals(report, graph, peer, bugs=True)
    assert totals.unmapped == {} and (totals.ops, totals.params) == (ops[peer], params)
    assert (buggy.ops, buggy.params) == (FACTORISED_BUGS.get((kind, peer), ops[peer]), params)


@pytest.mark.parametrize(("peer", "delta"), [
    # FACTORISED's depthwise_separable: the extra of each module under that module's kind, the biases of its two
    # convs as bias: fvcore BN 2·2,048; ptflops biases 2,048 + 4,096, BN 2·2,048, relu 2,048; thop BN 4·2,048;
    # torchinfo (weights + bias) × positions per conv, so the biases 32·64 + 64·64 = 6,144, and BN its 64 params
    ("fvcore", {"batchnorm": 4_096}),
    ("ptflops", {"bias": 6_144, "batchnorm": 4_096, "relu": 2_048}),
    ("thop", {"batchnorm": 8_192}),
    ("torchinfo", {"bias": 6_144, "batchnorm": 64})])
def test_a_composite_kinds_extra_is_named_by_its_modules(peer, delta):
    graph = expand({"input": [32, 8, 8], "layers": [{"type": "depthwise_separable", "out": 64, "kernel": 3,
                                                      "padding": 1, "mid": ["batchnorm", "relu"]}]})
    totals = peer_totals(analyze(graph), graph, peer)
    assert {what: extra for what, extra in totals.delta.items() if extra} == delta
    assert sum(totals.delta.values()) == totals.ops - 149_504


def test_a_composite_without_biases_adds_no_bias():
    """bias: false — the footer used to call a depthwise_separable's batch-norm ops its "bias". fvcore 149,504 +
    BN 4,096 = 153,600; ptflops + BN 4,096 + relu 2,048 = 155,648."""
    graph = expand({"input": [32, 8, 8], "layers": [{"type": "depthwise_separable", "out": 64, "kernel": 3,
                                                      "padding": 1, "bias": False, "mid": ["batchnorm", "relu"]}]})
    report = analyze(graph)
    assert peers_summary(report, graph).startswith("Peers would print: fvcore 153.60 K (adds batchnorm), ptflops "
                                                   "155.65 K (adds batchnorm, relu;")


def test_a_mid_layer_thop_has_no_rule_for_counts_no_params():
    """thop has no rule for GroupNorm: zero ops and zero params, inside depthwise_separable too. 4 → 8 channels,
    3×3 on 6×6, no padding: depthwise 4·16·9 = 576 MACs, 36 + 4 params; group norm on its 4 channels 8 params;
    pointwise 8·16·4 = 512 MACs, 32 + 8 params. thop: 1,088 ops, 88 − 8 = 80 params."""
    graph = expand({"input": [4, 6, 6], "layers": [{"type": "depthwise_separable", "out": 8, "kernel": 3,
                                                     "mid": [{"type": "groupnorm", "groups": 2}]}]})
    report = analyze(graph)
    assert (report.totals.macs, report.totals.params) == (1_088, 88)
    assert (peer_totals(report, graph, "thop").ops, peer_totals(report, graph, "thop").params) == (1_088, 80)


def test_a_mid_layer_of_an_unmapped_kind_leaves_the_layer_unmapped(monkeypatch):
    """A composite counts only when the peer has a rule for every part: relu, taken as unmapped here (no mid
    kind is unmapped today), leaves the whole depthwise_separable out of the total, named."""
    from convcalc.layers import REGISTRY
    from convcalc.layers import peers

    graph = expand({"input": [4, 6, 6], "layers": [{"type": "depthwise_separable", "out": 8, "kernel": 3,
                                                     "mid": ["relu"]}, {"type": "pointwise", "out": 2}]})
    report = analyze(graph)
    monkeypatch.setitem(peers._RULES, REGISTRY["relu"], {})
    for peer in ("fvcore", "ptflops", "thop", "torchinfo"):
        totals = peer_totals(report, graph, peer)
        assert totals.unmapped == {"depthwise_separable": ["depthwise_separable1"]}
        assert totals.ops == 2 * 16 * 8 + (32 if peer in ("ptflops", "torchinfo") else 0)  # the pointwise conv


# What each tool prints for tests/torch_build.py's model at 224×224 (fvcore 0.1.5.post20221221, ptflops 0.7.5,
# thop 0.1.1.post2209072238, torchinfo 1.8.0 with torch 2.13.0; issue 18 quotes ResNet-50 4.089 G / fvcore 4.111 G /
# ptflops 4.132 G and MobileNetV2 300.8 M / 314.2 M / 320.3 M).
PRINTED = {
    "resnet50": {("torchvision", False): 4_089_184_256, ("fvcore", False): 4_111_512_576,
                 ("ptflops", False): 4_121_925_096, ("ptflops", True): 4_132_436_968,
                 ("thop", False): 4_133_742_592, ("torchinfo", False): 4_089_238_376},
    "mobilenet_v2": {("torchvision", False): 300_774_272, ("fvcore", False): 314_193_216,
                     ("ptflops", False): 320_300_008, ("ptflops", True): 320_362_728,
                     ("thop", False): 327_550_720, ("torchinfo", False): 300_809_384},
}
PARAMS = {"resnet50": 25_557_032, "mobilenet_v2": 3_504_872}


@pytest.mark.parametrize("name", sorted(PRINTED))
def test_the_figures_the_tools_print_at_224(name):
    graph = expand(name)
    report = analyze(graph)
    for (convention, bugs), printed in PRINTED[name].items():
        counted = under_convention(report, graph, convention, bugs)
        assert counted.totals.macs == printed, convention
        assert counted.totals.params == PARAMS[name]


def test_unmapped_kinds_are_a_warning_not_a_silent_zero():
    graph = expand({"input": [2, 6, 6], "layers": [{"type": "lppool", "p": 2, "kernel": 2}, {"type": "relu"}]})
    report = under_convention(analyze(graph), graph, "fvcore")
    assert any("no rule for lppool ×1" in warning for warning in report.warnings)


def test_minpool_is_its_max_pool_module():
    """−maxpool(−x) with an nn.MaxPool2d: a 2×2 pool on 2×6×6 reads 72 elements (ptflops' pool hook: 72, twice in
    its default run), then relu on 18 (ptflops 18, twice by default); fvcore, thop and torchinfo count 0."""
    graph = expand({"input": [2, 6, 6], "layers": [{"type": "minpool", "kernel": 2}, {"type": "relu"}]})
    report = analyze(graph)
    expected = {"fvcore": (0, 0), "ptflops": (90, 180), "thop": (0, 0), "torchinfo": (0, 0)}
    for peer, (ops, buggy) in expected.items():
        totals = peer_totals(report, graph, peer)
        assert (totals.unmapped, totals.ops, peer_totals(report, graph, peer, True).ops) == ({}, ops, buggy)


def _run(*args):
    return CliRunner().invoke(app, list(args))


def test_analyze_json_under_a_convention(tiny):
    result = _run("analyze", tiny, "--convention", "ptflops", "--with-bugs", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["totals"]["macs"] == 17_700 and data["totals"]["params"] == 276
    assert data["conventions"]["convention"] == "ptflops" and data["conventions"]["with_bugs"] == "yes"
    assert [layer["macs"] for layer in data["layers"]] == [14_336, 1_024, 1_024, 1_024, 256, 0, 36]


def test_the_table_says_what_each_peer_prints(tiny):
    result = _run("analyze", tiny, "--units", "raw")
    assert result.exit_code == 0
    line = result.stdout.splitlines()[-1]
    assert line.startswith("Peers would print: fvcore 15,008 (adds batchnorm, global_avgpool), ptflops 16,548 ")
    assert "17,700 with its bugs" in line and "thop 16,040" in line and "torchinfo 14,388" in line


def test_with_bugs_needs_a_peer(tiny):
    result = _run("analyze", tiny, "--with-bugs")
    assert result.exit_code == 2
    assert "add --convention" in result.output


def test_check_budgets_under_a_convention(tiny):
    assert _run("check", tiny, "--max", "macs=15000").exit_code == 0          # 13,856 MACs
    assert _run("check", tiny, "--max", "macs=15000", "--convention", "fvcore").exit_code == 1   # 15,008


def test_compare_under_a_convention(tiny):
    result = _run("compare", tiny, tiny, "--convention", "thop", "--format", "json")
    assert result.exit_code == 0, result.output
    assert "16040" in result.stdout.replace(",", "")
    assert _run("compare", "--layer", "conv 8->8 k3 @8x8", "--convention", "thop").exit_code == 2


def test_explain_conventions_is_installed_text():
    result = _run("explain", "conventions")
    assert result.exit_code == 0
    text = result.stdout
    assert text.startswith("## Peers' conventions")
    for line in ("fvcore 0.1.5.post20221221: ", "ptflops 0.7.5: ", "thop 0.1.1.post2209072238: ",
                 "torchinfo 1.8.0: "):
        assert line in text
    assert "  --with-bugs, conv_transpose: count_convNd on the output" in text
    assert ("unmapped (left out of the total, with a warning): deformable, locally_connected, lppool, "
            "stochastic_pool, tiled, unsupported") in text
    assert "  depthwise_separable: its depthwise conv, mid layers and pointwise conv, each by its kind's rule" in text
    assert "``" not in text
