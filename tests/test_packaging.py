"""What a non-editable `pip install .` ships. An editable install (and so the rest of the suite) imports straight
from the checkout and cannot see a package left out of pyproject.toml."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _listed_packages() -> set[str]:
    # read without tomllib (Python 3.10 has none): the one `packages = [...]` list of [tool.setuptools]
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    match = re.search(r"^packages\s*=\s*\[(.*?)\]", text, re.S | re.M)
    assert match, "pyproject.toml has no `packages = [...]`"
    return set(re.findall(r'"([^"]+)"', match.group(1)))


def test_every_package_of_the_source_tree_is_installed():
    found = {".".join(init.parent.relative_to(ROOT).parts) for init in (ROOT / "convcalc").rglob("__init__.py")
             if "__pycache__" not in init.parts}
    assert {"convcalc", "convcalc.executor.backward"} <= found
    assert found - _listed_packages() == set()
    assert "convcalc.configs" in _listed_packages()  # the top-level configs/, mapped by package-dir
