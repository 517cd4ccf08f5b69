"""Whole rendered outputs pinned in golden files (tests/render/golden/), compared exactly, in the style of
torchinfo's tests/test_output/*.out: `convcalc analyze` of four configs in every format, `convcalc zoo` over the
same configs, one `convcalc compare`, and `convcalc check tests/fixtures/check/over.yaml` (run from the repository
root) in its five formats. The text is what a pipe (or NO_COLOR) gets; the table does not depend on the terminal
width.

A change to these outputs is deliberate: regenerate with ``python -m pytest tests/render --regen-golden`` (or
``CONVCALC_REGEN_GOLDEN=1``) and review the diff. Paths of the shipped configs are written as ``<configs>``.
"""

from __future__ import annotations

import difflib
import io
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convcalc.cli.app import app
from convcalc.spec.loader import shipped_configs

from .sums import check_csv, check_markdown, check_table

GOLDEN = Path(__file__).resolve().parent / "golden"
CONFIGS = ("resnet18", "mobilenet_v2", "variants/deformable", "variants/transposed")
#: golden suffix → analyze options
ANALYZE_FORMATS = {
    "txt": [],
    "raw.txt": ["--units", "raw"],
    "md": ["--format", "markdown", "--units", "raw"],
    "csv": ["--format", "csv"],
    "json": ["--format", "json"],
}
FORMATS = {"txt": "table", "md": "markdown", "csv": "csv", "json": "json"}
#: golden suffix → `convcalc check --format`
CHECK_FORMATS = {"txt": "table", "md": "markdown", "json": "json", "junit.xml": "junit", "github.txt": "github"}
ROOT = Path(__file__).resolve().parents[2]


def configs_dir() -> Path:
    return shipped_configs()["resnet18"].parent


def normalise(text: str) -> str:
    return text.replace(str(configs_dir()), "<configs>")


def check_golden(name: str, text: str, regen: bool, root: Path = GOLDEN) -> None:
    path = root / name
    if regen:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    if not path.exists():
        pytest.fail(f"no golden file {path.relative_to(root.parent)}: create it with "
                    "`python -m pytest tests/render --regen-golden` and review it")
    expected = path.read_text(encoding="utf-8")
    if text != expected:
        diff = difflib.unified_diff(expected.splitlines(), text.splitlines(), "golden", "now", lineterm="")
        pytest.fail(f"{name} differs from its golden file (deliberate? regenerate with --regen-golden):\n"
                    + "\n".join(list(diff)[:60]))


def cli(*args: str, exit_code: int = 0) -> str:
    result = CliRunner().invoke(app, list(args), env={"NO_COLOR": "1"})
    assert result.exit_code == exit_code, (result.stdout, result.stderr)
    return normalise(result.stdout)


def golden_name(config: str, suffix: str) -> str:
    return f"analyze/{config.replace('/', '-')}.{suffix}"


@pytest.mark.parametrize("suffix", list(ANALYZE_FORMATS))
@pytest.mark.parametrize("config", CONFIGS)
def test_analyze(config, suffix, regen_golden):
    check_golden(golden_name(config, suffix), cli("analyze", config, *ANALYZE_FORMATS[suffix]), regen_golden)


@pytest.mark.parametrize("config", CONFIGS)
def test_golden_columns_add_up_to_their_totals(config):
    """Parsed back from the golden files: each count column of the raw table, the Markdown and the CSV sums to
    its Total row, and the three agree."""
    read = {suffix: (GOLDEN / golden_name(config, suffix)).read_text(encoding="utf-8")
            for suffix in ("raw.txt", "md", "csv")}
    table, markdown, csv = check_table(read["raw.txt"]), check_markdown(read["md"]), check_csv(read["csv"])
    assert set(table) == set(markdown) == {"params", "macs", "flops", "activation_bytes"}
    assert table == markdown == {key: csv[key] for key in table}


def test_resnet18_totals_are_the_published_ones():
    # torchvision's model table: 11,689,512 params, 1.81 GFLOPS (= 1,814,073,344 multiply-accumulates)
    totals = check_csv((GOLDEN / golden_name("resnet18", "csv")).read_text(encoding="utf-8"))
    assert (totals["params"], totals["macs"]) == (11_689_512, 1_814_073_344)


@pytest.mark.parametrize("suffix", list(FORMATS))
def test_zoo(suffix, regen_golden):
    """The zoo view over the four configs (the whole zoo grows with every shipped config)."""
    from convcalc.zoo import zoo_entries
    from convcalc.render.emitters import emit
    from convcalc.render.zoo import ZooView

    entries = [e for e in zoo_entries(include_subfolders=True) if e.name in CONFIGS]
    assert [e.name for e in entries] == ["mobilenet_v2", "resnet18", "variants/deformable", "variants/transposed"]
    out = io.StringIO()
    emit(ZooView(entries, "raw"), FORMATS[suffix], out)
    check_golden(f"zoo.{suffix}", normalise(out.getvalue()), regen_golden)


@pytest.mark.parametrize("suffix", list(FORMATS))
def test_compare(suffix, regen_golden):
    check_golden(f"compare/dilated-as-grouped2.{suffix}",
                 cli("compare", "variants/dilated", "--as", "grouped:2", "--format", FORMATS[suffix]), regen_golden)


@pytest.mark.parametrize("suffix", list(CHECK_FORMATS))
def test_check(suffix, regen_golden, monkeypatch):
    """over.yaml exceeds 6 of its 7 budgets (exit code 1): every kind of line, detail and annotation."""
    monkeypatch.chdir(ROOT)
    check_golden(f"check/over.{suffix}", cli("check", "tests/fixtures/check/over.yaml", "--format",
                                             CHECK_FORMATS[suffix], exit_code=1), regen_golden)


def test_every_golden_file_is_produced_by_a_test():
    """A renamed case leaves no stale file behind."""
    produced = {golden_name(c, s) for c in CONFIGS for s in ANALYZE_FORMATS}
    produced |= {f"zoo.{s}" for s in FORMATS} | {f"compare/dilated-as-grouped2.{s}" for s in FORMATS}
    produced |= {f"check/over.{s}" for s in CHECK_FORMATS}
    on_disk = {p.relative_to(GOLDEN).as_posix() for p in GOLDEN.rglob("*") if p.is_file()}
    assert on_disk == produced
