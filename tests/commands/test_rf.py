"""`convcalc rf`: reference receptive fields, merge alignment, input windows, formats and exit codes.

Reference values (Araujo, Norris & Sim, "Computing Receptive Fields of Convolutional Neural Networks", Distill
2019, table of receptive-field parameters), with the paper's definitions: RF size r, jump j
(effective stride), effective padding P; unit i sees input −P + i·j … −P + i·j + r − 1.

* VGG16 pool5: r 212, j 32, P 90.
* AlexNet, TF-Slim alexnet_v2 layout: conv5 163/16/64, pool5 195/32/64.
* torchvision ResNet-50 layer4 (last block output): 427/32/213.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from convcalc.cli.app import app

ALEXNET_V2 = """\
name: alexnet_v2
input: [3, 224, 224]
layers:
  - {type: conv, name: conv1, out: 64, kernel: 11, stride: 4}
  - {type: relu}
  - {type: maxpool, name: pool1, kernel: 3, stride: 2}
  - {type: conv, name: conv2, out: 192, kernel: 5, padding: 2}
  - {type: relu}
  - {type: maxpool, name: pool2, kernel: 3, stride: 2}
  - {type: conv, name: conv3, out: 384, kernel: 3, padding: 1}
  - {type: conv, name: conv4, out: 384, kernel: 3, padding: 1}
  - {type: conv, name: conv5, out: 256, kernel: 3, padding: 1}
  - {type: maxpool, name: pool5, kernel: 3, stride: 2}
"""

# Path A: k1 s4. Path B: pad (1, 0), k3 s2, then k1 s2. Hand-worked (1-D, input 16):
#   A: r 1, j 4, centre 0.          B1: r 3, j 2, centre (3−1)/2 − 1 = 0.   B2: r 3, j 4, centre 0.
#   sum: jumps 4 = 4 and centres 0 = 0 → aligned; r 3, j 4, P = (3 − 1)/2 − 0 = 1.
#   sizes: A floor(15/4) + 1 = 4; B1 floor((16 + 1 − 3)/2) + 1 = 8; B2 floor(7/2) + 1 = 4.
ALIGNED = """\
name: aligned
input: [1, 16]
layers:
  - {type: conv, name: a, out: 1, kernel: 1, stride: 4, inputs: input}
  - {type: conv, name: b1, out: 1, kernel: 3, stride: 2, padding: [[1, 0]], inputs: input}
  - {type: conv, name: b2, out: 1, kernel: 1, stride: 2}
  - {type: add, name: sum, inputs: [a, b2]}
"""

# Path A: pad (2, 1), k5 s2: r 5, j 2, centre 2 − 2 = 0; size floor((8 + 3 − 5)/2) + 1 = 4.
# Path B: k3 then k3: r 5, j 1, centre 1 + 1 = 2; size 8 − 2 − 2 = 4.  Jumps 2 ≠ 1 → misaligned.
MISALIGNED = """\
name: misaligned
input: [1, 8]
layers:
  - {type: conv, name: a, out: 1, kernel: 5, stride: 2, padding: [[2, 1]], inputs: input}
  - {type: conv, name: b1, out: 1, kernel: 3, inputs: input}
  - {type: conv, name: b2, out: 1, kernel: 3}
  - {type: add, name: sum, inputs: [a, b2]}
"""

# A transposed conv k3 s2 (no padding): output o = 2i + t, t ∈ {0, 1, 2}.
#   o = 4 reads i = 2 (t = 0) and i = 1 (t = 2) → inputs 1 … 2;  o = 5 reads i = 2 (t = 1) only → 2 … 2.
#   Theoretical RF: the widest window, 2 inputs, jump 1/2; taps per output vary → position-dependent.
TRANSPOSED = """\
name: transposed
input: [1, 8]
layers:
  - {type: conv_transpose, name: up, out: 1, kernel: 3, stride: 2}
