"""Fixtures of the importer tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def onnx_exports(tmp_path_factory):
    """The test models exported to ONNX (tests/importers/onnx_exports.py), each once per session; skipped without
    torch or onnx."""
    pytest.importorskip("torch")
    pytest.importorskip("onnx")
    from .onnx_exports import Exports

    return Exports(tmp_path_factory.mktemp("onnx-exports"))
