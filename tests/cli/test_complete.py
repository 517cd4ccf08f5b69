"""Shell completion (convcalc/cli/complete.py): the scripts Typer writes for bash, zsh and fish, the answers of the
completion protocol, the callbacks themselves, and that none of it touches an ordinary run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from convcalc.cli import complete
from convcalc.cli.options import ANALYZE, CHECK, COMPARE, DEVICE_COMMAND, EXPLAIN, SPEC

from .test_entry import run_main

SHELLS = ("bash", "zsh", "fish")


def protocol(shell: str, words: str, env_extra=None) -> subprocess.CompletedProcess:
    """What `convcalc` answers when the shell's completion script calls it for the command line ``words``."""
    env = {"_CONVCALC_COMPLETE": f"complete_{shell}"}
    if shell == "bash":
        parts = words.split(" ")
        env.update(COMP_WORDS=words, COMP_CWORD=str(len(parts) - 1))
    else:
        env["_TYPER_COMPLETE_ARGS"] = words
        if shell == "fish":
            env["_TYPER_COMPLETE_FISH_ACTION"] = "get-args"
    return run_main([], {**env, **(env_extra or {})})


def test_the_callbacks_complete_names():
    assert ("resnet50", "shipped config") in complete.spec("resn")
    assert ("variants/depthwise_separable", "shipped config") in complete.spec("variants/dep")
    kinds = dict(complete.kind("depthwise"))
    assert set(kinds) == {"depthwise", "depthwise_separable"} and "depthwise" in kinds["depthwise"]
    assert [name for name, _ in complete.target("win")] == ["winograd"]
    assert [name for name, _ in complete.device("h")] == ["h100", "h200"]
    assert complete.spec("no_such_prefix_") == []


def test_spec_completion_offers_spec_files_and_folders(tmp_path, monkeypatch):
    (tmp_path / "nets").mkdir()
    (tmp_path / "net.yaml").write_text("")
    (tmp_path / "notes.txt").write_text("")
    (tmp_path / "model.onnx").write_text("")
    monkeypatch.chdir(tmp_path)
    assert complete.files("n") == [("net.yaml", "file"), ("nets" + os.sep, "folder")]
    assert ("model.onnx", "file") in complete.spec("m")
    (tmp_path / "nets" / "a.yml").write_text("")
    assert complete.files("nets/") == [(os.path.join("nets", "a.yml"), "file")]


def test_the_arguments_name_their_completion():
    assert SPEC.completion == "spec" and ANALYZE[0] is SPEC
    assert CHECK[0].completion == COMPARE[0].completion == "spec"
    assert EXPLAIN[0].completion == "target" and DEVICE_COMMAND[1].completion == "device"
    assert all(hasattr(complete, d.completion) for group in (ANALYZE, CHECK, COMPARE, EXPLAIN, DEVICE_COMMAND)
               for d in group if getattr(d, "completion", None))


@pytest.mark.parametrize("shell", SHELLS)
def test_the_protocol_answers_config_names_and_kinds(shell):
    done = protocol(shell, "convcalc analyze resnet5")
    assert "resnet50" in done.stdout and "resnet50_v1" in done.stdout, done.stderr
    assert "False" in done.stderr.splitlines()[-1].split()[1]  # numpy was not imported
    done = protocol(shell, "convcalc explain depthwise_s")
    assert "depthwise_separable" in done.stdout
    done = protocol(shell, "convcalc ana")
    assert "analyze" in done.stdout and "schema" not in done.stdout


@pytest.mark.parametrize("shell", SHELLS)
def test_show_completion_prints_the_script(shell):
    done = run_main(["--show-completion", shell], {"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"})
    assert "_CONVCALC_COMPLETE" in done.stdout, done.stderr
    assert {"bash": "complete -o default -F", "zsh": "compdef", "fish": "complete --command convcalc"}[shell] \
        in done.stdout


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_the_bash_script_completes_in_bash(tmp_path):
    """Source the script in a real bash, as ~/.bashrc would, and run its completion function."""
    script = run_main(["--show-completion", "bash"], {"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}).stdout
    launcher = tmp_path / "convcalc"
    program = "import sys; sys.argv[0] = 'convcalc'; from convcalc.cli.entry import main; main()"
    launcher.write_text(f"#!/bin/sh\nexec {sys.executable} -c \"{program}\" \"$@\"\n")
    launcher.chmod(0o755)
    test = (script + "\nCOMP_WORDS=(convcalc analyze mobilenet_v)\nCOMP_CWORD=2\n"
            "_convcalc_completion convcalc\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n")
    env = {**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-c", test], capture_output=True, text=True, env=env)
    assert "mobilenet_v2" in done.stdout.split(), done.stderr


@pytest.mark.parametrize("shell", [s for s in ("zsh", "fish") if shutil.which(s)] or
                         [pytest.param("zsh", marks=pytest.mark.skip(reason="neither zsh nor fish is installed"))])
def test_the_script_loads_in_its_shell(shell, tmp_path):
    script = run_main(["--show-completion", shell], {"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}).stdout
    path = tmp_path / f"completion.{shell}"
    path.write_text(script if shell == "fish" else "autoload -U compinit; compinit -u\n" + script)
    done = subprocess.run([shell, "-c", f"source {path}"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_an_ordinary_run_imports_no_completion():
    done = run_main(["analyze", "resnet18", "--format", "json"])
    assert done.stderr.strip().splitlines()[-1] == "False False 0"
    code = "import sys\nimport convcalc.cli.app\nprint('convcalc.cli.complete' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


@pytest.mark.parametrize("shell, words", [
    ("bash", "convcalc rf resnet18 --layer layer4.1.c"),
    ("zsh", "convcalc explain resnet18 -l layer4.1.c"),
    ("fish", "convcalc verify --batch 2 resnet18 --rf --layer layer4.1.c"),
])
def test_layer_names_of_the_spec_on_the_command_line(shell, words):
    """Click stops parsing at `--layer` waiting for its value, so SPEC is read again from the shell's words."""
    done = protocol(shell, words)
    assert "layer4.1.conv1" in done.stdout and "layer4.1.conv2" in done.stdout, done.stderr
    assert "layer4.0" not in done.stdout
    assert done.stderr.splitlines()[-1].split()[1] == "False"  # expanding the spec imports no NumPy


def test_layer_completion_without_a_loadable_spec_offers_nothing():
    assert complete.layer("x", {}) == []
    assert complete.layer("x", {"spec": "no_such_net"}) == []
    assert complete.layer("x", {"spec": "model.onnx"}) == []  # no import on Tab
    assert complete.layer("conv", {"target": "resnet18"}) == [("conv1", "conv")]
    assert protocol("bash", "convcalc rf --layer x").stdout.strip() == ""


def test_options_that_name_things_complete():
    assert "a100" in protocol("bash", "convcalc cost resnet18 --device a").stdout
    assert "json" in protocol("bash", "convcalc analyze resnet18 --format j").stdout  # a choice
