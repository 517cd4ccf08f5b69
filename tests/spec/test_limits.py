"""Hostile input reaching the spec reader, the expression evaluator, the options and the analysis: each case is a
clean ``error: FILE:LINE:COL: … — …`` (exit 2), and the cases about hangs and memory finish within a tight time
(docs/spec.md, "Limits"; issue 16 §1, §2, §4).

Hand-worked figures: a0 = 3 and a(i+1) = a(i)·a(i) give a8 = 3^256 = 1.39·10^122 (256·log10 3 = 122.14), the first
past 10^100; a stride-2 conv halves nothing on a 1×1 map but doubles the RF jump, so the 333rd has jump
2^333 = 1.7498·10^100, the first past 10^100; a 1×1 conv from 3 to 10^99 channels on 8×8 does
3·10^99·64 = 1.92·10^101 MACs.
"""

from __future__ import annotations

import os
import time

import pytest
from typer.testing import CliRunner

from convcalc.cli.app import app
from convcalc.errors import SpecError
from convcalc.spec.expand import MAX_LAYERS
from convcalc.spec.loader import load

HEAD = "input: [3, 8, 8]\nlayers:\n"
#: an alias bomb: x9 is a list of 10^10 ones sharing ten nodes (an alias's position is its anchor's: 14:11)
BOMB = "x0: &x0 [1,1,1,1,1,1,1,1,1,1]\n" + "".join(
    f"x{i}: &x{i} [" + ",".join([f"*x{i - 1}"] * 10) + "]\n" for i in range(1, 10))
BOMB_BLOCK = "blocks:\n  b:\n    args:\n" + "".join("      " + line + "\n" for line in BOMB.splitlines()) + \
    "    layers: [{type: relu}]\n"


def cli(*args: str, env: dict | None = None):
    result = CliRunner().invoke(app, list(args), env={"NO_COLOR": "1", **(env or {})})
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    assert isinstance(result.exception, SystemExit)
    err = result.stderr
    assert "Traceback" not in err and err.startswith("error: ") and err.count("\n") == 1, err
    assert " — " in err
    return err


def refused(text: str, tmp_path, seconds: float = 2.0) -> str:
    """``convcalc analyze`` of ``text``: exit 2 within ``seconds``; the message."""
    path = tmp_path / "net.yaml"
    path.write_text(text)
    start = time.monotonic()
    err = cli("analyze", str(path))
    assert time.monotonic() - start < seconds
    return err.split(str(path), 1)[1]


