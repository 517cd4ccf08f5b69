"""Shared test helpers."""

from __future__ import annotations

import pytest


@pytest.fixture
def write_spec(tmp_path):
    """Write YAML text to a file and return its path."""

    def _write(text: str, name: str = "spec.yaml"):
        path = tmp_path / name
        path.write_text(text)
        return path

    return _write
