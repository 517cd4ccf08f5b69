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


def _extras() -> dict[str, list[str]]:
    """The `[project.optional-dependencies]` table: extra → its requirements (read without tomllib)."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    section = text.split("[project.optional-dependencies]", 1)[1].split("\n[", 1)[0]
    return {name: re.findall(r'"([^"]+)"', body) for name, body in re.findall(r"^(\w+)\s*=\s*\[(.*)\]\s*$", section, re.M)}


def test_the_importer_extras():
    extras = _extras()
    assert extras["torch"] == ["torch==2.13.0"]  # always exactly the local CPU build
    assert extras["onnx"] == ["onnx>=1.14", "onnxruntime>=1.16"]
    assert extras["export"] == ["onnxscript>=0.2"]
    assert extras["dask"] == ["dask[distributed]>=2023.1"]  # a sweep on a dask cluster (tests/compare)
    assert extras["browser"] == ["selenium>=4.10"]  # the report in headless Chromium (tests/render)
    assert extras["dataframe"] == ["pandas>=1.5"]  # Report.to_dataframe() (tests/cost, tests/render)
    # the peer tools of --convention, pinned to the versions convcalc/layers/peers.py follows
    assert extras["peers"] == ["fvcore==0.1.5.post20221221", "iopath==0.1.10", "ptflops==0.7.5",
                               "thop==0.1.1.post2209072238", "torchinfo==1.8.0"]


def test_ci_installs_the_extras_then_runs_exactly_the_readmes_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = re.search(r"```bash\n(python -m pip install -e \"\.\[dev\]\".*?)\n```", readme).group(1)
    lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert command in lines
    torch_at = next(i for i, line in enumerate(lines) if '"torch==2.13.0"' in line)
    extras = '-e ".[onnx,export,dask,plot,browser,peers,dataframe]"'
    extras_at = next(i for i, line in enumerate(lines) if extras in line)
    chromium_at = next(i for i, line in enumerate(lines) if "apt-get install" in line)
    assert "chromium:chromium chromedriver:chromium-driver zsh:zsh fish:fish" in "\n".join(lines)  # its packages
    assert torch_at < extras_at < chromium_at < lines.index(command)
    assert any('"$rc" -eq 5' in line for line in lines)  # no tests collected is not a failure


def test_the_device_profiles_ship_as_package_data():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"convcalc.devices" = ["*.yaml"]' in text
    assert len(list((ROOT / "convcalc" / "devices").glob("*.yaml"))) == 6