@pytest.mark.parametrize("name, text, where, words", [
    ("decimal-5000-digits", HEAD + "  - {type: conv, out: " + "9" * 5000 + ", kernel: 1}\n", ":3:23:",
     ["the integer 99999…(5,000 digits) is beyond ±10^100"]),
    ("hex-5000-digits", HEAD + "  - {type: conv, out: 0x" + "f" * 5000 + ", kernel: 1}\n", ":3:23:",
     ["the integer 0xffff", "…(5,002 characters) is beyond ±10^100"]),
    ("float-1e330", HEAD + "  - {type: conv, out: 1.0e+330, kernel: 1}\n", ":3:23:",
     ["the number is 1.0000e+330 (331 digits), beyond ±10^100"]),
    ("float-1e200-in-an-expression", "input: [3, 8, 8]\nvars: {a: '1e200'}\nlayers:\n  - {type: relu}\n", ":2:11:",
     ["the number is 1.0000e+200 (201 digits), beyond ±10^100"]),
    ("exponent-1e999999999", "input: [3, 8, 8]\nvars: {a: '1e999999999'}\nlayers:\n  - {type: relu}\n", ":2:11:",
     ["1e999999999 is beyond ±10^100"]),
    ("round-a-billion-digits", "input: [3, 8, 8]\nvars: {a: 'round(1, 1000000000)'}\nlayers:\n  - {type: relu}\n",
     ":2:11:", ["the digits must be at most 100, got 1000000000"]),
    ("var-chain-of-squares", "input: [3, 8, 8]\nvars:\n  a0: 3\n" + "".join(
        f"  a{i + 1}: a{i}*a{i}\n" for i in range(33)) + "layers:\n  - {type: relu}\n", ":11:7:",
     ["`a7 * a7` gives 1.3900e+122 (123 digits), beyond ±10^100"]),
    ("100000-unary-minus", "input: [3, 8, 8]\nvars: {a: '" + "-" * 100_000 + "1'}\nlayers:\n  - {type: relu}\n",
     ":2:11:", ["…(100,001 characters)` is longer than 1,000 characters"]),
    ("900-unary-minus", "input: [3, 8, 8]\nvars: {a: '" + "-" * 900 + "1'}\nlayers:\n  - {type: relu}\n",
     ":2:11:", ["nests more than 100 levels deep"]),
    ("alias-bomb-as-type", "input: [3, 8, 8]\n" + BOMB_BLOCK + "layers:\n  - {type: *x9}\n", ":14:11:",
     ["`type` must name a layer kind, got a list of 10 items"]),
    ("alias-bomb-as-out", "input: [3, 8, 8]\n" + BOMB_BLOCK + "layers:\n  - {type: conv, out: *x9, kernel: 1}\n",
     ":14:11:", ["`out` expects a whole number, got a list of 10 items"]),
    ("alias-bomb-as-a-padding-pair", "input: [3, 8, 8]\n" + BOMB_BLOCK
     + "layers:\n  - {type: conv, out: 3, kernel: 1, padding: [*x9]}\n", ":14:11:",
     ["`padding` pair a list of 10 items has 10 values"]),
    ("rf-jump-2^333", HEAD + "  - {type: conv, out: 1, kernel: 1, stride: 2, repeat: 1000}\n", ":3:5:",
     ["layer `conv333`: its receptive field reaches 1.7498e+100 (101 digits), beyond ±10^100"]),
    ("count-past-10^100", HEAD + "  - {type: conv, out: 1e99, kernel: 1}\n", ":3:5:",
     ["layer `conv1`: its output shape or a count reaches 1.9200e+101 (102 digits), beyond ±10^100"]),
    # types checked where they enter (§4)
    ("dtype-mapping", HEAD + "  - {type: relu}\ndtype: {a: 1}\n", ":4:8:", ["`dtype` must name a dtype, got a mapping"]),
    ("block-inputs-int", "input: [3, 8, 8]\nblocks:\n  b:\n    inputs: 3\n    layers: [{type: relu}]\n"
     "layers:\n  - {block: b}\n", ":4:13:", ["`inputs` of block `b` must be a name or a list of names, got 3"]),
    ("block-inputs-null", "input: [3, 8, 8]\nblocks:\n  b:\n    inputs: null\n    layers: [{type: relu}]\n"
     "layers:\n  - {block: b}\n", ":4:13:", ["`inputs` of block `b` must be a name or a list of names, got nothing"]),
    ("block-output-list", "input: [3, 8, 8]\nblocks:\n  b:\n    output: [a]\n    layers: [{type: relu}]\n"
     "layers:\n  - {block: b}\n", ":4:13:", ["`output` of block `b` must be the name of one of its layers, got [a]"]),
    ("name-longer-than-NAME_MAX", "name: " + "n" * 300 + "\n" + HEAD + "  - {type: relu}\n", ":1:7:",
     ["`name` is 300 characters long, above the limit of 200"]),
    # a skipped item takes its repetitions' names (fuzz seed 23's case 4739: `repeat: 10^100` under a false `when:`
    # took names for ever); the value starts at col 39 of line 3
    ("skipped-repeat-10^100", HEAD + "  - {type: relu, when: false, repeat: 1" + "0" * 100 + "}\n", ":3:39:",
     ["`repeat: 1.0000e+100 (101 digits)` takes names past 100,000 layers", "skipped by its `when:`"]),
    # two skipped items of 60,000 names each: the second passes 100,000 (line 4)
    ("skipped-repeats-past-the-limit", HEAD + "  - {type: relu, when: false, repeat: 60000}\n" * 2, ":4:39:",
     ["`repeat: 60,000` takes names past 100,000 layers"]),
])
def test_refused_at_the_value(tmp_path, name, text, where, words):
    message = refused(text, tmp_path)
    assert message.startswith(where + " "), message
    for word in words:
        assert word in message, message


def test_a_long_written_layer_list_is_refused_before_expansion():
    start = time.monotonic()
    with pytest.raises(SpecError, match=f"`layers` lists 100,001 items, above the limit of {MAX_LAYERS:,} layers"):
        load({"input": [3, 8, 8], "layers": [{"type": "relu"}] * (MAX_LAYERS + 1)})
    assert time.monotonic() - start < 3


