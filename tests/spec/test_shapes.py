"""Expressions that see shapes (docs/spec.md, "The input's shape and `index`"): `in_channels`, `in_size`,
`in_rank` and `index`; `repeat: 0`; `when:` decided before `repeat:`; `type:` from a block argument or an
expression. Expected counts are worked by hand in the comments; error positions are hand-counted (1-based)."""

from __future__ import annotations

import pytest

import convcalc
from convcalc.cost.analysis import analyze
from convcalc.errors import SpecError

# An inverted residual (MobileNetV2) whose expansion reads its input's channels and whose residual checks them.
INVERTED_RESIDUAL = """\
name: ir_demo
input: [16, 8, 8]
defaults: {bias: false}
blocks:
  ir:
    args: {out: null, t: 6, stride: 1}
    layers:
      - {type: pointwise, name: expand, out: in_channels * t, when: t != 1}
      - {type: batchnorm, name: expand_bn, when: t != 1}
      - {type: relu6, name: expand_act, when: t != 1}
      - {type: depthwise, name: dw, kernel: 3, stride: stride, padding: 1}
      - {type: batchnorm, name: dw_bn}
      - {type: pointwise, name: project, out: out}
      - {type: batchnorm, name: project_bn}
      - {type: add, name: residual, inputs: [x, project_bn], when: stride == 1 and in_channels == out}
layers:
  - {block: ir, name: s, repeat: 2, out: 24, stride: "2 if index == 0 else 1"}
  - {block: ir, name: rest, repeat: 0, out: 24}
  - {type: global_avgpool, name: never, when: false, repeat: "in_channels // 0"}
  - {type: avgpool, name: pool, kernel: in_size}
"""


def report_of(text: str, tmp_path):
    path = tmp_path / "net.yaml"
    path.write_text(text)
    return analyze(convcalc.load(str(path)))


def error_of(text: str, tmp_path) -> tuple[str, str]:
    path = tmp_path / "net.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as info:
        analyze(convcalc.load(str(path)))
    return str(info.value).replace(str(path), "FILE"), info.value.hint or ""


def test_inverted_residual_reads_its_input_channels_and_index(tmp_path):
    report = report_of(INVERTED_RESIDUAL, tmp_path)
    layers = {layer.name: layer for layer in report.layers}
    # s.0 (stride 2 from index 0): 16 → 96 expand, depthwise 96 at stride 2 → 4×4, project → 24; no residual
    # s.1 (stride 1): 24 → 144 expand, depthwise 144 at 4×4, project → 24; residual kept (24 == 24)
    assert [name for name in layers if name.endswith("residual")] == ["s.1.residual"]
    assert layers["s.0.expand"].output_shape == [96, 8, 8] and layers["s.0.dw"].output_shape == [96, 4, 4]
    assert layers["s.1.expand"].output_shape == [144, 4, 4] and layers["s.1.dw"].output_shape == [144, 4, 4]
    # params: expand 16·96 = 1,536; dw 96·9 = 864; project 96·24 = 2,304; expand 24·144 = 3,456;
    # dw 144·9 = 1,296; project 144·24 = 3,456; batchnorm γ and β: 2·(96 + 96 + 24 + 144 + 144 + 24) = 1,056
    assert [layers[n].params for n in ("s.0.expand", "s.0.dw", "s.0.project", "s.1.expand", "s.1.dw",
                                       "s.1.project")] == [1536, 864, 2304, 3456, 1296, 3456]
    assert report.totals.params == 13968
    # MACs: 1,536·64 + 864·16 + 2,304·16 + 3,456·16 + 1,296·16 + 3,456·16 = 98,304 + 13,824 + 36,864 + 55,296
    #   + 20,736 + 55,296
    assert report.totals.macs == 280320
    # `rest` repeats 0 times and `never` is skipped: the pool reads s.1 (24×4×4) and pools its whole 4×4
    assert layers["pool"].inputs == ["s.1.residual"] and layers["pool"].output_shape == [24, 1, 1]
    assert "rest" not in " ".join(layers) and "never" not in layers


def test_in_rank_and_in_size_items(tmp_path):
    report = report_of("""\
name: t
input: [4, 6, 10]
layers:
  - {type: conv, name: c, out: "in_rank * 10 + in_size[0]", kernel: [1, "in_size[-1] // 5"]}
  - {type: linear, name: fc, inputs: input, when: in_rank == 0, out: 3}
""", tmp_path)
    (conv,) = report.layers
    assert conv.output_shape == [26, 6, 9]  # 2·10 + 6 channels; kernel 1×2 on 6×10 → 6×9


