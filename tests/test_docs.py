"""The documentation runs: every YAML example in README.md and docs/*.md, the FLOPs table, the JSON contract.

YAML examples (```yaml fences) are classified by what they contain, so new pages are checked without any change
here:

* a mapping with ``layers`` is a **spec**: it must load and analyse;
* a list of mappings with ``type:`` or ``block:`` is a **layer list**: it is analysed as the layers of a spec
  whose input is 64×56×56, or the shape given by an ``<!-- input: [C, H, W] -->`` comment just before the fence;
* an example that contains the placeholder ``...`` is a sketch, and anything else (budgets files, workflows) is
  a fragment: both must be valid YAML, nothing more;
* an ``<!-- error -->`` comment (optionally ``<!-- error: why -->``) just before the fence marks a deliberate error
  example: it must fail with a :class:`~convcalc.errors.SpecError` that has a line and column.
"""

from __future__ import annotations

import json
import re
from fractions import Fraction
from pathlib import Path

import pytest
import yaml

import convcalc
from convcalc.cost.analysis import analyze
from convcalc.cost.conventions import BACKWARD_FLOPS_PER_ELEMENT, FLOPS_PER_ELEMENT
from convcalc.errors import SpecError
from convcalc.spec.loader import load, shipped_configs

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>[\w-]*)[ \t]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
                   re.MULTILINE | re.DOTALL)
MARKER = re.compile(r"<!--\s*(?P<what>error\b.*?|input:\s*\[[^\]]*\])\s*-->\s*$")
DEFAULT_INPUT = [64, 56, 56]


def fences(path: Path, lang: str):
    """(line, marker text or "", body) of every ``lang`` fence in ``path``."""
    text = path.read_text(encoding="utf-8")
    for match in FENCE.finditer(text):
        if match.group("lang") != lang:
            continue
        line = text.count("\n", 0, match.start()) + 1
        before = text[:match.start()].rstrip().splitlines()[-1:] or [""]
        marker = MARKER.search(before[0])
        indent = match.group("indent")
        body = "\n".join(l[len(indent):] if l.startswith(indent) else l
                         for l in match.group("body").splitlines()) + "\n"
        what = marker.group("what") if marker else ""
        yield line, "error" if what.startswith("error") else what, body


def _examples():
    for path in DOCS:
        for line, marker, body in fences(path, "yaml"):
            yield pytest.param(path, line, marker, body, id=f"{path.name}:{line}")