def test_a_big_spec_file_is_refused_unread(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text(HEAD + "  - {type: relu}\n" * 200_000)  # 3.4 MB: would take ~1 GB to parse
    err = cli("analyze", str(path))
    assert "is larger than the limit of 2,097,152 bytes (3,400,025 bytes)" in err


@pytest.mark.parametrize("args, words", [
    (["--batch", "1" + "0" * 150], ["error: --batch 10000…(151 digits): beyond ±10^100 — convcalc works with numbers up to 10^100"]),
    (["--input", "3x" + "9" * 5000 + "x8"], ["--input 3x99999", "…(5,004 characters) is beyond ±10^100"]),
    (["--input", "3x" + "2" + "0" * 100], ["--input is 2.0000e+100 (101 digits), beyond ±10^100"]),
    (["--set", "a=" + "9" * 5000], ["--set a=99999…(5,000 digits)", "is longer than 1,000 characters"]),
    (["--set", "a=1e330"], ["--set a=1e330: in expression `1e330`: the number is 1.0000e+330"]),
])
def test_options_are_bounded(tmp_path, args, words):
    path = tmp_path / "net.yaml"
    path.write_text("input: [3, 8, 8]\nvars: {a: 4}\nlayers:\n  - {type: conv, out: a, kernel: 1}\n")
    err = cli("analyze", str(path), *args)
    for word in words:
        assert word in err, err


def test_special_files_never_block(tmp_path):
    spec = tmp_path / "net.yaml"
    spec.write_text(HEAD + "  - {type: conv, out: 4, kernel: 1}\n")
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    start = time.monotonic()
    assert "not a regular file" in cli("analyze", str(fifo))
    assert "the budgets file" in cli("check", str(spec), "--budgets", str(fifo))
    assert "/dev/zero is not a regular file" in cli("check", str(spec), "--budgets", "/dev/zero")
    assert "the baseline" in cli("check", str(spec), "--baseline", str(fifo), "--max-increase", "macs=2%")
    assert "/dev/zero is not a regular file" in cli("check", str(spec), "--baseline", "/dev/zero",
                                                    "--max-increase", "macs=2%")
    result = CliRunner().invoke(app, ["check", str(fifo), "/dev/zero", "--skip-unbudgeted"])
    assert result.exit_code == 0 and "Traceback" not in result.output  # neither is a spec: both skipped
    assert time.monotonic() - start < 10


@pytest.mark.parametrize("args, words", [
    (["compare", "--layer", "conv " + "9" * 5000 + "->3 k3 @8x8"], ["99999…(5,000 digits) is beyond ±10^100"]),
    (["compare", "--layer", "conv 3->3 k3 @2" + "0" * 100 + "x8"], ["is 2.0000e+100 (101 digits), beyond ±10^100"]),
    (["compare", "--layer", "conv 8->8 k3 @8x8", "--groups", "9" * 5000], ["--groups 99999…(5,000 digits) is beyond"]),
    (["rf", "SPEC", "--layer", "conv1", "--at", "9" * 5000], ["--at 99999…(5,000 digits) is beyond ±10^100"]),
    (["rf", "SPEC", "--erf", "analytic", "--mass", "9" * 5000], ["--mass 99999…(5,000 digits) has more digits"]),
    (["verify", "SPEC", "--max-memory", "9" * 400 + "G"], ["--max-memory 99999…(400 digits) has more digits"]),
    (["check", "SPEC", "--max", "macs=" + "9" * 5000], ["`--max macs` 99999…(5,000 digits) has more digits"]),
])
def test_option_values_are_bounded(tmp_path, args, words):
    spec = tmp_path / "net.yaml"
    spec.write_text(HEAD + "  - {type: conv, out: 4, kernel: 1}\n")
    err = cli(*[str(spec) if a == "SPEC" else a for a in args])
    for word in words:
        assert word in err, err


@pytest.mark.parametrize("text, where, words", [
    ("? " + "k" * 100_000 + "\n: 1\n" + HEAD + "  - {type: relu}\n", ":1:3:", ["unknown top-level key `kkkkk", "(100,000 characters)`"]),
    (HEAD + "  - {type: " + "r" * 100_000 + "}\n", ":3:12:", ["unknown layer type `rrrrr", "(100,000 characters)`"]),
    (HEAD + "  - {type: relu, inputs: " + "i" * 100_000 + "}\n", ":3:26:", ["unknown input `iiiii", "(100,000 characters)`"]),
])
def test_long_words_are_echoed_shortened(tmp_path, text, where, words):
    message = refused(text, tmp_path)
    assert message.startswith(where + " ") and len(message) < 1000, message[:300]
    for word in words:
        assert word in message, message


def test_divisors_by_bounded_trial_division():
    from convcalc.limits import divisors

    assert divisors(1) == [1] and divisors(12) == [1, 2, 3, 4, 6, 12]
    assert divisors(720) == [1, 2, 3, 4, 5, 6, 8, 9, 10, 12, 15, 16, 18, 20, 24, 30, 36, 40, 45, 48, 60, 72, 80, 90,
                             120, 144, 180, 240, 360, 720]  # 2⁴·3²·5: 5·3·2 = 30 divisors
    assert divisors(2**31 - 1) == [1, 2**31 - 1]  # a Mersenne prime: √ ≈ 46,341 steps
    assert divisors(2**40) == [2**i for i in range(41)]  # under 2^42: exact
    # beyond 2^42 the pairs with d ≤ 2^21 only: for 2^60, 2^0 … 2^21 and their cofactors 2^39 … 2^60; 2^22 … 2^38
    # (a pair of factors both above 2^21) are not found
    assert divisors(2**60) == [2**i for i in (*range(22), *range(39, 61))]
