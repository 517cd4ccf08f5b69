"""The shipped configs of torchvision classifiers against torchvision's published figures and a torch witness.

Published figures (literals below) are the ``meta`` of each weights enum in pytorch/vision, the numbers of the
torchvision "Classification" model table: ``num_params`` is exact; ``_ops`` is "GFLOPS" rounded to 3 decimals,
which torchvision counts as convcalc counts MACs (conv+linear multiply-accumulates, bias excluded), at the crop
size of the weights' transforms (224, but 240, 288 and 300 for EfficientNet-B1, B2 and B3). Sources:

* torchvision/models/mobilenetv3.py (2f7f558158c8): MobileNet_V3_Large_Weights.IMAGENET1K_V1 and V2, 5,483,032
  params, 0.217; MobileNet_V3_Small_Weights.IMAGENET1K_V1, 2,542,856, 0.057;
* torchvision/models/efficientnet.py: EfficientNet_B0_Weights.IMAGENET1K_V1 (crop 224), 5,288,548, 0.386;
  EfficientNet_B1_Weights.IMAGENET1K_V1 (crop 240), 7,794,184, 0.687;
  EfficientNet_B2_Weights.IMAGENET1K_V1 (crop 288), 9,109,994, 1.088; EfficientNet_B3_Weights.IMAGENET1K_V1
  (crop 300), 12,233,232, 1.827;
* torchvision/models/regnet.py: RegNet_Y_400MF_Weights.IMAGENET1K_V1 and V2, 4,344,144, 0.402;
  RegNet_Y_800MF_Weights.IMAGENET1K_V1 and V2, 6,432,512, 0.834; RegNet_Y_1_6GF_Weights, 11,202,430, 1.612;
  RegNet_Y_3_2GF_Weights, 19,436,338, 3.176 (regnet_y_800mf: depth 14, w_0 56, w_a 38.84, w_m 2.4, group width
  16; regnet_y_1_6gf: 27, 48, 20.71, 2.65, 24; regnet_y_3_2gf: 21, 80, 42.63, 2.66, 24; each given to the
  RegNetY-400MF config with ``--set``);
* torchvision/models/convnext.py (086fe1f69de3): ConvNeXt_Tiny_Weights.IMAGENET1K_V1, 28,589,128, 4.456.

The witness is the torch model of tests/torchvision_models.py, written from torchvision's source: its
``sum(p.numel())`` must be the published count (which validates the rewrite), and its MACs, counted by the
forward hooks of tests/importers/hooks.py, must round to the published GFLOPS. convcalc's params and MACs must then
equal the witness's exactly. Without torch, the checks against the published literals still run.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

import convcalc

# config, its --set vars, torchvision builder, resolution, published num_params, published "_ops" (GFLOPS)
CASES = {
    "mobilenet_v3_large": ("mobilenet_v3_large", {}, "mobilenet_v3_large", 224, 5_483_032, "0.217"),
    "mobilenet_v3_small": ("mobilenet_v3_small", {}, "mobilenet_v3_small", 224, 2_542_856, "0.057"),
    "efficientnet_b3": ("efficientnet_b3", {}, "efficientnet_b3", 300, 12_233_232, "1.827"),
    "efficientnet_b0": ("efficientnet_b3", {"width": "1.0", "depth": "1.0", "resolution": 224},
                        "efficientnet_b0", 224, 5_288_548, "0.386"),
    "efficientnet_b1": ("efficientnet_b3", {"width": "1.0", "depth": "1.1", "resolution": 240},
                        "efficientnet_b1", 240, 7_794_184, "0.687"),
    "efficientnet_b2": ("efficientnet_b3", {"width": "1.1", "depth": "1.2", "resolution": 288},
                        "efficientnet_b2", 288, 9_109_994, "1.088"),
    "regnet_y_400mf": ("regnet_y_400mf", {}, "regnet_y_400mf", 224, 4_344_144, "0.402"),
    "regnet_y_800mf": ("regnet_y_400mf", {"depth": 14, "w_0": 56, "w_a": "38.84", "w_m": "2.4", "group_width": 16},
                       "regnet_y_800mf", 224, 6_432_512, "0.834"),
    "regnet_y_1_6gf": ("regnet_y_400mf", {"depth": 27, "w_0": 48, "w_a": "20.71", "w_m": "2.65", "group_width": 24},
                       "regnet_y_1_6gf", 224, 11_202_430, "1.612"),
    "regnet_y_3_2gf": ("regnet_y_400mf", {"depth": 21, "w_0": 80, "w_a": "42.63", "w_m": "2.66", "group_width": 24},
                       "regnet_y_3_2gf", 224, 19_436_338, "3.176"),
    "convnext_tiny": ("convnext_tiny", {}, "convnext_tiny", 224, 28_589_128, "4.456"),
}
IDS = sorted(CASES)


def rounds_to(macs: int, figure: str) -> bool:
    """``macs / 10⁹`` rounded half up to the decimals of ``figure`` is ``figure``."""
    places = len(figure.partition(".")[2])
    return int(Fraction(macs, 10 ** 9) * 10 ** places + Fraction(1, 2)) == Fraction(figure) * 10 ** places


def test_rounds_to_by_hand():
    assert rounds_to(216_589_760, "0.217") and rounds_to(216_500_000, "0.217") and not rounds_to(216_499_999, "0.217")


def totals(name):
    config, sets, _, resolution, _, _ = CASES[name]
    report = convcalc.analyze(config, **sets)
    assert list(report.input) == [3, resolution, resolution]
    return report.totals


@pytest.mark.parametrize("name", IDS)
def test_convcalc_gives_the_published_figures(name):
    *_, num_params, gflops = CASES[name]
    result = totals(name)
    assert result.params == num_params
    assert rounds_to(result.macs, gflops), f"{result.macs:,} MACs is not {gflops} GMACs"


@pytest.fixture(scope="module")
def witnesses():
    torch = pytest.importorskip("torch")
    import torchvision_models
    from importers.hooks import count_macs

    def measure(name):
        *_, builder, resolution, _, _ = CASES[name]
        with torch.device("meta"):
            model = getattr(torchvision_models, builder)()
        return sum(p.numel() for p in model.parameters()), count_macs(model, (3, resolution, resolution))

    return measure


@pytest.mark.parametrize("name", IDS)
def test_the_torch_witness_has_the_published_figures(witnesses, name):
    *_, num_params, gflops = CASES[name]
    params, macs = witnesses(name)
    assert params == num_params
    assert rounds_to(macs, gflops)


@pytest.mark.parametrize("name", IDS)
def test_convcalc_equals_the_torch_witness(witnesses, name):
    result = totals(name)
    assert (result.params, result.macs) == witnesses(name)


def test_the_b3_config_at_b0_settings_is_the_shipped_b0_config():
    """configs/efficientnet_b0.yaml writes B0 out; the B3 config reaches it with ``--set`` (one-block stages)."""
    b0 = convcalc.analyze("efficientnet_b0").totals
    assert (b0.params, b0.macs) == (5_288_548, 385_814_752)
    from_b3 = totals("efficientnet_b0")
    assert (from_b3.params, from_b3.macs, from_b3.flops) == (b0.params, b0.macs, b0.flops)
