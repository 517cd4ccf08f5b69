"""The model zoo (configs/*.yaml) reproduces published parameter and MAC counts exactly, and `convcalc zoo`
lists it.

Expected numbers are published literals; each config's header cites where they come from
(torchvision's model tables, keras's model summaries, the papers' Caffe/PyTorch sources), and the
hand-derived ones carry their arithmetic below. MACs = conv + linear multiply-accumulates, bias excluded,
per sample; params = trainable parameters (BatchNorm running statistics are buffers).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

import convcalc
from convcalc.cli.app import app
from convcalc.zoo import header_description, zoo_entries
from convcalc.spec.loader import shipped_configs

# name: (params, MACs)
EXPECTED = {
    # torchvision model tables (params; "GFLOPS" there are these MACs)
    "alexnet": (61_100_840, 714_188_480),
    "vgg16": (138_357_544, 15_470_264_320),
    "resnet18": (11_689_512, 1_814_073_344),
    "resnet50": (25_557_032, 4_089_184_256),
    "resnext50_32x4d": (25_028_904, 4_230_479_872),
    "mobilenet_v2": (3_504_872, 300_774_272),
    "shufflenet_v2_x1_0": (2_278_604, 144_907_992),
    "squeezenet1_0": (1_248_424, 818_924_576),
    "squeezenet1_1": (1_235_496, 349_151_936),
    "densenet121": (7_978_856, 2_834_161_664),
    "efficientnet_b0": (5_288_548, 385_814_752),
    # at torchvision's 300×300 crop for B3, where its "1.827 GFLOPS" is measured (_ops of EfficientNet_B3_Weights)
    "efficientnet_b3": (12_233_232, 1_827_141_392),
    "mobilenet_v3_large": (5_483_032, 216_589_760),
    "mobilenet_v3_small": (2_542_856, 56_510_400),
    "regnet_y_400mf": (4_344_144, 401_842_848),
    "r3d_18": (33_371_472, 40_696_553_472),
    # torchvision's 27,161,264 params / 5.71 GFLOPS minus the training-only AuxLogits head:
    # conv0 768·128 + BN 256, conv1 128·768·25 + BN 1536, fc 768·1000 + 1000 = 3,326,696 params
    "inception_v3": (23_834_568, 5_713_216_096),
    # torchvision's 42,004,074 params / 178.72 GFLOPS minus the aux FCNHead(1024, 21) on the 65×65 layer3 map:
    # 1024·256·9 + 512 + 256·21 + 21 = 2,365,205 params; 65²·(1024·256·9 + 256·21) = 9,990,739,200 MACs
    "deeplabv3_resnet50": (39_638_869, 168_731_205_888),
    # v1.5 minus 3 stages × (56²·256·128 − 28²·256·128) = 231,211,008 MACs: the stride-2 1×1 runs at 28² etc.
    "resnet50_v1": (25_557_032, 3_857_973_248),
    # keras summaries: trainable params (Xception 22,910,480 total − 54,528 BN moving statistics)
    "mobilenet_v1": (4_231_976, 568_740_352),
    "xception": (22_855_952, 8_357_403_496),
    # Megvii ShuffleNet v1 1x, g=3
    "shufflenet_v1_g3": (1_864_728, 137_460_672),
    # Caffe bvlc_alexnet: conv 34,944 + 307,456 + 885,120 + 663,936 + 442,624; fc 37,752,832 + 16,781,312 +
    # 4,097,000. MACs: 96·55²·363 + 256·27²·1200 + 384·13²·2304 + 384·13²·1728 + 256·13²·1728 + 58,621,952
    "alexnet_bvlc": (60_965_224, 724_406_816),
    # C3D (jfzhang95 PyTorch port, 101 classes): convs 27,655,936 + fc 33,558,528 + 16,781,312 + 413,797
    "c3d": (78_409_573, 38_547_378_176),
    # DCGAN generator (pytorch/examples): MACs on input positions,
    # 1·819,200 + 4²·2,097,152 + 8²·524,288 + 16²·131,072 + 32²·3,072
    "dcgan_generator": (3_576_704, 104_628_224),
    # DeepFace (Taigman et al. 2014, Fig. 2) as the Keras re-implementation (swghosh/DeepFace) builds it: input
    # 3×152×152, every conv/LC unpadded, M2 3×3/2 with TF `same` (pads (0, 1): 142 → 71, written as ceil_mode),
    # F8 over VGGFace2's 8,631 classes (the Keras summary's 137,774,071). Maps 142, 71, 63, 55, 25, 21. Locally
    # connected params are positions · filters · (k²·C_in + 1): C1 32·363 + 32 = 11,648; C3 16·2,592 + 16 =
    # 41,488; L4 55²·16·1,297 = 62,774,800; L5 25²·16·785 = 7,850,000; L6 21²·16·401 = 2,829,456; F7 7,056·4,096 +
    # 4,096 = 28,905,472; F8 4,096·8,631 + 8,631 = 35,361,207. MACs: 142²·32·363 = 234,225,024 + 63²·16·2,592 =
    # 164,602,368 + 55²·16·1,296 = 62,726,400 + 25²·16·784 = 7,840,000 + 21²·16·400 = 2,822,400 + 7,056·4,096 =
    # 28,901,376 + 4,096·8,631 = 35,352,576
    "deepface": (137_774_071, 536_470_144),
    # torchvision's table (ConvNeXt_Tiny_Weights.IMAGENET1K_V1): 28,589,128 params, "4.46 GFLOPS"; the MACs are
    # conv 7×7 depthwise + 1×1-as-linear + stem/downsample convs + classifier, summed by a forward hook on
    # torchvision's layout (tests/torchvision_models.py's convnext_tiny, tests/test_torchvision_configs.py):
    # 4,455,531,264
    "convnext_tiny": (28_589_128, 4_455_531_264),
}


def _network_names() -> list[str]:
    return sorted(name for name in shipped_configs() if "/" not in name)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_published_params_and_macs(name):
    if name not in shipped_configs():
        pytest.skip(f"configs/{name}.yaml is not shipped yet")
    totals = convcalc.analyze(name, batch=1).totals
    assert (totals.params, totals.macs) == EXPECTED[name]


def test_every_shipped_network_is_pinned():
    unpinned = [name for name in _network_names() if name not in EXPECTED]
    assert not unpinned, f"add the published params and MACs of {unpinned} to EXPECTED"



@pytest.mark.parametrize("alpha, resolution, mmacs, mparams", [
    # Howard et al. 2017, Table 6 (width multiplier) and Table 7 (resolution): millions of mult-adds and params
    ("1.0", 224, 569, 4.2), ("0.75", 224, 325, 2.6), ("0.5", 224, 149, 1.3), ("0.25", 224, 41, 0.5),
    ("1.0", 192, 418, 4.2), ("1.0", 160, 290, 4.2), ("1.0", 128, 186, 4.2),
])
def test_mobilenet_v1_width_and_resolution(alpha, resolution, mmacs, mparams):
    totals = convcalc.analyze("mobilenet_v1", alpha=alpha, resolution=resolution).totals
    assert abs(totals.macs / 1e6 - mmacs) < 1  # the paper rounds 568.7 up and 290.7 down
    assert round(totals.params / 1e6, 1) == mparams


def test_deepface_with_the_papers_4030_identities():
    # Taigman et al. 2014 train F8 on SFC's 4,030 identities: F8 4,096·4,030 + 4,030 = 16,510,910 params instead of
    # 35,361,207, i.e. 137,774,071 − 35,361,207 + 16,510,910 = 118,923,774 (the paper: "more than 120 million");
    # MACs 536,470,144 − 4,096·8,631 + 4,096·4,030 = 536,470,144 − 35,352,576 + 16,506,880 = 517,624,448
    totals = convcalc.analyze("deepface", num_classes=4030).totals
    assert (totals.params, totals.macs) == (118_923_774, 517_624_448)


def test_shufflenet_v2_keeps_the_first_half_and_transforms_the_second():
    # torchvision: x1, x2 = x.chunk(2, dim=1); cat((x1, branch2(x2))). Both halves have 58 channels, so a concat of
    # x2 instead of x1 gives the same counts; only the wiring shows it.
    from convcalc.cost.analysis import expand

    nodes = {node.name: node for node in expand("shufflenet_v2_x1_0").nodes}
    assert nodes["stage3.1.x1"].fields["start"] == 0 and nodes["stage3.1.x2"].fields["start"] == 116
    assert nodes["stage3.1.cat"].inputs == ["stage3.1.x1", "stage3.1.branch2.7"]
    assert nodes["stage3.1.branch2.0"].inputs == ["stage3.1.x2"]
    assert nodes["stage3.0.cat"].inputs == ["stage3.0.branch1.4", "stage3.0.branch2.7"]
    assert nodes["stage3.0.branch1.0"].inputs == nodes["stage3.0.branch2.0"].inputs == ["stage2.3.shuffle"]


def test_resnet50_v1_and_v15_share_weights_and_differ_in_stride_only():
    v1 = convcalc.analyze("resnet50_v1")
    v15 = convcalc.analyze("resnet50")
    assert [(layer.name, layer.params) for layer in v1.layers] == [(layer.name, layer.params) for layer in v15.layers]
    assert v15.totals.macs - v1.totals.macs == 231_211_008  # 3 × 77,070,336, see EXPECTED


def test_deeplabv3_output_is_resized_to_the_input():
    report = convcalc.analyze("deeplabv3_resnet50", resolution=256)
    assert report.layers[-1].output_shape == [21, 256, 256]
    # the ASPP pooling branch comes back to the 32×32 feature map (output stride 8)
    resize = next(layer for layer in report.layers if layer.name == "classifier.0.convs.4.resize")
    assert resize.output_shape == [256, 32, 32]


def test_xception_reports_the_keras_same_padding_misalignment():
    # TF `same` pads the 74→37 max pool (0, 1): its windows sit half a stride off the 1×1/2 shortcut's taps
    warnings = convcalc.analyze("xception").warnings
    assert len(warnings) == 1 and warnings[0].startswith("block3.add: misaligned merge")


def test_every_config_opens_with_a_one_line_title():
    for name, path in shipped_configs().items():
        if "/" in name:
            continue
        title = header_description(path.read_text(encoding="utf-8"))
        assert title and len(title) <= 100 and title.endswith("."), (name, title)


# ---- header_description -------------------------------------------------------------------------------------
def test_header_description_takes_the_first_comment_line():
    assert header_description("# Title line.\n#   more\n# Source: x\nname: a\n") == "Title line."
    assert header_description("#\n#  Padded title.\ninput: [1]\n") == "Padded title."
    assert header_description("input: [1]\n# late comment\n") == ""


# ---- convcalc zoo -------------------------------------------------------------------------------------------
runner = CliRunner()


def test_zoo_table_lists_every_network_with_exact_totals():
    result = runner.invoke(app, ["zoo"])
    assert result.exit_code == 0, result.output
    for name in _network_names():
        assert f" {name} " in result.output
    assert "25,557,032" in result.output and "4,089,184,256" in result.output
    assert "variants/" not in result.output


def test_zoo_json_matches_analyze():
    result = runner.invoke(app, ["zoo", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    entries = {entry["name"]: entry for entry in data["configs"]}
    assert set(entries) == set(_network_names())
    resnet = entries["resnet50"]
    assert (resnet["params"], resnet["macs"], resnet["input"]) == (25_557_032, 4_089_184_256, [3, 224, 224])
    assert resnet["description"].startswith("ResNet-50 v1.5")
    assert all(entry["error"] is None for entry in entries.values())


def test_zoo_markdown_and_csv():
    markdown = runner.invoke(app, ["zoo", "-f", "markdown", "--units", "auto"])
    assert markdown.exit_code == 0
    assert "| `resnet50` | 3×224×224 | 25.56 M | 4.09 G |" in markdown.output
    csv_out = runner.invoke(app, ["zoo", "-f", "csv"])
    assert csv_out.exit_code == 0
    assert "resnet50,networks,3x224x224,25557032,4089184256," in csv_out.output


def test_zoo_variants_get_their_own_section(tmp_path, monkeypatch):
    folder = tmp_path / "variants"
    folder.mkdir()
    (folder / "tiny.yaml").write_text("# A tiny conv.\ninput: [1, 5, 5]\nlayers:\n  - {type: conv, out: 2, kernel: 3}\n")
    monkeypatch.setenv("CONVCALC_CONFIGS", str(tmp_path))
    plain = [e.name for e in zoo_entries()]
    assert "variants/tiny" not in plain
    entries = zoo_entries(include_subfolders=True)
    tiny = next(e for e in entries if e.name == "variants/tiny")
    # 2 filters · 9 taps + 2 biases = 20 params; 2 · 3² outputs · 9 taps = 162 MACs
    assert (tiny.section, tiny.params, tiny.macs, tiny.description) == ("variants", 20, 162, "A tiny conv.")
    assert entries[-1].section == "variants"  # networks first
    result = runner.invoke(app, ["zoo", "--variants"])
    assert "Variants (configs/variants/)" in result.output and "variants/tiny" in result.output


def test_zoo_lists_a_broken_config_with_its_error_and_exits_2(tmp_path, monkeypatch):
    (tmp_path / "broken.yaml").write_text("# Broken.\ninput: [3, 8, 8]\nlayers:\n  - {type: conv, out: 4}\n")
    monkeypatch.setenv("CONVCALC_CONFIGS", str(tmp_path))
    result = runner.invoke(app, ["zoo", "-f", "json"])
    assert result.exit_code == 2
    assert "broken.yaml:4:5: `conv` layer is missing `kernel`" in result.stderr
    entry = next(e for e in json.loads(result.stdout)["configs"] if e["name"] == "broken")
    assert entry["params"] is None and "missing `kernel`" in entry["error"]


# ---- naming a shipped config --------------------------------------------------------------------------------
def test_analyze_by_name_from_another_directory_without_numpy(tmp_path):
    """`convcalc analyze NAME` resolves the packaged config from anywhere and never imports numpy."""
    code = ("import os, sys; from convcalc.cli.entry import main; sys.argv = ['convcalc', 'analyze', "
            "'squeezenet1_1', '-f', 'json']\n"
            "def _exit(code):\n    raise SystemExit(code)\nos._exit = _exit\n"  # the fast path ends in os._exit
            "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
            "assert 'numpy' not in sys.modules, 'numpy was imported'")
    env = {k: v for k, v in os.environ.items() if k != "CONVCALC_CONFIGS"}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["totals"]["macs"] == 349_151_936


def test_package_data_ships_every_config():
    """`pip install .` (non-editable) copies configs/ as convcalc/configs by pyproject's package-data globs: each
    shipped YAML, networks and variants/, must match one of them segment by segment (setuptools' glob semantics)."""
    import fnmatch
    from pathlib import Path

    tomllib = pytest.importorskip("tomllib")  # Python ≥ 3.11

    root = Path(__file__).resolve().parents[2]
    setuptools = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    assert setuptools["package-dir"]["convcalc.configs"] == "configs"
    globs = setuptools["package-data"]["convcalc.configs"]

    def shipped(rel: str) -> bool:
        parts = rel.split("/")
        return any(len(g.split("/")) == len(parts) and all(map(fnmatch.fnmatchcase, parts, g.split("/")))
                   for g in globs)

    files = [path.relative_to(root / "configs").as_posix() for path in (root / "configs").rglob("*.yaml")]
    assert {"shufflenet_v1_g3.yaml", "shufflenet_v2_x1_0.yaml", "deepface.yaml",
            "variants/channel_slice.yaml"} <= set(files)
    assert [rel for rel in files if not shipped(rel)] == []
