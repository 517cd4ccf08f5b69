"""Fuzz the ONNX import (benchmarks/onnx_fuzz.py's mutator), in-process: mutated exports of three test models
through ``analyze``, ``cost --train``, ``rf`` and ``verify``. Whatever the damage: exit code 0, 1 or 2, never a
traceback. 150 cases here (a few seconds after the exports); ``python benchmarks/onnx_fuzz.py --n 10000`` runs the
same mutator longer, in a worker with a time and memory cap."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

pytest.importorskip("onnx")
pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def fuzz():
    spec = importlib.util.spec_from_file_location("onnx_fuzz", ROOT / "benchmarks" / "onnx_fuzz.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["onnx_fuzz"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def models(fuzz, tmp_path_factory):
    return fuzz.seeds(tmp_path_factory.mktemp("onnx-seeds"), names=("resnet_stack", "shufflenet_v2", "ops"))


@pytest.mark.parametrize("block", range(3))
def test_mutated_models_never_give_a_traceback(fuzz, models, block):
    for index in range(block * 50, block * 50 + 50):
        answer = fuzz.run_one(11, index, models)
        assert answer["class"] in ("ok", "error"), \
            f"case {index}: {answer['class']} {answer['mutations']} {answer['command']}\n{answer['report']}"


def test_the_classes_of_the_onnx_fuzzer(fuzz):
    assert fuzz.classify(0, "", False) == fuzz.classify(1, "FAIL", False) == "ok"
    assert fuzz.classify(2, "error: m.onnx: not a readable ONNX model — fix", False) == "error"
    assert fuzz.classify(2, "Traceback (most recent call last):", False) == "traceback"
    assert fuzz.classify(3, "", False) == fuzz.classify(2, "", True) == "traceback"