"""


def invoke(*args):
    return CliRunner().invoke(app, ["rf", *args])


def rf_json(*args) -> dict:
    result = invoke(*args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def layer(data: dict, name: str) -> dict:
    return next(row for row in data["layers"] if row["name"] == name)


@pytest.fixture
def spec(tmp_path):
    def write(text, name="spec.yaml"):
        path = tmp_path / name
        path.write_text(text)
        return str(path)
    return write


def test_vgg16_pool5_reference():
    row = layer(rf_json("vgg16", "--layer", "stage5.pool"), "stage5.pool")
    assert row["size"] == [212, 212]
    assert row["jump"] == [32, 32]
    assert row["padding"] == [90, 90]
    assert row["start"] == [-90, -90]
    assert row["center"] == ["31/2", "31/2"]  # (212 − 1)/2 − 90 = 15.5


def test_alexnet_v2_reference(spec):
    data = rf_json(spec(ALEXNET_V2))
    conv5, pool5 = layer(data, "conv5"), layer(data, "pool5")
    assert (conv5["size"][0], conv5["jump"][0], conv5["padding"][0]) == (163, 16, 64)
    assert (pool5["size"][0], pool5["jump"][0], pool5["padding"][0]) == (195, 32, 64)


def test_resnet50_layer4_reference():
    data = rf_json("resnet50")
    for name in ("layer4.2.add1", "layer4.2.relu3"):
        row = layer(data, name)
        assert (row["size"], row["jump"], row["padding"]) == ([427, 427], [32, 32], [213, 213])
        assert row["center"] == [0, 0]  # (427 − 1)/2 − 213
    assert layer(data, "layer4.2.add1")["merge"] == {"status": "aligned", "problems": []}
    # every residual add of torchvision's ResNet-50 is aligned (16 blocks)
    merges = [row for row in data["layers"] if row["merge"]]
    assert len(merges) == 16 and all(row["merge"]["status"] == "aligned" for row in merges)


def test_aligned_toy_graph(spec):
    row = layer(rf_json(spec(ALIGNED)), "sum")
    assert (row["size"], row["jump"], row["padding"]) == ([3], [4], [1])
    assert row["merge"]["status"] == "aligned"


def test_misaligned_toy_graph(spec):
    data = rf_json(spec(MISALIGNED))
    row = layer(data, "sum")
    assert row["merge"]["status"] == "misaligned"
    assert row["merge"]["problems"] == ["`a` vs `b2`: axis 0: jump 2 vs 1"]
    table = invoke(spec(MISALIGNED))
    assert table.exit_code == 0
    assert "MISALIGNED `a` vs `b2`: axis 0: jump 2 vs 1" in table.stdout
    assert "Merges: 0 aligned, 1 misaligned." in table.stdout


# Squeeze-and-excitation: conv k3 s2 p1 (r 3, j 2, centre (3 − 1)/2 − 1 = 0), then a global pool → 1×1 conv →
# sigmoid gate of shape (8, 1, 1) multiplied into the conv output. The gate is global context, not a positioned
# input: the product keeps the conv's r 3, j 2 (before the fix the gate's jump 16 took over, and every SE block of
# EfficientNet-B0 was reported misaligned).
SQUEEZE_EXCITE = """\
name: se
input: [8, 16, 16]
layers:
  - {type: conv, name: conv, out: 8, kernel: 3, stride: 2, padding: 1}
  - {type: global_avgpool, name: squeeze}
  - {type: conv, name: excite, out: 8, kernel: 1}
  - {type: sigmoid, name: gate}
  - {type: multiply, name: scale, inputs: [conv, gate]}
  - {type: conv, name: after, out: 8, kernel: 3, padding: 1}