def _has_placeholder(value) -> bool:
    if isinstance(value, dict):
        return any(_has_placeholder(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_placeholder(v) for v in value)
    return isinstance(value, str) and value.strip() in ("...", "…")


def _analyse(body: str, marker: str):
    data = yaml.safe_load(body)
    if isinstance(data, list):  # a layer list: wrap it in a spec
        shape = DEFAULT_INPUT
        if marker.startswith("input:"):
            shape = yaml.safe_load(marker.split(":", 1)[1])
        indented = "".join(f"  {line}\n" for line in body.splitlines())
        body = f"name: example\ninput: {list(shape)}\nlayers:\n{indented}"
    return analyze(load(body))


@pytest.mark.parametrize("path, line, marker, body", list(_examples()))
def test_yaml_example(path, line, marker, body):
    data = yaml.safe_load(body)  # every example is valid YAML
    is_spec = isinstance(data, dict) and "layers" in data
    is_layer_list = isinstance(data, list) and data and all(
        isinstance(item, dict) and ("type" in item or "block" in item) for item in data)
    if _has_placeholder(data) or not (is_spec or is_layer_list):
        assert marker != "error", f"{path.name}:{line}: an error example must be a spec or a layer list"
        return
    if marker == "error":
        with pytest.raises(SpecError) as info:
            _analyse(body, marker)
        assert info.value.mark is not None and info.value.mark.line >= 1, str(info.value)
        assert " — " in str(info.value), "an error says how to fix it"
        return
    report = _analyse(body, marker)
    assert report.layers, f"{path.name}:{line}: no layers"


def test_docs_have_yaml_examples():
    """The parser finds the examples (guards against a regex that silently matches nothing)."""
    spec_examples = list(fences(ROOT / "docs" / "spec.md", "yaml"))
    assert len(spec_examples) >= 10
    assert sum(1 for _, marker, _ in spec_examples if marker == "error") >= 2


# ---- worked numbers quoted in docs/spec.md ----------------------------------------------------------------------
def test_same_padding_worked_example():
    # k3 s2 on 224 with `same`: total = (112 − 1)·2 + 3 − 224 = 1 → (0 before, 1 after); output 112; start 0
    report = convcalc.analyze(convcalc.load({"input": [3, 224, 224],
                                             "layers": [{"type": "conv", "out": 32, "kernel": 3, "stride": 2,
                                                         "padding": "same"}]}))
    layer = report.layers[0]
    assert layer.output_shape == [32, 112, 112]
    assert layer.rf.start == [0, 0]
    # MACs: 32·112·112·3·3·3 = 32·12,544·27 = 10,838,016
    assert layer.macs == 10_838_016


def test_make_divisible_examples():
    from convcalc.spec.expr import evaluate

    # 32·0.5 = 16 → 16; 32·0.35 = 11.2 → 8, below 0.9·11.2 = 10.08, so 16; 1280·0.75 = 960 → 960
    assert evaluate("make_divisible(32 * 0.5, 8)", {}) == 16
    assert evaluate("make_divisible(32 * 0.35, 8)", {}) == 16
    assert evaluate("make_divisible(1280 * 0.75, 8)", {}) == 960
    assert evaluate("32 * 0.3", {}) == Fraction(48, 5)


# ---- docs/flops.md: the FLOPs table is the code's table --------------------------------------------------------
def _flops_table(marker: str = "<!-- flops-table -->") -> dict[str, int]:
    text = (ROOT / "docs" / "flops.md").read_text(encoding="utf-8")
    start = text.index(marker)
    rows = {}
    for line in text[start:].splitlines()[1:]:
        if not line.startswith("|"):
            if rows:
                break
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        match = re.fullmatch(r"`([a-z0-9_]+)`", cells[0])
        if match:
            rows[match.group(1)] = int(cells[1])
    return rows


def test_flops_table_matches_conventions():
    assert _flops_table() == {op: cost for op, (cost, _) in FLOPS_PER_ELEMENT.items()}


def test_backward_flops_table_matches_conventions():
    assert _flops_table("<!-- backward-flops-table -->") == {op: cost for op, (cost, _) in
                                                             BACKWARD_FLOPS_PER_ELEMENT.items()}


# ---- docs/json.md: the example is real output, and every key the tool emits is documented ----------------------
def _json_doc():
    path = ROOT / "docs" / "json.md"
    specs = [body for _, _, body in fences(path, "yaml")]
    outputs = [body for _, _, body in fences(path, "json")]
    return path.read_text(encoding="utf-8"), specs, outputs


def test_json_example_is_the_tools_output():
    _, specs, outputs = _json_doc()
    documented = json.loads(outputs[0])
    produced = json.loads(convcalc.analyze(convcalc.load(specs[0])).to_json())
    documented.pop("source"), produced.pop("source")
    assert documented == produced


def _keys(value, path=(), out=None):
    """Every key path in a JSON value; by_type's keys are layer kinds, so only its children's keys count."""
    out = set() if out is None else out
    if isinstance(value, dict):
        for key, child in value.items():
            if path and path[-1] == "by_type":
                _keys(child, path + ("*",), out)
                continue
            out.add(key)
            _keys(child, path + (key,), out)
    elif isinstance(value, list):
        for child in value:
            _keys(child, path, out)
    return out


def test_every_emitted_key_is_documented():
    text, _, _ = _json_doc()
    emitted = set()
    for name, path in shipped_configs().items():
        emitted |= _keys(convcalc.analyze(convcalc.load(path)).to_dict())
    undocumented = sorted(key for key in emitted if f"`{key}`" not in text)
    assert not undocumented, f"keys emitted by analyze --format json but not documented in docs/json.md: {undocumented}"


def test_readme_links_the_docs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for page in ("docs/spec.md", "docs/flops.md", "docs/json.md", "docs/extending.md"):
        assert page in readme


# ---- every command and every option is documented ---------------------------------------------------------------
def _commands():
    """command name → its long flags, read from the Typer app itself."""
    import typer.main

    from convcalc.cli.app import app

    group = typer.main.get_command(app)
    return {name: sorted({flag for param in command.params if param.name != "help"
                          for flag in param.opts + param.secondary_opts if flag.startswith("--")})
            for name, command in group.commands.items()}


def _pages_about(command: str) -> list[Path]:
    """The pages that show `convcalc COMMAND` (the README counts for every command: its table lists them)."""
    return [path for path in DOCS if f"convcalc {command}" in path.read_text(encoding="utf-8")]


def _mentions(text: str, flag: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text) is not None


@pytest.mark.parametrize("command", sorted(_commands()))
def test_every_command_and_its_options_are_documented(command):
    pages = _pages_about(command)
    assert ROOT / "README.md" in pages, f"README.md does not show `convcalc {command}`"
    text = "\n".join(path.read_text(encoding="utf-8") for path in pages)
    missing = [flag for flag in _commands()[command] if not _mentions(text, flag)]
    assert not missing, (f"options of `convcalc {command}` not in the pages that show it "
                         f"({', '.join(p.name for p in pages)}): {missing}")


def test_the_apps_own_options_are_documented():
    import typer.main

    from convcalc.cli.app import app

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    flags = [flag for param in typer.main.get_command(app).params if param.name != "help" for flag in param.opts]
    assert flags == ["--version", "--install-completion", "--show-completion"]
    assert all(_mentions(readme, flag) for flag in flags)


def test_the_docs_check_sees_an_undocumented_option():
    assert _mentions("`--max-memory 4G`", "--max-memory") and not _mentions("--max-memory-x", "--max-memory")
    assert "--version" not in {flag for flags in _commands().values() for flag in flags}  # the app's, not a command's
    assert _commands()["sweep"] == ["--batch", "--chart", "--format", "--input", "--jobs", "--no-chart", "--plot",
                                    "--set", "--units", "--wide", "--width"]
