"""Budgets and baselines within the bounds of convcalc/limits.py (docs/spec.md, "Limits"; issue 16 §1, §4):
values of any size, baselines with wrong types, NaN, 5,000-digit numbers or 100,000 levels of nesting are each an
``error: FILE:LINE:COL: … — …`` at once."""

from __future__ import annotations

import json
import time

import pytest
from typer.testing import CliRunner

from convcalc.budgets.evaluate import load_baseline
from convcalc.budgets.parse import parse_amount, parse_cli_min_rf
from convcalc.cli.app import app
from convcalc.errors import SpecError

SPEC = "input: [3, 8, 8]\nlayers:\n  - {type: conv, out: 4, kernel: 1}\n"


@pytest.mark.parametrize("text, words", [
    ("9" * 5000, ["99999…(5,000 digits) has more digits than numbers within ±10^100 have"]),
    ("1e999999999", ["1e999999999 is beyond ±10^100"]),
    ("1e330", ["is 1.0000e+330 (331 digits), beyond ±10^100"]),
    ("1e99T", ["is 1.0000e+111 (112 digits), beyond ±10^100"]),  # 10^99 · 10^12
])
def test_amounts_are_bounded(text, words):
    start = time.monotonic()
    with pytest.raises(SpecError) as info:
        parse_amount(text, None, "macs")
    assert time.monotonic() - start < 1
    for word in words:
        assert word in info.value.message


def test_amounts_within_the_bound_are_exact():
    assert parse_amount("1e100", None, "macs")[0] == 10**100
    assert parse_amount("1.5M", None, "macs")[0] == 1_500_000


def test_min_rf_is_bounded():
    with pytest.raises(SpecError, match=r"--min-rf 99999…\(5,000 digits\) is beyond ±10\^100"):
        parse_cli_min_rf("9" * 5000)


@pytest.fixture(scope="module")
def report_json(tmp_path_factory):
    spec = tmp_path_factory.mktemp("spec") / "net.yaml"
    spec.write_text(SPEC)
    result = CliRunner().invoke(app, ["analyze", str(spec), "--format", "json"])
    return json.loads(result.stdout)


def _baseline(tmp_path, data=None, text=None):
    path = tmp_path / "base.json"
    path.write_text(text if text is not None else json.dumps(data))
    return str(path)


@pytest.mark.parametrize("change, words", [
    (lambda d: d["totals"].update(macs="abc"), ["`totals.macs` must be a whole number ≥ 0", "the text `abc`"]),
    (lambda d: d["totals"].update(macs=-1), ["`totals.macs` must be a whole number ≥ 0", "got -1"]),
    (lambda d: d["totals"].update(macs=2.5), ["`totals.macs` must be a whole number ≥ 0", "got 2.5"]),
    (lambda d: d["layers"][0].update(macs=[1]), ["`layers[0].macs` must be a whole number ≥ 0", "got [1]"]),
    (lambda d: d.update(name=7), ["`name` must be text, got 7"]),
    (lambda d: d.pop("totals"), ["`totals` must be a mapping, got nothing (null)"]),
])
def test_baseline_types(tmp_path, report_json, change, words):
    data = json.loads(json.dumps(report_json))
    change(data)
    with pytest.raises(SpecError) as info:
        load_baseline(_baseline(tmp_path, data))
    assert str(info.value.mark).endswith("base.json:1:1")
    for word in words:
        assert word in info.value.message


@pytest.mark.parametrize("text, words", [
    ('{"version": 1, "totals": {"macs": NaN}}', ["holds `NaN`, which is not a number"]),
    ('{"version": 1, "totals": {"macs": ' + "9" * 5000 + "}}", ["99999…(5,000 digits) is beyond ±10^100"]),
    ('{"version": 1, "totals": {"macs": 1e400}}', ["is 1.0000e+400 (401 digits), beyond ±10^100"]),
    ("[" * 100_000 + "]" * 100_000, ["nests too deeply"]),
])
def test_baseline_json_is_bounded(tmp_path, text, words):
    start = time.monotonic()
    with pytest.raises(SpecError) as info:
        load_baseline(_baseline(tmp_path, text=text))
    assert time.monotonic() - start < 2
    for word in words:
        assert word in info.value.message


def test_a_baseline_directory_with_a_name_too_long_for_a_file(tmp_path):
    with pytest.raises(SpecError, match="no baseline for"):
        load_baseline(str(tmp_path), "n" * 300)  # os.path.isfile, not Path.is_file: ENAMETOOLONG is "no file"
