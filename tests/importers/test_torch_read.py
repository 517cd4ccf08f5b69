"""The torch frontend's entry point: targets (a module's callable, a file's), building on the meta device, and
every user error as one `torch:TARGET: what — how` message (convcalc.importers.torch_read)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from convcalc.errors import SpecError  # noqa: E402
from convcalc.importers.torch_read import read  # noqa: E402

from .torch_helpers import CASES, imported, kinds, target_of  # noqa: E402


class Small(nn.Module):
    def __init__(self, width=4):
        super().__init__()
        self.conv = nn.Conv2d(3, width, 3, padding=1)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.conv(x))


def error_of(target, kwargs=None, shape=(3, 8, 8), **options) -> str:
    with pytest.raises(SpecError) as caught:
        read(target, kwargs or {}, shape, **options)
    return str(caught.value)


# ---- targets ----------------------------------------------------------------------------------------------------
def test_a_module_target_names_the_model_and_its_source():
    model = read("tests.importers.models:resnet_stack", {}, (3, 32, 32))
    assert (model.name, model.source, model.input_shape, model.input_name, model.batch) == \
        ("resnet_stack", "torch:tests.importers.models:resnet_stack", (3, 32, 32), "x", 1)
    assert model.layers[0].name == "conv1" and model.layers[-1].name == "fc"
    assert model.warnings == []


def test_a_class_is_called_with_the_keyword_arguments():
    model = imported(Small, (3, 8, 8), kwargs={"width": 6}, batch=4)
    assert model.layers[0].fields["out"] == 6
    assert model.batch == 4


def test_an_nn_module_instance_is_taken_as_it_is():
    model = read(target_of(Small(5)), {}, (3, 8, 8))
    assert model.layers[0].fields["out"] == 5


def test_a_file_target_is_loaded_from_its_path(tmp_path):
    helper = tmp_path / "blocks.py"  # a sibling module the file imports, as a script could
    helper.write_text("from torch import nn\nWIDTH = 7\n")
    path = tmp_path / "net.py"
    path.write_text(textwrap.dedent("""
        from torch import nn
        import blocks

        def build(classes=3):
            return nn.Sequential(nn.Conv2d(3, blocks.WIDTH, 3), nn.Flatten(), nn.LazyLinear(classes))
        """))
    model = read(f"{path}:build", {"classes": 5}, (3, 6, 6))
    assert model.source == f"{path}:build"
    assert [(l.name, l.kind) for l in model.layers] == [("0", "conv"), ("1", "flatten"), ("2", "linear")]
    assert model.layers[-1].fields == {"out": 5}


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads the peak memory from Linux's /proc")
def test_building_on_the_meta_device_takes_no_memory_for_the_weights():
    """A meta build allocates nothing: importing ResNet-50 (25.6M parameters, 102 MB in float32) raises the peak
    memory of a fresh process by far less than building it on the CPU then does, both measured after a small import
    has loaded torch's meta-device machinery. The peak is VmHWM, the high-water resident size of the process image
    (getrusage's ru_maxrss would carry the parent's size over the fork)."""
    script = textwrap.dedent("""
        import re
        from convcalc.importers.torch_read import read
        from tests.importers.models import resnet50
        peak = lambda: int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1)) // 1024
        read("tests.importers.models:resnet_stack", {}, (3, 32, 32))
        before = peak()
        model = read("tests.importers.models:resnet50", {}, (3, 224, 224))
        meta = peak()
        real = resnet50()
        print(meta - before, peak() - meta, len(model.layers))
        """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=_root())
    meta_mb, real_mb, layers = map(int, out.stdout.split())
    assert layers == 175
    assert real_mb > 60          # the real weights, 25,557,032 · 4 bytes = 102 MB: the measure can fail
    assert meta_mb < 20          # the import holds none of them


def _root():
    from pathlib import Path

    return str(Path(__file__).resolve().parents[2])


def test_a_model_that_cannot_be_built_on_meta_is_built_on_the_cpu_with_a_warning():
    class NeedsValues(nn.Module):
        def __init__(self):
            super().__init__()
            width = int(torch.ones(()).add(3).item())   # reading a value: impossible on the meta device
            self.conv = nn.Conv2d(3, width, 1)

        def forward(self, x):
            return self.conv(x)

    model = imported(NeedsValues, (3, 4, 4))
    assert model.layers[0].fields["out"] == 4
    assert len(model.warnings) == 1 and "built on the CPU instead" in model.warnings[0]
    assert "meta device failed" in model.warnings[0]


# ---- errors -------------------------------------------------------------------------------------------------------
def test_no_input_shape():
    message = error_of("tests.importers.models:resnet_stack", shape=None)
    assert message == ("torch:tests.importers.models:resnet_stack: a PyTorch module has no input shape — give the "
                       "shape of one sample, channels first, e.g. --input 3x224x224")


def test_a_missing_module():
    message = error_of("no_such_package_xyz.models:build")
    assert message.startswith("torch:no_such_package_xyz.models:build: no module named `no_such_package_xyz` — ")
    assert "installed or on PYTHONPATH" in message


def test_a_missing_attribute_suggests_a_close_name():
    message = error_of("tests.importers.models:resnet51")
    assert message == ("torch:tests.importers.models:resnet51: `tests.importers.models` has no attribute `resnet51` "
                       "— did you mean `resnet50` or `resnet_stack`?")


def test_a_callable_that_raises_says_what_it_raised():
    def build(width=4):
        raise ValueError("width must be a multiple of 8, got 4")

    target = target_of(build)
    message = error_of(target, {"width": 4})
    assert message == (f"torch:{target}: calling {target.split(':')[1]}(width=4) raised ValueError: width must be a "
                       f"multiple of 8, got 4 — check the callable and its keyword arguments")


def test_a_long_error_is_shortened():
    def build():
        raise RuntimeError("x" * 1000 + "\nsecond line")

    message = error_of(target_of(build))
    assert "raised RuntimeError: xxx" in message and "…" in message and "second line" not in message
    assert len(message) < 500


def test_a_callable_that_returns_something_else():
    message = error_of(target_of(lambda: 42))
    assert "calling it returned a value of type `int`, not a torch.nn.Module — " in message


def test_a_target_that_is_not_callable():
    message = error_of("math:pi")
    assert message.startswith("torch:math:pi: `pi` is a value of type `float`, not a callable that builds a "
                              "torch.nn.Module")


def test_a_target_without_a_callable():
    assert "expected `package.module:callable` or `path/to/file.py:callable`" in error_of("tests.importers.models")


def test_a_missing_file(tmp_path):
    message = error_of(f"{tmp_path}/nowhere.py:build")
    assert message == f"{tmp_path}/nowhere.py:build: no such file `{tmp_path}/nowhere.py` — check the path to the " \
                      f"Python file"


def test_a_file_with_a_syntax_error(tmp_path):
    path = tmp_path / "broken.py"
    path.write_text("import torch\n\ndef build(:\n    pass\n")
    message = error_of(f"{path}:build")
    assert message.startswith(f"{path}:build: {path}:3:11: syntax error: ")
    assert message.endswith(" — fix the syntax error")


def test_a_file_that_raises_while_it_runs(tmp_path):
    path = tmp_path / "raising.py"
    path.write_text("raise ImportError('needs timm')\n")
    assert "running `" in error_of(f"{path}:build") and "raised ImportError: needs timm" in error_of(f"{path}:build")


def test_an_input_shape_the_model_rejects():
    message = error_of(target_of(Small), shape=(1, 8, 8))
    assert message.startswith(f"torch:{CASES}:")
    assert "the model fails on an input of shape 1x8x8 per sample, at 'conv': RuntimeError:" in message
    assert message.endswith("check --input: the shape of one sample, channels first, e.g. --input 3x224x224")


def test_a_bad_input_shape():
    assert "the input shape [3, 0] is not 1 to 4 positive sizes" in error_of(target_of(Small), shape=(3, 0))


def test_a_forward_with_two_inputs():
    class TwoInputs(nn.Module):
        def forward(self, x, y):
            return x + y

    message = error_of(target_of(TwoInputs))
    assert "its forward takes 2 inputs (x, y); convcalc imports models with one input tensor" in message


def test_a_forward_neither_tracer_can_follow():
    class ValueBranch(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 3, 1)

        def forward(self, x):
            y = self.conv(x)
            return y if y.sum() > 0 else -y   # on the values: no tracer can know which

    message = error_of(target_of(ValueBranch))
    assert "neither torch.fx nor torch.export could trace the model (fx: TraceError:" in message
    assert "; export: " in message


def test_an_output_not_computed_from_the_input():
    class Constant(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.ones(3))

        def forward(self, x):
            return self.w * 2

    assert "the model's output is not computed from its input" in error_of(target_of(Constant))


def test_several_outputs_are_followed_from_the_first_with_a_warning():
    class TwoHeads(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Conv2d(3, 2, 1), nn.Conv2d(3, 5, 1)

        def forward(self, x):
            return self.a(x), self.b(x)

    model = imported(TwoHeads, (3, 4, 4))
    assert [l.name for l in model.layers] == ["a"]
    assert any("returns 2 tensors; the import follows the first" in w for w in model.warnings)
    assert any("do not feed the output and are left out: 'b'" in w for w in model.warnings)
    assert kinds(model) == ["conv"]


# ---- through the import sources every command takes (convcalc.importers.source) ---------------------------------
def test_a_torch_source_loads_as_a_spec():
    from convcalc.cost.analysis import analyze
    from convcalc.importers.source import load_imported

    network, model = load_imported("torch:tests.importers.models:resnet50", (3, 224, 224))
    report = analyze(network.expand())
    # torchvision's ResNet-50: 25,557,032 params, 4,089,184,256 MACs
    assert (report.totals.params, report.totals.macs) == (25_557_032, 4_089_184_256)
    assert model.source == "torch:tests.importers.models:resnet50"


@pytest.mark.parametrize("args, shown", [
    (["analyze", "torch:tests.importers.models:resnet_stack", "--input", "3x32x32", "--format", "csv"],
     "layer1.0.relu_2"),
    (["verify", "torch:tests.importers.models:MobileNetV2Blocks", "--input", "3x32x32", "--against-original"],
     "58/58 mapped tensors agree"),
], ids=["analyze", "verify-against-original"])
def test_commands_take_a_torch_source(args, shown):
    from typer.testing import CliRunner

    from convcalc.cli.app import app

    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert shown in result.stdout


def test_a_command_without_input_says_so_with_exit_code_2():
    from typer.testing import CliRunner

    from convcalc.cli.app import app

    result = CliRunner().invoke(app, ["analyze", "torch:tests.importers.models:resnet_stack"])
    assert result.exit_code == 2
    assert "error: torch:tests.importers.models:resnet_stack: a PyTorch module has no input shape — give the " \
           "shape of one sample, channels first, e.g. --input 3x224x224" in result.output
    assert "Traceback" not in result.output
