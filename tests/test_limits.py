"""The bounds of convcalc/limits.py (docs/spec.md, "Limits"): one bound on every number, checked where values
enter; text echoed shortened; files read only when regular and small; renderers that never raise.

Expected texts are worked out by hand: 10^5000 has 5,001 digits; 3^256 = 1.39·10^122 (256·log10 3 = 122.14);
2^333 = 1.75·10^100 (333·log10 2 = 100.24).
"""

from __future__ import annotations

import os
import time
from fractions import Fraction

import pytest

from convcalc.errors import SpecError
from convcalc.limits import (LIMIT, MAX_SPEC_BYTES, digit_count, number_text, read_file, shorten, within)
from convcalc.numbers import exact_text, fmt_bytes, fmt_count, percent_text, scaled_text


# ---- the bound ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value, inside", [
    (10**100, True), (-10**100, True), (10**100 + 1, False), (-10**100 - 1, False),
    (Fraction(1, 10**100), True), (Fraction(1, 10**100 + 1), False), (Fraction(10**100 * 3 + 1, 3), False),
    (True, True), ("text", True),
], ids=lambda v: number_text(v) if isinstance(v, (int, Fraction)) else None)
def test_within(value, inside):
    assert within(value) is inside


@pytest.mark.parametrize("value, digits", [(0, 1), (9, 1), (10**18, 19), (10**5000 - 1, 5000), (10**5000, 5001)],
                         ids=lambda v: number_text(v) if isinstance(v, (int, Fraction)) else None)
def test_digit_count_without_str(value, digits):
    assert digit_count(value) == digits


@pytest.mark.parametrize("value, text", [
    (1234, "1234"), (-10**5000, "-1.0000e+5000 (5,001 digits)"), (2**333, "1.7498e+100 (101 digits)"),
    (Fraction(3, 2), "3/2"), (Fraction(1, 10**5000), "1/1.0000e+5000 (5,001 digits)"),
], ids=lambda v: number_text(v) if isinstance(v, (int, Fraction)) else None)
def test_number_text(value, text):
    assert number_text(value) == text


@pytest.mark.parametrize("text, shown", [
    ("12", "12"), ("9" * 5000, "99999…(5,000 digits)"), ("-" + "1" * 50, "-11111…(50 digits)"),
    ("-" * 100 + "1", "-" * 30 + "…(101 characters)"),
])
def test_shorten(text, shown):
    assert shorten(text) == shown


# ---- renderers never raise on a legal value, nor on a huge one ------------------------------------------------------
@pytest.mark.parametrize("call, text", [
    (lambda: fmt_count(10**100, "auto"), "10," + "000," * 28 + "000.00 T"),
    (lambda: fmt_count(10**100, "K"), "10," + "000," * 31 + "000.000 K"),
    (lambda: fmt_count(10**5000, "raw"), "1.0000e+5000 (5,001 digits)"),
    (lambda: fmt_count(1_234_567, "auto"), "1.23 M"),
    (lambda: fmt_bytes(2**40 * 10**90), "1,024" + ",000" * 30 + ".00 GiB"),  # 2^40·10^90 B = 1024·10^90 GiB
    (lambda: scaled_text(123456789012345678901234567, 1000), "123,456,789,012,345,678,901,234.57"),
    (lambda: percent_text(Fraction(10**400)), "10" + ",000" * 133 + ".00%"),  # 401 digits
    (lambda: exact_text(Fraction(10**400 + 1, 2)), "5" + ",000" * 133),  # 5·10^399 + 1/2, half to even
])
def test_renderers_exact_beyond_float(call, text):
    assert call() == text


def test_human_and_parsed_bytes():
    from convcalc.verify import human_bytes, parse_bytes

    assert human_bytes(3 * 2**29) == "1.5 GiB"
    assert human_bytes(10**100) == "1.0000e+100 (101 digits) B"  # an estimate of a hostile spec, shortened
    assert human_bytes(2**70) == "1,099,511,627,776.0 GiB"  # 2^70 / 2^30 = 2^40, below the 10^30 where it shortens
    assert parse_bytes("1.5G") == 1_610_612_736
    with pytest.raises(SpecError, match=r"--max-memory 99999…\(5,000 digits\) has more digits"):
        parse_bytes("9" * 5000)
    with pytest.raises(SpecError, match=r"--max-memory is 1.0000e\+150 \(151 digits\), beyond ±10\^100"):
        parse_bytes("1" + "0" * 150)


# ---- files -------------------------------------------------------------------------------------------------------
def test_read_file_refuses_a_fifo_without_blocking(tmp_path):
    fifo = tmp_path / "spec.yaml"
    os.mkfifo(fifo)  # no writer: a plain open() would wait forever
    start = time.monotonic()
    with pytest.raises(SpecError, match="is not a regular file"):
        read_file(str(fifo), "the spec")
    assert time.monotonic() - start < 1


def test_read_file_refuses_devices_directories_and_big_files(tmp_path):
    with pytest.raises(SpecError, match="/dev/zero is not a regular file"):
        read_file("/dev/zero", "the baseline")
    with pytest.raises(SpecError, match="is a directory"):
        read_file(str(tmp_path), "the spec")
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * (MAX_SPEC_BYTES + 1))
    with pytest.raises(SpecError, match=r"larger than the limit of 2,097,152 bytes \(2,097,153 bytes\)"):
        read_file(str(big), "the spec")
    with pytest.raises(SpecError, match="cannot read the spec .*missing: No such file"):
        read_file(str(tmp_path / "missing"), "the spec")


def test_a_fifo_under_convcalc_configs_is_no_config(tmp_path, monkeypatch):
    from convcalc.spec.loader import CONFIG_DIRS_ENV, shipped_configs

    os.mkfifo(tmp_path / "evil.yaml")
    (tmp_path / "good.yaml").write_text("input: [3, 8, 8]\nlayers: [{type: relu}]\n")
    monkeypatch.setenv(CONFIG_DIRS_ENV, str(tmp_path))
    found = shipped_configs()
    assert "good" in found and "evil" not in found
    assert LIMIT == 10**100
