"""Device profiles (convcalc/cost/devices.py): the shipped YAMLs load, every value has its source, and a bad
profile is an error at its FILE:LINE:COL."""

from __future__ import annotations

from fractions import Fraction

import pytest

from convcalc.cost.devices import find_device, parse_device, shipped_devices, shipped_files
from convcalc.errors import SpecError

GOOD = "name: x\ntitle: X\nkind: cpu\npeak_tflops:\n  float32: 1.5\nbandwidth_gb_s: 20\n"


def test_the_six_shipped_profiles_load():
    assert list(shipped_files()) == ["a100", "h100", "h200", "m2", "rpi5", "rtx4090"]
    assert all(d.peak and d.bandwidth > 0 and d.efficiency == 1 for d in shipped_devices())


@pytest.mark.parametrize("name", ["a100", "h100", "h200", "m2", "rpi5", "rtx4090"])
def test_every_value_of_a_shipped_profile_has_its_source_in_a_comment(name):
    text = open(shipped_files()[name], encoding="utf-8").read()
    values = [line for line in text.splitlines()
              if line.strip() and not line.lstrip().startswith("#") and not line.rstrip().endswith(":")
              and line.split(":", 1)[0].strip() not in ("name", "title", "aliases", "kind")]
    assert values
    missing = [line for line in values if "#" not in line]
    assert not missing, f"{name}: values without a source comment: {missing}"
    assert text.lstrip().startswith("#")  # the header names the source document


def test_cited_figures():
    # dense figures: H100 SXM datasheet's sparse 989 / 1,979 / 3,958 halved; A100 80GB's dense column;
    # RTX 4090 FP16 tensor with FP32 accumulate; Pi 5: 4 × 2.4 GHz × 16 = 153.6 GFLOP/s, 4267 MT/s × 4 B
    h100, a100, rtx, pi = (find_device(n) for n in ("h100", "a100-80gb", "rtx4090", "rpi5"))
    assert h100.peak["tf32"] == Fraction("494.7") * 10 ** 12 and h100.peak["bfloat16"] == Fraction("989.4") * 10 ** 12
    assert h100.peak["int8"] == Fraction("1978.9") * 10 ** 12 and h100.bandwidth == 3_350 * 10 ** 9
    assert find_device("h200").bandwidth == 4_800 * 10 ** 9
    assert a100.peak["tf32"] == 156 * 10 ** 12 and a100.bandwidth == 2_039 * 10 ** 9
    assert rtx.peak["float16"] == Fraction("165.2") * 10 ** 12 and rtx.bandwidth == 1_008 * 10 ** 9
    assert pi.peak["float32"] == 153_600_000_000 and pi.bandwidth == 17_070_000_000
    assert find_device("m2").peak["float32"] == Fraction("3.6") * 10 ** 12


def test_aliases_and_files(tmp_path):
    assert find_device("h100-sxm").name == "h100"
    path = tmp_path / "x.yaml"
    path.write_text(GOOD)
    device = find_device(str(path))
    assert (device.name, device.peak["float32"], device.bandwidth) == ("x", 1_500_000_000_000, 20_000_000_000)


def test_an_unknown_device_suggests_one():
    with pytest.raises(SpecError, match="unknown device `h10`") as err:
        find_device("h10")
    assert "h100" in err.value.hint


@pytest.mark.parametrize("text, where, what", [
    (GOOD.replace("bandwidth_gb_s: 20", "bandwidth_gb_s: 0"), "p.yaml:6:17", "`bandwidth_gb_s` is 0"),
    (GOOD.replace("float32: 1.5", "float23: 1.5"), "p.yaml:5:3", "unknown dtype `float23`"),
    (GOOD.replace("float32: 1.5", "float32: fast"), "p.yaml:5:12", "`float32` must be a number"),
    (GOOD.replace("kind: cpu", "kind: tpu"), "p.yaml:3:7", "a gpu or a cpu"),
    (GOOD + "effciency: 0.5\n", "p.yaml:7:1", "unknown key `effciency`"),
    (GOOD + "efficiency: 12\n", "p.yaml:7:13", "0 < efficiency ≤ 10"),
    (GOOD + "threads: 0\n", "p.yaml:7:10", "`threads` must be a whole number ≥ 1"),
    (GOOD.replace("bandwidth_gb_s: 20\n", ""), "p.yaml:1:1", "no `bandwidth_gb_s`"),
    ("- a\n", "p.yaml:1:1", "must be a mapping"),
])
def test_profile_errors_have_positions(text, where, what):
    with pytest.raises(SpecError) as err:
        parse_device(text, "p.yaml")
    assert str(err.value.mark) == where and what in err.value.message


def test_unknown_key_suggests_the_close_one():
    with pytest.raises(SpecError) as err:
        parse_device(GOOD + "effciency: 0.5\n", "p.yaml")
    assert "efficiency" in err.value.hint


def test_the_vector_peak_is_optional_and_falls_back_to_the_gemm_peak():
    plain = parse_device(GOOD, "p.yaml")
    assert plain.vector_peak == {} and plain.vector_peak_for("float32") == Fraction(3, 2) * 10 ** 12
    split = parse_device(GOOD + "vector_tflops:\n  float32: 0.004\n", "p.yaml")
    assert split.vector_peak_for("float32") == 4 * 10 ** 9  # 0.004 · 10^12 FLOP/s
    assert split.to_dict()["vector_peak_flops"] == {"float32": 4e9}
    assert plain.to_dict()["vector_peak_flops"] == {}


@pytest.mark.parametrize("extra, where, what", [
    ("vector_tflops:\n  float32: 0\n", "p.yaml:8:12", "`float32` is 0"),
    ("vector_tflops:\n  flaot32: 1\n", "p.yaml:8:3", "unknown dtype `flaot32` under `vector_tflops`"),
    ("vector_tflops: 3\n", "p.yaml:7:16", "`vector_tflops` must map dtypes"),
])
def test_vector_peak_errors_have_positions(extra, where, what):
    with pytest.raises(SpecError) as err:
        parse_device(GOOD + extra, "p.yaml")
    assert str(err.value.mark) == where and what in err.value.message


def test_no_shipped_profile_gives_a_vector_peak():
    # no datasheet quotes one for the arithmetic of depthwise convs, pooling and elementwise kernels: the shipped
    # profiles keep one peak for all work (docs/roofline.md, "Compute classes")
    assert all(d.vector_peak == {} for d in shipped_devices())