def test_a_repeated_layer_sees_each_repetitions_input(tmp_path):
    report = report_of("""\
name: t
input: [3, 8, 8]
layers:
  - {type: conv, name: c, repeat: 3, out: "in_channels * 2", kernel: 1, stride: "1 if index == 1 else 2"}
""", tmp_path)
    assert [layer.output_shape for layer in report.layers] == [[6, 4, 4], [12, 4, 4], [24, 2, 2]]


def test_first_block_and_the_rest_with_one_repetition(tmp_path):
    text = """\
name: t
input: [8, 8, 8]
vars: {n: 1}
blocks:
  unit:
    args: {out: null, stride: 1}
    layers:
      - {type: conv, name: conv, out: out, kernel: 3, stride: stride, padding: 1}
      - {type: add, name: add, inputs: [x, conv], when: in_channels == out and stride == 1}
layers:
  - {block: unit, name: stage, out: 16, stride: 2}
  - {block: unit, name: stage_rest, repeat: n - 1, out: 16}
  - {type: relu, name: act}
"""
    report = report_of(text, tmp_path)
    assert [layer.name for layer in report.layers] == ["stage.conv", "act"]
    assert report.layers[1].inputs == ["stage.conv"]
    report = report_of(text.replace("n: 1", "n: 3"), tmp_path)
    assert [layer.name for layer in report.layers] == [
        "stage.conv", "stage_rest.0.conv", "stage_rest.0.add", "stage_rest.1.conv", "stage_rest.1.add", "act"]


def test_a_zero_repeat_or_skipped_item_passes_its_input_through_by_name(tmp_path):
    report = report_of("""\
name: t
input: [4, 8, 8]
layers:
  - {type: conv, name: a, out: 6, kernel: 1}
  - {type: conv, name: b, repeat: 0, out: 5, kernel: 1}
  - {type: conv, name: c, when: false, repeat: "in_size // 0", out: "in_channels // 0", kernel: 1}
  - {type: add, name: sum, inputs: [b, c]}
""", tmp_path)
    assert report.layers[-1].inputs == ["a", "a"] and report.layers[-1].output_shape == [6, 8, 8]


def test_when_reading_index_is_decided_per_repetition(tmp_path):
    report = report_of("""\
name: t
input: [4, 8, 8]
layers:
  - {type: conv, name: c, repeat: 3, out: 4, kernel: 1, when: index != 1}
""", tmp_path)
    assert [layer.name for layer in report.layers] == ["c.0", "c.2"]


def test_type_from_a_block_argument_or_an_expression(tmp_path):
    report = report_of("""\
name: t
input: [8, 4, 4]
vars: {use_hs: true}
blocks:
  cba:
    args: {out: null, act: relu}
    layers:
      - {type: conv, name: conv, out: out, kernel: 1}
      - {type: act, name: act}
layers:
  - {block: cba, name: a, out: 8}
  - {block: cba, name: b, out: 8, act: "'hardswish' if use_hs else 'relu'"}
  - {type: "'hardswish' if not use_hs else 'relu'", name: last}
""", tmp_path)
    assert [(layer.name, layer.type) for layer in report.layers] == [
        ("a.conv", "conv"), ("a.act", "relu"), ("b.conv", "conv"), ("b.act", "hardswish"), ("last", "relu")]


