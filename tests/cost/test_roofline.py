"""The roofline (convcalc/cost/roofline.py, docs/roofline.md): bytes moved, intensity, time and bound per layer,
fusion, totals, and the chooser under the roofline.

Every expected number is worked by hand in a comment, on a made-up device of 10 TFLOP/s float32 and 100 GB/s
(ridge point 100 FLOP/byte), so that the times are round.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from convcalc.cost.devices import parse_device
from convcalc.cost.roofline import roofline
from convcalc.spec.loader import load

MADE_UP = """\
name: made-up
title: A made-up device
kind: gpu
peak_tflops:
  float32: 10      # 10^13 FLOP/s
  float16: 40
bandwidth_gb_s: 100  # 10^11 B/s
"""


@pytest.fixture
def device():
    return parse_device(MADE_UP, "made-up.yaml")


def network(layers: str, input="[64, 56, 56]", extra=""):
    return load(f"name: net\ninput: {input}\n{extra}layers:\n{layers}")


POINTWISE = "  - {type: conv, name: pw, out: 256, kernel: 1, bias: false}\n"
CHAIN = POINTWISE + "  - {type: batchnorm, name: bn}\n  - {type: relu, name: relu}\n"


def test_a_pointwise_convs_bytes_intensity_and_time(device):
    # 1×1 conv 64 → 256 at 56×56 (3,136 positions), float32, batch 1:
    # FLOPs = 2·256·64·3136 = 102,760,448; weights 256·64·4 = 65,536 B; input 64·3136·4 = 802,816 B;
    # output 256·3136·4 = 3,211,264 B; bytes 4,079,616; compute 102,760,448 / 10^13 s = 10.2760448 µs,
    # memory 4,079,616 / 10^11 s = 40.79616 µs → memory-bound, 40.79616 µs
    layer = roofline(network(POINTWISE).expand(), device).layers[0]
    assert (layer.flops, layer.weight_bytes, layer.input_bytes, layer.output_bytes, layer.bytes) == \
        (102_760_448, 65_536, 802_816, 3_211_264, 4_079_616)
    assert layer.intensity == Fraction(102_760_448, 4_079_616)
    assert round(float(layer.intensity), 2) == 25.19
    assert layer.compute_time == Fraction(102_760_448, 10 ** 13)
    assert layer.time == Fraction(4_079_616, 10 ** 11) == Fraction(4_079_616, 100_000_000_000)
    assert layer.bound == "memory"


def test_a_wide_3x3_conv_is_compute_bound(device):
    # 3×3 conv 64 → 64 at 56×56, padding 1: FLOPs 2·64·3136·64·9 = 231,211,008; weights 64·64·9·4 = 147,456;
    # input = output = 802,816 B → 1,753,088 B; compute 23.12 µs > memory 17.53 µs
    layer = roofline(network("  - {type: conv, name: c, out: 64, kernel: 3, padding: 1, bias: false}\n").expand(),
                     device).layers[0]
    assert (layer.flops, layer.bytes) == (231_211_008, 1_753_088)
    assert layer.bound == "compute" and layer.time == Fraction(231_211_008, 10 ** 13)


def test_the_dtype_sets_the_bytes_and_the_peak(device):
    # float16: 2 bytes an element → 2,039,808 B; 40 TFLOP/s → compute 2.569 µs, memory 20.39808 µs
    layer = roofline(network(POINTWISE).expand(), device, "float16").layers[0]
    assert layer.bytes == 2_039_808 and layer.time == Fraction(2_039_808, 10 ** 11)


def test_batch_multiplies_the_tensors_not_the_weights(device):
    # batch 2: input 1,605,632 + output 6,422,528 + weights 65,536 once = 8,093,696
    layer = roofline(network(POINTWISE, extra="batch: 2\n").expand(), device).layers[0]
    assert layer.bytes == 8_093_696 and layer.flops == 205_520_896


def test_fusing_conv_bn_relu_removes_the_intermediate_tensors(device):
    # unfused: conv 4,079,616; bn 2·256·4 = 2,048 (folded scale and shift) + 3,211,264 in + 3,211,264 out
    # = 6,424,576; relu 6,422,528 → 16,926,720. Fused: conv's output write, bn's read and write and relu's read
    # (4 × 3,211,264 = 12,845,056) go → 4,081,664: conv 868,352, bn 2,048, relu 3,211,264 (its output)
    graph = network(CHAIN).expand()
    plain, fused = roofline(graph, device), roofline(graph, device, fuse="elementwise")
    assert [l.bytes for l in plain.layers] == [4_079_616, 6_424_576, 6_422_528]
    assert plain.totals()["bytes"] == 16_926_720
    assert [l.bytes for l in fused.layers] == [868_352, 2_048, 3_211_264]
    assert fused.totals()["bytes"] == 4_081_664 == 16_926_720 - 12_845_056
    assert [l.fused_into for l in fused.layers] == ["", "pw", "pw"]
    assert [l.flops for l in fused.layers] == [l.flops for l in plain.layers]  # fusion never changes FLOPs


def test_a_tensor_read_twice_is_not_fused_away(device):
    # the conv's output feeds both the relu and the add: it must be written; the add (relu's only reader)
    # fuses into the relu, whose output is then not written: relu reads 802,816 and writes 0,
    # add reads the conv output (802,816) and writes 802,816
    layers = ("  - {type: conv, name: c, out: 64, kernel: 1, bias: false}\n  - {type: relu, name: r}\n"
              "  - {type: add, name: a, inputs: [r, c]}\n")
    fused = roofline(network(layers).expand(), device, fuse="elementwise")
    c, r, a = fused.layers
    assert c.output_bytes == 802_816 and r.fused_into == "" and (r.input_bytes, r.output_bytes) == (802_816, 0)
    assert a.fused_into == "r" and (a.input_bytes, a.output_bytes) == (802_816, 802_816)


def test_views_move_nothing(device):
    # flatten is a view: 0 bytes and no time; the linear reads the conv's output itself
    layers = ("  - {type: global_avgpool, name: gap}\n  - {type: flatten, name: f}\n"
              "  - {type: linear, name: fc, out: 10, bias: false}\n")
    gap, flat, fc = roofline(network(layers).expand(), device).layers
    assert (flat.bytes, flat.time, flat.bound) == (0, 0, "none")
    # linear 64 → 10: weights 640·4 = 2,560, input 256, output 40
    assert (fc.weight_bytes, fc.input_bytes, fc.output_bytes) == (2_560, 256, 40)


def test_totals(device):
    # conv 40.79616 µs (memory), bn 64.24576 µs (memory), relu 64.22528 µs (memory): 169.2672 µs;
    # FLOPs 102,760,448 + 2·802,816 + 802,816 = 105,168,896; achieved = F / (latency · peak)
    report = roofline(network(CHAIN).expand(), device)
    t = report.totals()
    assert t["latency"] == Fraction(16_926_720, 10 ** 11)
    assert (t["memory_bound"], t["layers"], t["memory_bound_share"]) == (3, 3, 1)
    assert t["flops"] == 105_168_896
    assert t["achieved_fraction"] == Fraction(105_168_896, 10 ** 13) / Fraction(16_926_720, 10 ** 11)


def test_the_efficiency_factor_divides_every_time(device):
    slow = parse_device(MADE_UP + "efficiency: 0.5\n", "slow.yaml")
    layer = roofline(network(POINTWISE).expand(), slow).layers[0]
    assert layer.time == 2 * Fraction(4_079_616, 10 ** 11)


def test_a_dtype_the_device_lacks_is_an_error(device):
    from convcalc.errors import SpecError

    with pytest.raises(SpecError, match="no peak for bfloat16 .it gives float32, float16."):
        roofline(network(POINTWISE).expand(), device, "bfloat16")


def test_best_under_the_roofline_says_why(device):
    from convcalc.cost.algorithms import algorithms
    from convcalc.cost.roofline import choose_by_roofline

    graph = network("  - {type: conv, name: c, out: 64, kernel: 3, padding: 1, bias: false}\n").expand()
    report = choose_by_roofline(algorithms(graph), device, "float32")
    conv = report.convs[0]
    assert report.chosen_by == "roofline time on made-up (float32)"
    assert conv.reason.startswith("fastest on made-up: ")
    assert "bound" in conv.reason


# ---- compute classes: GEMM work at the peak, the rest at the vector peak (docs/roofline.md) -----------------------
VECTOR = MADE_UP + "vector_tflops:\n  float32: 0.1  # 10^11 FLOP/s\n"
DEPTHWISE = "  - {type: depthwise, name: dw, kernel: 3, padding: 1, bias: false}\n"


def test_layer_time_splits_the_compute():
    from convcalc.cost.roofline import layer_time

    # 600 GEMM FLOPs at 100 FLOP/s + 400 vector FLOPs at 10 FLOP/s = 6 + 40 = 46 s; 50 B at 10 B/s = 5 s
    assert layer_time(1000, 50, 100, 10, Fraction(1), 600, 10) == (46, 5, 46)
    assert layer_time(1000, 50, 100, 10) == (10, 5, 10)  # no split: 1,000 / 100


def test_a_depthwise_conv_runs_at_the_vector_peak(device):
    # 3×3 depthwise on 32 × 56² (3,136 positions), padding 1: FLOPs 2·32·3136·9 = 1,806,336, none a GEMM;
    # weights 32·9·4 = 1,152 B, input = output = 32·3136·4 = 401,408 B → 803,968 B, memory 8.03968 µs.
    # At the vector peak 10^11 FLOP/s: compute 18.06336 µs → compute-bound.
    graph = network(DEPTHWISE, input="[32, 56, 56]").expand()
    layer = roofline(graph, parse_device(VECTOR, "v.yaml")).layers[0]
    assert (layer.flops, layer.gemm_flops, layer.bytes) == (1_806_336, 0, 803_968)
    assert layer.compute_time == Fraction(1_806_336, 10 ** 11) and layer.time == layer.compute_time
    assert layer.bound == "compute"
    # without a vector peak (the made-up device): compute 1,806,336 / 10^13 = 0.18 µs, memory-bound 8.03968 µs
    plain = roofline(graph, device).layers[0]
    assert plain.compute_time == Fraction(1_806_336, 10 ** 13) and plain.time == Fraction(803_968, 10 ** 11)


def test_a_gemm_layer_is_unchanged_by_the_vector_peak():
    # the 1×1 conv of the first test: compute 10.2760448 µs at the GEMM peak, memory-bound 40.79616 µs
    layer = roofline(network(POINTWISE).expand(), parse_device(VECTOR, "v.yaml")).layers[0]
    assert layer.gemm_flops == layer.flops == 102_760_448
    assert layer.compute_time == Fraction(102_760_448, 10 ** 13) and layer.time == Fraction(4_079_616, 10 ** 11)


def test_a_depthwise_separable_conv_splits_its_stages():
    # on 32 × 56², out 64, 3×3, padding 1, no bias: depthwise 1,806,336 FLOPs (vector); pointwise MACs
    # 64·32·3136 = 6,422,528 → 12,845,056 FLOPs (GEMM). compute = 12,845,056 / 10^13 + 1,806,336 / 10^11
    # = 1.2845056 + 18.06336 = 19.3478656 µs; bytes: weights (32·9 + 64·32)·4 = 9,344, input 401,408,
    # output 64·3136·4 = 802,816 → 1,213,568 B, memory 12.13568 µs → compute-bound 19.3478656 µs
    graph = network("  - {type: depthwise_separable, name: ds, out: 64, kernel: 3, padding: 1, bias: false}\n",
                    input="[32, 56, 56]").expand()
    layer = roofline(graph, parse_device(VECTOR, "v.yaml")).layers[0]
    assert (layer.flops, layer.gemm_flops, layer.bytes) == (14_651_392, 12_845_056, 1_213_568)
    assert layer.time == Fraction(193_478_656, 10 ** 13) and layer.bound == "compute"


def test_the_vector_peak_in_json_and_the_table():
    from convcalc.render.roofline import RooflineView

    report = roofline(network(DEPTHWISE, input="[32, 56, 56]").expand(), parse_device(VECTOR, "v.yaml"))
    data = report.to_dict()
    assert data["vector_peak_flops"] == 1e11 and data["peak_flops"] == 1e13
    assert data["layers"][0]["gemm_flops"] == 0 and data["device"]["vector_peak_flops"] == {"float32": 1e11}
    view = RooflineView(report)
    assert "vector (non-GEMM) work at 100 GFLOP/s" in view._device().text
    assert "GEMM FLOPs / peak + other FLOPs / vector peak" in view._notes()[0].text


# ---- --algorithm best --device: each algorithm's GEMM part at the peak, its vector part at the vector peak ---------
#: a slow device, so that compute dominates: 10^9 FLOP/s GEMM, 10^8 FLOP/s vector, 10^12 B/s
SLOW = """\
name: slow
title: A slow made-up device
kind: cpu
peak_tflops:
  float32: 0.001     # 10^9 FLOP/s