"""


def test_se_gate_is_not_a_misaligned_merge(spec):
    data = rf_json(spec(SQUEEZE_EXCITE))
    row = layer(data, "scale")
    assert (row["size"], row["jump"], row["padding"]) == ([3, 3], [2, 2], [1, 1])
    assert row["merge"]["status"] == "aligned"
    assert any("broadcast `gate`" in note for note in row["notes"])
    after = layer(data, "after")  # r 3 + 2·2 = 7, j 2, P 1 + 1·2 = 3
    assert (after["size"], after["jump"], after["padding"]) == ([7, 7], [2, 2], [3, 3])


def test_window_at_a_position():
    data = rf_json("vgg16", "--layer", "stage5.pool", "--at", "0,3")
    axes = data["window"]["axes"]
    # axis 0, index 0: −90 … −90 + 211 = 121, clipped at 0;  axis 1, index 3: −90 + 3·32 = 6 … 217.
    assert axes[0] == {"axis": 0, "index": 0, "start": -90, "end": 121, "size": 212, "clipped": True,
                       "inside": [0, 121], "support": [-90, 121]}
    assert axes[1]["start"] == 6 and axes[1]["end"] == 217 and axes[1]["clipped"] is False
    table = invoke("vgg16", "--layer", "stage5.pool", "--at", "0,3")
    assert "-90 … 121" in table.stdout and "6 … 217" in table.stdout


def test_position_dependent_transposed_conv(spec):
    path = spec(TRANSPOSED)
    data = rf_json(path)
    row = layer(data, "up")
    assert row["position_dependent"] is True
    assert row["size"] == [2] and row["jump"] == ["1/2"]
    even = rf_json(path, "--layer", "up", "--at", "4")["window"]["axes"][0]
    odd = rf_json(path, "--layer", "up", "--at", "5")["window"]["axes"][0]
    assert even["support"] == [1, 2]
    assert odd["support"] == [2, 2]
    assert "Position-dependent from `up`" in invoke(path).stdout


def test_formats(spec):
    path = spec(ALIGNED)
    csv = invoke(path, "--format", "csv").stdout.splitlines()
    assert csv[0] == ("name,type,axis,output_shape,rf_size,jump,padding,start,center,merge,position_dependent,"
                      "problems")
    assert csv[-1] == "sum,add,0,1x4,3,4,1,-1,0,aligned,false,"
    markdown = invoke(path, "--format", "markdown").stdout
    assert "| sum | add | 1×4 | 3 | 4 | 1 | 0 | aligned |" in markdown


@pytest.mark.parametrize("args, message", [
    (["vgg16", "--layer", "nope"], "no layer named `nope`"),
    (["vgg16", "--at", "1,2"], "--at needs --layer"),
    (["vgg16", "--layer", "stage5.pool", "--at", "1"], "--at gives 1 coordinate(s)"),
    (["vgg16", "--layer", "stage5.pool", "--at", "7,0"], "outside `stage5.pool`'s output (0 … 6)"),
    (["vgg16", "--layer", "stage5.pool", "--at", "a,b"], "not a list of integers"),
    (["vgg16", "--save", "x.svg"], "needs --erf"),
    (["vgg16", "--erf", "analytic", "--mass", "1.5"], "outside (0, 1]"),
    (["no_such_network"], "no_such_network"),
])
def test_bad_input_exits_2(args, message):
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_rf_path_does_not_import_numpy():
    code = ("import sys\nfrom typer.testing import CliRunner\nfrom convcalc.cli.app import app\n"
            "r = CliRunner().invoke(app, ['rf', 'resnet50', '--layer', 'layer4.2.relu3', '--at', '3,3'])\n"
            "assert r.exit_code == 0, r.output\n"
            "r = CliRunner().invoke(app, ['rf', 'resnet50', '--erf', 'analytic', '--format', 'json'])\n"
            "assert r.exit_code == 0, r.output\n"
            "print('numpy' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("name", ["layer3", "layer3.5"])
def test_layer_takes_block_instance_names_as_inputs_does(name):
    # `layer3.5` is the last bottleneck of layer3 and `layer3` its last repetition: both stand for its output,
    # layer3.5.relu3. Its RF is layer4's 427 (above) less layer4's three 3×3 convs: 2·16 (stride 2 at jump 16)
    # + 2·32 + 2·32 = 160 → 267, at jump 16
    data = rf_json("resnet50", "--layer", name)
    assert [row["name"] for row in data["layers"]] == ["layer3.5.relu3"]
    assert (data["layers"][0]["size"], data["layers"][0]["jump"]) == ([267, 267], [16, 16])


def test_an_unknown_block_name_still_suggests_layers():
    result = invoke("resnet50", "--layer", "layer9")
    assert result.exit_code == 2 and "no layer named `layer9`" in result.output


def _no_erf(*args, **kwargs):
    raise AssertionError("the ERF was computed before --save was checked")


def test_save_needs_matplotlib_is_said_before_the_work(monkeypatch, tmp_path):
    import convcalc.erf.measured
    import convcalc.render.files

    monkeypatch.setattr(convcalc.erf.measured, "measured_erf", _no_erf)
    monkeypatch.setattr(convcalc.render.files, "_installed", lambda package: False)
    result = invoke("resnet18", "--erf", "measured", "--save", str(tmp_path / "erf.png"))
    assert result.exit_code == 2
    assert "a .png file needs matplotlib, which is not installed — pip install \"convcalc[plot]\"" in result.stderr
    assert "or save as .svg or .npy or .csv" in result.stderr


@pytest.mark.parametrize("name, message", [
    ("missing/erf.svg", "no directory"),
    ("erf.gif", "unknown file type `.gif` — use .svg, .png, .pdf, .npy, .csv"),
    (".", "is a directory"),
])
def test_save_path_is_checked_before_the_work(monkeypatch, tmp_path, name, message):
    import convcalc.erf.measured

    monkeypatch.setattr(convcalc.erf.measured, "measured_erf", _no_erf)
    result = invoke("resnet18", "--erf", "measured", "--save", str(tmp_path / name))
    assert result.exit_code == 2 and message in result.stderr


def test_save_in_a_read_only_directory_is_refused_first(monkeypatch, tmp_path):
    import os

    import convcalc.erf.measured

    if os.geteuid() == 0:
        pytest.skip("root writes anywhere")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    monkeypatch.setattr(convcalc.erf.measured, "measured_erf", _no_erf)
    result = invoke("resnet18", "--erf", "measured", "--save", str(locked / "erf.svg"))
    assert result.exit_code == 2 and "cannot write there" in result.stderr


def test_a_3d_map_as_csv_is_refused_before_the_work(monkeypatch, tmp_path):
    import convcalc.erf.measured

    monkeypatch.setattr(convcalc.erf.measured, "measured_erf", _no_erf)
    result = invoke("r3d_18", "--erf", "measured", "--save", str(tmp_path / "erf.csv"))
    assert result.exit_code == 2 and "a 3-D map does not fit a CSV table — save it as .npy" in result.stderr


def test_measured_erf_reports_each_sample_forward_and_backward(spec):
    from convcalc.cost.analysis import analyze
    from convcalc.erf.measured import measured_erf
    from convcalc.render.progress import Progress
    from convcalc.spec.loader import load

    graph = load("input: [1, 16, 16]\nlayers:\n  - {type: conv, name: a, out: 2, kernel: 3}\n"
                 "  - {type: conv, name: b, out: 2, kernel: 3}\n").expand()
    seen = []

    class Recording(Progress):
        def _draw(self, label):
            seen.append((self.done, label))

    progress = Recording(0)
    measured_erf(graph, analyze(graph), samples=2, progress=progress)
    assert progress.total == 2 * 2 * 2  # 2 samples × 2 nodes × (forward + backward)
    assert seen == [(1, "sample 1/2 forward a"), (2, "sample 1/2 forward b"), (3, "sample 1/2 backward b"),
                    (4, "sample 1/2 backward a"), (5, "sample 2/2 forward a"), (6, "sample 2/2 forward b"),
                    (7, "sample 2/2 backward b"), (8, "sample 2/2 backward a")]