@pytest.mark.parametrize("text, where, message, hint", [
    # line 4: `  - {type: conv, out: ` is 22 characters → col 23
    ("name: t\ninput: [3, 8, 8]\nlayers:\n  - {type: conv, out: \"in_channels // 0\", kernel: 1}\n",
     "FILE:4:23", "in expression `in_channels // 0`: division by zero in `in_channels // 0`", "check the values"),
    # line 4: `  - {type: linear, out: ` is 24 characters → col 25; a flat input has no spatial sizes
    ("name: t\ninput: [3]\nlayers:\n  - {type: linear, out: \"in_size[0]\"}\n",
     "FILE:4:25", "in expression `in_size[0]`: index 0 is out of range for `in_size`, a list of 0",
     "a flat input has no spatial sizes"),
    # line 4: `  - {type: conv, kernel: 1, out: ` is 33 characters → col 34; `in_size` is a list
    ("name: t\ninput: [3, 8, 8]\nlayers:\n  - {type: conv, kernel: 1, out: \"in_size * 2\"}\n",
     "FILE:4:34", "in expression `in_size * 2`: `in_size * 2` works on the list [8, 8], not a number", "in_size[0]"),
    # line 3: `vars: {` is 7 characters → col 8 (the key)
    ("name: t\ninput: [3, 8, 8]\nvars: {in_channels: 3}\nlayers:\n  - {type: relu}\n",
     "FILE:3:8", "var name `in_channels` cannot be used: `in_channels` is a reserved name", "channel count"),
    # line 4: `    args: {` is 11 characters → col 12
    ("name: t\ninput: [3, 8, 8]\nblocks:\n  b:\n    args: {index: 0}\n    layers: [{type: relu}]\n"
     "layers:\n  - {block: b}\n",
     "FILE:5:12", "block `b`: argument name `index` cannot be used: `index` is a reserved name", "repetition"),
    # line 8: `  - {block: b, act: ` is 20 characters → col 21: the call's value, named with the block's field
    ("name: t\ninput: [3, 8, 8]\nblocks:\n  b:\n    args: {act: relu}\n    layers: [{type: act}]\n"
     "layers:\n  - {block: b, act: relux}\n",
     "FILE:8:21", "unknown layer type `relux` (from `type: act` in block `b`, line 6)", "did you mean `relu`"),
    # line 4: `  - {type: ` is 11 characters → col 12
    ("name: t\ninput: [3, 8, 8]\nlayers:\n  - {type: \"'relux' if true else 'relu'\"}\n",
     "FILE:4:12", "unknown layer type `relux`", "did you mean `relu`"),
    # line 4: `  - {type: relu, repeat: ` is 25 characters → col 26
    ("name: t\ninput: [3, 8, 8]\nlayers:\n  - {type: relu, repeat: index + 1}\n",
     "FILE:4:26", "`repeat:` cannot read `index`", "vars"),
    # keys are checked against the resolved kind; line 6: `    layers: [{type: act, ` is 25 characters → col 26
    ("name: t\ninput: [3, 8, 8]\nblocks:\n  b:\n    args: {act: relu}\n    layers: [{type: act, out: 3}]\n"
     "layers:\n  - {block: b}\n",
     "FILE:6:26", "`relu` has no key `out`", ""),
])
def test_errors_point_at_the_value(tmp_path, text, where, message, hint):
    formatted, got_hint = error_of(text, tmp_path)
    assert formatted.startswith(f"{where}: {message}"), formatted
    assert hint in got_hint


def test_a_shape_error_found_early_reads_as_the_analysis_reports_it(tmp_path):
    """The shape of `big` is needed for the next layer's `out`: its error is the one analysis gives without it."""
    text = "name: t\ninput: [8, 4, 4]\nlayers:\n  - {type: conv, name: big, out: 4, kernel: 7}\n" \
           "  - {type: conv, out: OUT, kernel: 1}\n"
    early = error_of(text.replace("OUT", "in_channels"), tmp_path)
    late = error_of(text.replace("OUT", "4"), tmp_path)
    assert early == late
    assert early[0].startswith("FILE:4:5: layer `big` (conv): output size along spatial axis 0 is "
                               "floor((4 + 0 + 0 − 7) / 1) + 1 = -2, below 1")


def test_no_shape_is_worked_out_unless_an_expression_reads_one():
    from convcalc.spec.loader import load

    network = load({"name": "t", "input": [3, 8, 8], "layers": [{"type": "conv", "out": 4, "kernel": 1}] * 5})
    from convcalc.spec import expand as expand_module

    seen = []
    original = expand_module.Expander.shape_of
    expand_module.Expander.shape_of = lambda self, name: seen.append(name) or original(self, name)
    try:
        network.expand()
        assert seen == []
    finally:
        expand_module.Expander.shape_of = original


def test_xception_pools_follow_tensorflow_same_at_any_input_size():
    """configs/xception.yaml picks each entry pool's padding from its `in_size` (TensorFlow's `same`: out =
    ceil(n / 2)), so it takes other inputs than 299. At 224: 3×3/2 valid conv 224 → 111, 3×3 valid → 109, then the
    pools 109 → 55 → 28 → 14, and the exit pool 14 → 7."""
    layers = {layer.name: layer.output_shape for layer in analyze("xception", input=(3, 224, 224)).layers}
    assert [layers[f"block{i}.pool"][1:] for i in (2, 3, 4)] == [[55, 55], [28, 28], [14, 14]]
    assert layers["block14_sepconv2_act"] == [2048, 7, 7]
