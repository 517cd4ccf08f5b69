"""Training memory (convcalc/cost/train_memory.py): hand-worked literals, the arithmetic in the comments."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import convcalc
from convcalc.cli import options
from convcalc.cli.app import app
from convcalc.cost.analysis import expand
from convcalc.cost.train_memory import OPTIMIZERS, PRECISION_NAMES, bytes_per_param, train_memory
from convcalc.errors import SpecError
from convcalc.layers import REGISTRY
from convcalc.layers.base import own

CONV_RELU_CONV = {"name": "crc", "input": [3, 8, 8], "layers": [
    {"type": "conv", "out": 4, "kernel": 3, "padding": 1},
    {"type": "relu"},
    {"type": "conv", "out": 2, "kernel": 3, "padding": 1}]}


def memory(spec, **kwargs):
    return train_memory(expand(convcalc.load(spec)), **kwargs)


# ---- bytes per parameter ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("optimizer, precision, total", [
    ("sgd", "fp32", 8),        # 4 weights + 4 grads
    ("momentum", "fp32", 12),  # + 4 momentum buffer
    ("adam", "fp32", 16),      # + 4 exp_avg + 4 exp_avg_sq
    ("adamw", "fp32", 16),
    ("adam", "bf16", 8),       # pure bf16: 2 + 2 + 2·2
    ("sgd", "bf16", 4),
    ("adam", "mixed", 16),     # ZeRO §3.1: 2 fp16 weights + 2 fp16 grads + 12 (fp32 master, momentum, variance)
    ("sgd", "mixed", 8),       # 2 + 2 + 4 master
    ("momentum", "mixed", 12),
])
def test_bytes_per_param(optimizer, precision, total):
    assert bytes_per_param(optimizer, precision)["total"] == total


def test_mixed_adam_parts_are_zeros():
    assert bytes_per_param("adam", "mixed") == {"weights": 2, "gradients": 2, "optimizer_state": 8,
                                                "master_weights": 4, "total": 16}


# ---- saved activations ------------------------------------------------------------------------------------------
def test_conv_relu_conv_by_hand():
    m = memory(CONV_RELU_CONV)
    conv1, relu, conv2 = m.layers
    assert conv1.saved_bytes == 768        # its input: 3·8·8 · 4 B
    assert relu.saved_bytes == 1024        # its output: 4·8·8 · 4 B
    assert conv2.saved_bytes == 1024       # its input, the ReLU's output …
    assert conv2.new_bytes == 0            # … already saved: counted once
    assert conv2.saved[0].shared == "relu1"
    assert m.saved_bytes == 1792           # 768 + 1024
    assert m.saved_bytes_listed == 2816    # 768 + 1024 + 1024
    # params 4·3·9 + 4 = 112 and 2·4·9 + 2 = 74: 186 · 16 B (adam fp32)
    assert m.static_bytes == 2976
    # peak: conv2's backward: saved 1792 + its output 512 + dL/dy 512 + the ReLU output's gradient 1024
    assert (m.peak, m.peak_layer, m.peak_phase) == (2976 + 3840, "conv2", "backward")


def test_bf16_halves_the_activations():
    assert memory(CONV_RELU_CONV, precision="bf16").saved_bytes == 896   # (3·64 + 4·64) · 2 B


def test_frozen_first_conv_saves_nothing_before_the_trainable_one():
    m = memory(CONV_RELU_CONV, frozen={"conv1"})
    conv1, relu, conv2 = m.layers
    assert not conv1.backward and not relu.backward and conv2.backward
    assert m.saved_bytes == 1024                       # only conv2's input
    assert m.static["gradients"] == 296                # 74 trainable params · 4 B
    assert m.static["optimizer_state"] == 592          # 74 · 8 B
    assert m.static["weights"] == 744                  # frozen weights still count: 186 · 4 B


def test_unknown_frozen_name_is_an_error():
    with pytest.raises(SpecError, match="`nope`"):
        memory(CONV_RELU_CONV, frozen={"nope"})


def test_maxpool_saves_input_and_int64_indices():
    m = memory({"input": [2, 4, 4], "layers": [{"type": "conv", "out": 2, "kernel": 1},
                                               {"type": "maxpool", "kernel": 2}]})
    pool = m.layers[1]
    assert [row.bytes for row in pool.saved] == [128, 64]   # input 2·4·4 · 4 B; indices 2·2·2 · 8 B


def test_batchnorm_statistics_are_per_channel_not_per_sample():
    spec = {"input": [4, 2, 2], "batch": 3, "layers": [{"type": "conv", "out": 4, "kernel": 1}, {"type": "batchnorm"}]}
    bn = memory(spec).layers[1]
    assert [row.bytes for row in bn.saved] == [192, 32]     # input 3·4·2·2 · 4 B; mean, 1/σ: 2·4 · 4 B


def test_dropout_mask_is_one_byte_per_element():
    spec = {"input": [5], "batch": 2, "layers": [{"type": "linear", "out": 6}, {"type": "dropout", "p": 0.1}]}
    drop = memory(spec).layers[1]
    assert [(row.bytes, row.dtype) for row in drop.saved] == [(12, "bool")]   # 2·6 · 1 B


def test_flatten_is_a_view_so_linear_shares_the_relu_output():
    spec = {"input": [2, 2, 2], "layers": [{"type": "conv", "out": 2, "kernel": 1}, {"type": "relu"},
                                           {"type": "flatten"}, {"type": "linear", "out": 3}]}
    m = memory(spec)
    assert m.layers[3].saved[0].shared == "relu1"
    assert m.saved_bytes == 64     # the conv's input 2·2·2 · 4 B + the ReLU output 2·2·2 · 4 B, once


def test_frozen_linear_saves_no_input():
    spec = {"input": [4], "layers": [{"type": "linear", "name": "a", "out": 4}, {"type": "linear", "name": "b",
                                                                                 "out": 2}]}
    m = memory(spec, frozen={"b"})
    # b runs backward (a's output needs a gradient) but saves nothing: x is kept only for its own dW
    assert m.layers[1].backward and m.layers[1].saved == []
    assert m.saved_bytes == 16                                        # a's input: 4 · 4 B


# ---- every kind answers, loudly otherwise ------------------------------------------------------------------------
def test_every_kind_answers_saved_for_backward():
    missing = [kind for kind, cls in REGISTRY.items() if not cls.placeholder and own(cls, "saved_for_backward") is None]
    assert missing == []


def test_a_kind_without_an_answer_is_an_error(monkeypatch):
    from convcalc.layers.conv import Conv

    class Unanswered(Conv):  # a kind derived from conv does not inherit conv's answer
        kind = "unanswered_conv"
        fields = Conv.fields

    monkeypatch.setitem(REGISTRY, "unanswered_conv", Unanswered)
    spec = {"input": [3, 4, 4], "layers": [{"type": "unanswered_conv", "out": 2, "kernel": 1}]}
    with pytest.raises(SpecError, match="does not say what it saves for backward"):
        memory(spec)


def test_options_list_the_library_choices():
    assert options.OPTIMIZERS == OPTIMIZERS and options.PRECISIONS == PRECISION_NAMES


# ---- the command --------------------------------------------------------------------------------------------------
def test_cost_train_json(tmp_path):
    path = tmp_path / "crc.yaml"
    path.write_text(json.dumps(CONV_RELU_CONV))
    result = CliRunner().invoke(app, ["cost", str(path), "--optimizer", "adam", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)["cost"]["training"]["memory"]
    assert data["totals"] == {"saved_bytes": 1792, "saved_bytes_without_dedup": 2816, "static_bytes": 2976,
                              "peak_bytes": 6816}
    assert data["peak"]["layer"] == "conv2" and data["bytes_per_param"]["total"] == 16


def test_cost_train_table_and_csv(tmp_path):
    path = tmp_path / "crc.yaml"
    path.write_text(json.dumps(CONV_RELU_CONV))
    table = CliRunner().invoke(app, ["cost", str(path), "--train", "--precision", "mixed", "--units", "raw"])
    assert table.exit_code == 0 and "training memory" in table.output and "fp32 master" in table.output
    assert "896 B" in table.output                          # saved activations at 2 bytes
    csv = CliRunner().invoke(app, ["cost", str(path), "--train", "--format", "csv"])
    assert csv.exit_code == 0 and csv.output.splitlines()[0] == "layer,type,backward,what,storage,dtype,bytes," \
                                                                "shared_with"


def test_cost_train_rejects_a_placeholder(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("input: [3, 4, 4]\nlayers:\n  - {type: conv, out: 2, kernel: 1}\n"
                    "  - {type: unsupported, op: CumSum, shape: [2, 4, 4]}\n")
    assert CliRunner().invoke(app, ["cost", str(path)]).exit_code == 0       # inference: listed, not counted
    result = CliRunner().invoke(app, ["cost", str(path), "--train"])
    assert result.exit_code == 2 and "unsupported `CumSum`" in result.output and "unknown, not zero" in result.output


# ---- convcalc check: train_memory_bytes -------------------------------------------------------------------------
BUDGETED = ("name: crc\ninput: [3, 8, 8]\nbudgets:\n  train_memory_bytes: {limit}\nlayers:\n"
            "  - {{type: conv, out: 4, kernel: 3, padding: 1}}\n  - {{type: relu}}\n"
            "  - {{type: conv, out: 2, kernel: 3, padding: 1}}\n")


@pytest.mark.parametrize("limit, code", [("6KiB", 1), ("6816", 0)])   # the peak: 6,816 B (conv→relu→conv above)
def test_check_train_memory_bytes(tmp_path, limit, code):
    path = tmp_path / "crc.yaml"
    path.write_text(BUDGETED.format(limit=limit))
    result = CliRunner().invoke(app, ["check", str(path)])
    assert result.exit_code == code, result.output
    assert "6,816 B" in result.output


def test_check_train_memory_bytes_has_no_max_increase(tmp_path):
    path = tmp_path / "crc.yaml"
    path.write_text(BUDGETED.format(limit="6KiB").replace("train_memory_bytes: 6KiB",
                                                          "max_increase: {train_memory_bytes: 2%}"))
    result = CliRunner().invoke(app, ["check", str(path)])
    assert result.exit_code == 2 and "no training memory" in result.output


def test_compare_train_column(tmp_path):
    path = tmp_path / "crc.yaml"
    path.write_text(json.dumps(CONV_RELU_CONV))
    result = CliRunner().invoke(app, ["compare", str(path), str(path), "--train", "--units", "raw", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["train_memory_bytes"] == [6816, 6816]
    table = CliRunner().invoke(app, ["compare", str(path), str(path), "--train", "--units", "raw"])
    assert "Training memory" in table.output and "6,816 B" in table.output


def test_docs_table_names_every_kind():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "training.md").read_text(encoding="utf-8")
    table = text[text.index("| kind | saved for backward |"):text.index("### The peak of one training step")]
    rows = [line.split("|")[1] for line in table.splitlines() if line.startswith("| `")]
    listed = {name.strip(" `") for row in rows for name in row.split(",")}
    listed = {name.split(" ")[0].strip("`") for name in listed}
    assert set(REGISTRY) - listed == set()


def test_a_node_marked_untrainable_is_frozen():
    graph = expand(convcalc.load(CONV_RELU_CONV))
    graph.nodes[0].trainable = False   # what a `trainable: false` key gives the node
    m = train_memory(graph)
    assert m.frozen == ["conv1"] and m.saved_bytes == 1024 and m.static["gradients"] == 296   # as frozen={"conv1"}