vector_tflops:
  float32: 0.0001    # 10^8 FLOP/s
bandwidth_gb_s: 1000  # 10^12 B/s
"""
SMALL = "  - {type: conv, name: c, out: 4, kernel: 3, padding: 1, bias: false}\n"
SMALL_DW = "  - {type: depthwise, name: dw, kernel: 3, padding: 1, bias: false}\n"


def _times(layers, profile):
    from convcalc.cost.algorithms import algorithms
    from convcalc.cost.roofline import choose_by_roofline, estimate_time

    graph = network(layers, input="[4, 8, 8]").expand()
    report = choose_by_roofline(algorithms(graph), profile, "float32")
    conv = report.convs[0]
    return {e.algorithm: estimate_time(e, conv.geometry, 1, profile, "float32")
            for e in conv.estimates if e.applicable}, conv


def test_each_algorithm_splits_into_its_gemm_and_its_vector_part():
    # conv 4→4 3×3, padding 1, at 8×8, batch 1; io bytes: input 4·64·4 = 1,024, output 1,024, weights 4·4·9·4 = 576
    # → 2,624 B (2.624 ns at 10^12 B/s: every algorithm here is compute-bound).
    times, conv = _times(SMALL, parse_device(SLOW, "slow.yaml"))
    # direct: 4·4·9·64 = 9,216 multiplications → 18,432 FLOPs, all GEMM (4 input channels per group): 18.432 µs
    assert times["direct"][0] == Fraction(18_432, 10 ** 9)
    # im2col: the same 9,216 products as one GEMM; the lowered matrix (36 × 64 = 2,304 elements) is traffic only:
    # compute 18.432 µs, memory (2,624 + 2·2,304·4) / 10^12 = 21,056 B → 21.056 ns
    assert times["im2col"][:2] == (Fraction(18_432, 10 ** 9), Fraction(21_056, 10 ** 12))
    # F(2×2,3×3): T = 4·4 = 16 tiles, α² = 16: 16·4·4·16 = 4,096 products → 8,192 GEMM FLOPs (16 batched GEMMs over
    # the channels); transforms, vector: input 32 ops·16 tiles·4 channels + output 24·16·4 = 2,048 + 1,536 = 3,584.
    # compute = 8,192 / 10^9 + 3,584 / 10^8 = 8.192 + 35.84 = 44.032 µs
    assert times["winograd_2x2_3x3"][0] == Fraction(8_192, 10 ** 9) + Fraction(3_584, 10 ** 8)
    # F(4×4,3×3): T = 2·2 = 4, α² = 36: 36·16·4 = 2,304 products → 4,608 GEMM FLOPs; transforms 336·4·4 + 200·4·4
    # = 5,376 + 3,200 = 8,576 vector: 4.608 + 85.76 = 90.368 µs
    assert times["winograd_4x4_3x3"][0] == Fraction(4_608, 10 ** 9) + Fraction(8_576, 10 ** 8)
    # FFT: padded 10 → 16, N = 256, log₂N = 8: 4·4·4·256 = 16,384 real multiplications → 32,768 GEMM FLOPs (one
    # complex GEMM per frequency over the channels); 8 FFTs of 5·256·8 = 10,240 ops = 81,920 vector FLOPs:
    # 32.768 + 819.2 = 851.968 µs
    assert times["fft"][0] == Fraction(32_768, 10 ** 9) + Fraction(81_920, 10 ** 8)
    # direct and im2col tie at 18.432 µs; direct has no workspace
    assert conv.best.algorithm == "direct" and conv.reason.startswith("fastest on slow: 18.4 µs (compute-bound)")
    assert "winograd F(2×2,3×3) 44 µs (compute-bound)" in conv.reason


def test_without_a_vector_peak_every_part_runs_at_the_peak():
    # the same conv on the slow device without its vector peak: F(2×2,3×3) (8,192 + 3,584) / 10^9 = 11.776 µs
    # beats direct's 18.432 µs — the vector peak above is what makes its transforms cost more than they save
    one_peak = parse_device(SLOW.replace("vector_tflops:\n  float32: 0.0001    # 10^8 FLOP/s\n", ""), "slow.yaml")
    times, conv = _times(SMALL, one_peak)
    assert times["winograd_2x2_3x3"][0] == Fraction(11_776, 10 ** 9)
    assert times["winograd_4x4_3x3"][0] == Fraction(4_608 + 8_576, 10 ** 9)  # 13.184 µs
    assert conv.best.algorithm == "winograd_2x2_3x3"


def test_a_depthwise_convs_products_are_vector_work():
    # 3×3 depthwise on 4 × 8²: one input channel per group, so no algorithm's products are a GEMM.
    # direct: 4·64·9 = 2,304 multiplications → 4,608 FLOPs at 10^8: 46.08 µs
    # F(2×2,3×3): 16·4·1·16 = 1,024 products → 2,048 FLOPs, + the same 3,584 transform ops: 5,632 / 10^8 = 56.32 µs
    times, conv = _times(SMALL_DW, parse_device(SLOW, "slow.yaml"))
    assert times["direct"][0] == Fraction(4_608, 10 ** 8)
    assert times["winograd_2x2_3x3"][0] == Fraction(5_632, 10 ** 8)
    assert conv.best.algorithm == "direct"
