"""Every class of spec error (docs/spec.md, "Errors"), through the CLI: ``FILE:LINE:COL: what is wrong — how to fix it`` on stderr,
exit code 2, nothing on stdout, no traceback.

Each fixture is written to tmp_path; LINE and COL are 1-based and hand-counted (the comment under each fixture
says where the mark points and why). Besides the position, each case names the words that must be in the message
(the numbers involved) and in the hint (after the ``—``).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import convcalc
from convcalc.cli.app import app
from convcalc.errors import SpecError

HEAD = "name: t\ninput: [3, 8, 8]\nlayers:\n"  # lines 1–3; the first layer is on line 4


def run(*args, env=None):
    return CliRunner().invoke(app, ["analyze", *args], env=env)


def assert_user_error(result, where: str | None, message: list[str], hint: list[str]):
    """Exit 2, one ``error: WHERE: message — hint`` line on stderr, nothing on stdout, no traceback."""
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    assert isinstance(result.exception, SystemExit)  # a clean exit, not an escaped exception
    assert result.stdout == ""
    err = result.stderr
    assert "Traceback" not in err and "Traceback" not in result.output
    assert err.startswith("error: ") and err.count("\n") == 1, err
    text = err[len("error: "):].rstrip("\n")
    if where is not None:
        assert text.startswith(where + ": "), text
    assert " — " in text, f"no hint: {text}"
    what, fix = text.split(" — ", 1)
    for word in message:
        assert word in what, f"{word!r} not in the message {what!r}"
    for word in hint:
        assert word in fix, f"{word!r} not in the hint {fix!r}"


# (id, YAML text, line, col, words in the message, words in the hint)
CASES = [
    ("unknown-type", HEAD + """\
  - type: conv2d
    out: 4
    kernel: 3
""",  # line 4: `  - type: ` is 10 characters → the value `conv2d` at col 11
     4, 11, ["unknown layer type `conv2d`"], ["did you mean `conv`?"]),

    ("null-type", HEAD + """\
  - type:
    out: 4
""",  # line 4: `type:` with nothing after it is null; `  - type:` is 9 characters, PyYAML marks the empty value just after → col 10
     4, 10, ["`type` must name a layer kind, got nothing (null)"], ["type: conv"]),

    ("boolean-type", HEAD + """\
  - {type: on}
""",  # line 4: `  - {type: ` is 11 characters → `on` (a YAML boolean) at col 12
     4, 12, ["`type` must name a layer kind, got the YAML boolean `on`"], ["type: conv"]),

    ("null-block", HEAD + """\
  - {block: null}
""",  # line 4: `  - {block: ` is 12 characters → col 13
     4, 13, ["`block` must name a block, got nothing (null)"], ["blocks:"]),

    ("recursive-alias", """\
name: t
input: [3, 8, 8]
layers: &l
  - *l
""",  # the alias `*l` names the list it sits in (was a RecursionError). PyYAML gives the alias the anchored node
    # itself, so the mark is the anchor's: line 3, `layers: ` is 8 characters → `&l` at col 9
     3, 9, ["this anchored collection contains an alias to itself"], ["defined before and outside it"]),

    ("yaml11-octal", HEAD + """\
  - {type: conv, out: 010, kernel: 3}
""",  # YAML 1.1 reads 010 as octal 8; it stays the text `010`. `  - {type: conv, out: ` is 22 characters → col 23
     4, 23, ["cannot parse the expression `010`", "leading zeros"], ["use numbers"]),

    ("yaml11-sexagesimal", HEAD + """\
  - {type: conv, out: 1:00, kernel: 3}
""",  # YAML 1.1 reads 1:00 as 60; it stays the text `1:00`, which is no expression. Col 23 as above
     4, 23, ["cannot parse the expression `1:00`"], ["use numbers"]),

    ("yaml-date", HEAD + """\
  - {type: conv, out: 2001-12-14, kernel: 3}
""",  # a YAML timestamp, which would otherwise evaluate as 2001 − 12 − 14 = 1975. Col 23 as above
     4, 23, ["`2001-12-14` is a date in YAML, not a number"], ["write a number"]),

    ("when-list-without-repeat", HEAD + """\
  - {type: relu}
  - {type: conv, out: 4, kernel: 1, when: [false]}
""",  # line 5: a one-item list is not `false` (it was truthy, so the layer was kept). `  - {type: conv, out: 4,
    # kernel: 1, when: ` is 42 characters → col 43
     5, 43, ["`when:` lists 1 value but the item does not repeat"], ["exactly `repeat:`"]),

    ("when-list-length", HEAD + """\
  - {type: relu, repeat: 3, when: [true, false]}
""",  # line 4: `  - {type: relu, repeat: 3, when: ` is 34 characters → col 35
     4, 35, ["`when:` lists 2 values but the item repeats 3 times"], ["exactly `repeat:`"]),

    ("when-number", HEAD + """\
  - {type: relu}
  - {type: relu, when: 1}
""",  # line 5: `  - {type: relu, when: ` is 23 characters → col 24
     5, 24, ["`when:` must be true or false, got 1"], ["stride == 1"]),

    ("duplicate-full-name", HEAD + """\
  - {type: conv, name: a, out: 4, kernel: 1, repeat: 2}
  - {type: conv, name: a.0, out: 6, kernel: 1}
""",  # `a` repeated twice is a.0 and a.1, so the explicit `a.0` would be a second layer of that name (was accepted:
    # two rows `a.0`). Line 5: `  - {type: conv, name: ` is 23 characters → col 24
     5, 24, ["two layers would be named `a.0`: this one and the one at line 4"], ["rename one"]),

    ("block-recursion", """\
name: t
input: [3, 8, 8]
blocks:
  b: {layers: [{block: c}]}
  c: {layers: [{block: b}]}
layers:
  - {block: b}
""",  # b → c → b: the call of `b` inside `c`, line 5: `  c: {layers: [{block: ` is 23 characters → col 24
     5, 24, ["block `b` uses itself (b → c → b)"], ["directly or through other blocks"]),

    ("layer-name-with-space", HEAD + """\
  - {type: relu, name: a b}
""",  # line 4: `  - {type: relu, name: ` is 23 characters → col 24
     4, 24, ["a layer name cannot contain spaces or control characters, got `a b`"], ["letters, digits"]),

    ("var-name-keyword", """\
name: t
input: [3, 8, 8]
vars: {lambda: 4}
layers:
  - {type: relu}
""",  # line 3: the key after `vars: {` (7 characters) → col 8; no expression could name it
     3, 8, ["var name `lambda` cannot be used: `lambda` is a Python keyword"], ["starting with a letter"]),

    ("block-arg-structural", """\
name: t
input: [3, 8, 8]
blocks:
  b: {args: {repeat: 4}, layers: [{type: relu}]}
layers:
  - {block: b}
""",  # `repeat:` in a call would feed both the repeat count and the argument. Line 4: `  b: {args: {` is 13
    # characters → col 14
     4, 14, ["block `b`: argument name `repeat` cannot be used: `repeat` is a key of every block call"], ["`_`"]),

    ("top-level-name-list", """\
name: [a]
input: [3, 8, 8]
layers:
  - {type: relu}
""",  # line 1: `name: ` is 6 characters → col 7 (the title was printed as ['a'])
     1, 7, ["`name` must be text, got [a]"], ["name: resnet50"]),

    ("defaults-kind-not-a-mapping", """\
name: t
input: [3, 8, 8]
defaults: {conv: 3}
layers:
  - {type: relu}
""",  # line 3: `defaults: {conv: ` is 17 characters → col 18 (it said "did you mean `conv`")
     3, 18, ["`defaults: conv` must be a mapping of `conv` keys, got 3"], ["convcalc explain conv"]),

    ("repeat-fraction", HEAD + """\
  - {type: relu, repeat: 2.5}
""",  # line 4: `  - {type: relu, repeat: ` is 25 characters → col 26; shown as 2.5, not Fraction(5, 2)
     4, 26, ["`repeat` must be a whole number ≥ 0, got 2.5"], ["fix `repeat`"]),

    ("unknown-key", HEAD + """\
  - type: conv
    out: 4
    kernal: 3
""",  # line 6, the key `kernal` after 4 spaces → col 5
     6, 5, ["`conv` has no key `kernal`"], ["did you mean `kernel`?"]),

    ("unknown-top-level-key", """\
name: t
input: [3, 8, 8]
layer:
  - {type: relu}
""",  # line 3, col 1
     3, 1, ["unknown top-level key `layer`"], ["did you mean `layers`?"]),

    ("missing-field", HEAD + """\
  - type: conv
    kernel: 3
""",  # the layer's mapping starts on line 4 after `  - ` → col 5
     4, 5, ["`conv` layer is missing `out`"], ["add `out:`"]),

    ("missing-input", """\
name: t
layers:
  - {type: relu}
""",  # the document itself: line 1, col 1
     1, 1, ["missing `input`"], ["input: [C, H, W]"]),

    ("wrong-type-yes", HEAD + """\
  - type: conv
    out: yes
    kernel: 3
""",  # line 5: `    out: ` is 9 characters → col 10
     5, 10, ["`out` expects a number", "YAML boolean `yes`"], ["booleans", "write a number"]),

    ("wrong-type-no", HEAD + """\
  - type: conv
    out: 4
    kernel: 3
    stride: no
""",  # line 7: `    stride: ` is 12 characters → col 13
     7, 13, ["`stride` expects a number", "YAML boolean `no`"], ["booleans"]),

    ("wrong-type-on", HEAD + """\
  - type: conv
    out: 4
    kernel: on
""",  # line 6: `    kernel: ` is 12 characters → col 13
     6, 13, ["`kernel` expects a number", "YAML boolean `on`"], ["booleans"]),

    ("wrong-type-batch-on", """\
name: t
input: [3, 8, 8]
batch: on
layers:
  - {type: relu}
""",  # line 3: `batch: ` is 7 characters → col 8
     3, 8, ["`batch` expects a number", "YAML boolean `on`"], ["booleans"]),

    ("wrong-type-input-yes", """\
name: t
input: [3, yes, 8]
layers:
  - {type: relu}
""",  # line 2: `input: [3, ` is 11 characters → col 12
     2, 12, ["`input` expects a number", "YAML boolean `yes`"], ["booleans"]),

    ("wrong-type-bool-field", HEAD + """\
  - type: conv
    out: 4
    kernel: 3
    bias: 7
""",  # line 7: `    bias: ` is 10 characters → col 11
     7, 11, ["`bias` expects true or false, got 7"], ["true or false"]),

    ("wrong-type-list", HEAD + """\
  - type: conv
    out: [1, 2]
    kernel: 3
""",  # line 5, col 10
     5, 10, ["`out` expects a whole number, got [1, 2]"], ["write a number"]),

    ("wrong-type-input-not-a-list", """\
name: t
input: 224
layers:
  - {type: relu}
""",  # line 2, col 8
     2, 8, ["`input` must be a list"], ["input: [3, 224, 224]"]),

    ("wrong-type-via-block-argument", """\
name: t
input: [3, 8, 8]
blocks:
  b:
    args: {o: null}
    layers:
      - type: conv
        out: o
        kernel: 3
layers:
  - {block: b, o: yes}
""",  # booleans are valid block arguments; used as a number, the error points at the call's value, line 11:
    # `  - {block: b, o: ` is 18 characters → col 19, and names the field in the block (line 8)
     11, 19, ["`out` expression gave the boolean true (from `out: o` in block `b`, line 8)"],
     ["yes/no/on/off", "block arguments"]),

    ("bad-value-in-block-instance", """\
name: t
input: [3, 8, 8]
blocks:
  b:
    args: {k: 3}
    layers:
      - {type: conv, out: 4, kernel: "k * 1.5"}
layers:
  - {block: b}
""",  # the field itself is wrong (k·1.5 = 4.5), so it keeps its mark, line 7: `      - {type: conv, out: 4, kernel: `
    # is 37 characters → col 38, and says which instance: `b1`, called at line 9
     7, 38, ["`kernel` must be a whole number, got 4.5 (9/2) (in `b1`, the call of block `b` at line 9)"], ["round()"]),

    ("duplicate-key", HEAD + """\
  - type: conv
    out: 4
    kernel: 3
    out: 8
""",  # the second `out` on line 7, col 5; the first is on line 5
     7, 5, ["duplicate key `out`", "line 5"], ["remove or rename"]),

    ("duplicate-layer-name", HEAD + """\
  - {type: conv, name: a, out: 4, kernel: 3}
  - {type: relu, name: a}
""",  # line 5: `  - {type: relu, name: ` is 23 characters → col 24
     5, 24, ["duplicate layer name `a`", "line 4"], ["unique name"]),

    ("groups-in", HEAD + """\
  - type: conv
    out: 64
    kernel: 3
    groups: 5
""",  # line 7: `    groups: ` is 12 characters → col 13
     7, 13, ["input channels (3) are not divisible by groups (5)"], ["dividing both 3 and 64"]),

    ("groups-out", """\
name: t
input: [4, 8, 8]
layers:
  - type: conv
    out: 6
    kernel: 3
    groups: 4
""",  # line 7, col 13
     7, 13, ["output channels (6) are not divisible by groups (4)"], ["dividing both 4 and 6"]),

    ("output-below-1-conv", """\
name: t
input: [3, 4, 4]
layers:
  - type: conv
    out: 4
    kernel: 7
""",  # the layer: line 4, col 5. floor((4 + 0 + 0 − 7)/1) + 1 = floor(−3) + 1 = −2
     4, 5, ["floor((4 + 0 + 0 − 7) / 1) + 1 = -2", "below 1"], ["input (4)", "effective kernel (7)"]),

    ("output-below-1-pool", """\
name: t
input: [3, 2, 2]
layers:
  - {type: maxpool, kernel: 3, stride: 2}
""",  # floor((2 + 0 + 0 − 3)/2) + 1 = floor(−1/2) + 1 = −1 + 1 = 0
     4, 5, ["floor((2 + 0 + 0 − 3) / 2) + 1 = 0", "below 1"], ["input (2)", "effective kernel (3)"]),

    ("output-below-1-dilated", """\
name: t
input: [3, 6, 6]
layers:
  - {type: conv, out: 4, kernel: 3, dilation: 3}
""",  # k_eff = 3·(3 − 1) + 1 = 7: floor((6 + 0 + 0 − 7)/1) + 1 = 0
     4, 5, ["floor((6 + 0 + 0 − 7) / 1) + 1 = 0"], ["effective kernel (7)"]),

    ("output-below-1-transposed", """\
name: t
input: [4, 2]
layers:
  - type: conv_transpose
    out: 4
    kernel: 1
    padding: 1
""",  # (2 − 1)·1 − 1 − 1 + 1 + 0 = 0; points at the padding: line 7, `    padding: ` 13 characters → col 14
     7, 14, ["(2 − 1)·1 − 1 − 1 + 1 + 0 = 0", "below 1"], ["reduce the padding"]),

    ("unknown-reference", HEAD + """\
  - {type: conv, out: 3, kernel: 1}
  - type: add
    inputs: [input, nope]
""",  # line 6: `    inputs: [input, ` is 20 characters → col 21
     6, 21, ["unknown input `nope`"], ["`conv1`", "`input`"]),

    ("misspelt-reference", HEAD + """\
  - {type: conv, name: branch, out: 3, kernel: 1}
  - type: add
    inputs: [input, brnach]
""",
     6, 21, ["unknown input `brnach`"], ["did you mean `branch`?"]),

    ("later-reference", HEAD + """\
  - type: add
    inputs: [input, b]
  - {type: conv, name: b, out: 3, kernel: 1}
""",  # line 5, col 21; `b` is on line 6
     5, 21, ["`b` is defined later (line 6)"], ["earlier layers"]),

    ("cycle", HEAD + """\
  - {type: conv, name: a, out: 3, kernel: 1}
  - type: add
    name: b
    inputs: [a, b]
""",  # line 7: `    inputs: [a, ` is 16 characters → col 17
     7, 17, ["layer `b` uses itself as an input", "cycle"], ["earlier layer"]),

    ("add-shapes", """\
name: t
input: [64, 56, 56]
layers:
  - {type: conv, name: down, out: 64, kernel: 3, stride: 2, padding: 1}
  - type: add
    inputs: [input, down]
""",  # the `inputs:` value: line 6, `    inputs: ` is 12 characters → col 13
     6, 13, ["cannot add", "`input` (64, 56, 56)", "`down` (64, 28, 28)"], ["same shape"]),

    ("concat-shapes", """\
name: t
input: [64, 56, 56]
layers:
  - {type: conv, name: down, out: 32, kernel: 3, stride: 2, padding: 1}
  - type: concat
    inputs: [input, down]
""",
     6, 13, ["cannot concat", "`input` (64, 56, 56)", "`down` (32, 28, 28)", "spatial sizes differ"],
     ["spatial sizes match"]),

    ("multiply-shapes", """\
name: t
input: [8, 6, 6]
layers:
  - {type: conv, name: c, out: 4, kernel: 1}
  - type: multiply
    inputs: [input, c]
""",  # (8, 6, 6) × (4, 6, 6): 8 vs 4 on the channel axis, neither is 1
     6, 13, ["cannot broadcast", "`input` (8, 6, 6)", "`c` (4, 6, 6)"], ["equal or 1"]),

    ("expression-syntax", HEAD + """\
  - type: conv
    out: "2 *"
    kernel: 3
""",  # line 5, col 10 (the opening quote)
     5, 10, ["cannot parse the expression `2 *`"], ["parentheses"]),

    ("expression-unknown-name", """\
name: t
input: [3, 8, 8]
vars: {alpha: 1}
layers:
  - type: conv
    out: alpah * 4
    kernel: 3
""",  # line 6, col 10
     6, 10, ["unknown name `alpah`"], ["did you mean `alpha`?"]),

    ("expression-import", HEAD + """\
  - type: conv
    out: "__import__('os').system('echo pwned')"
    kernel: 3
""",
     5, 10, ["unknown function `__import__('os').system`"], ["`make_divisible`"]),

    ("expression-attribute", """\
name: t
input: [3, 8, 8]
vars: {a: 2}
layers:
  - type: conv
    out: "a.real"
    kernel: 3
""",
     6, 10, ["`a.real` is not allowed"], ["only arithmetic"]),

    ("expression-dunder", HEAD + """\
  - type: conv
    out: "().__class__.__bases__"
    kernel: 3
""",
     5, 10, ["is not allowed"], ["only arithmetic"]),

    ("expression-subscript", """\
name: t
input: [3, 8, 8]
vars: {a: 2}
layers:
  - type: conv
    out: "a[0]"
    kernel: 3
""",
     6, 10, ["`a[0]` is not allowed"], ["only arithmetic"]),

    ("expression-fraction", """\
name: t
input: [3, 8, 8]
vars: {alpha: 0.3}
layers:
  - type: conv
    out: 32 * alpha
    kernel: 3
""",  # 32·3/10 = 48/5 = 9.6
     6, 10, ["`out` must be a whole number, got 9.6 (48/5)"], ["round()", "make_divisible()"]),

    ("expression-make-divisible-by-zero", HEAD + """\
  - type: conv
    out: make_divisible(8, 0)
    kernel: 3
""",  # used to escape as a ZeroDivisionError traceback; a divisor must be a whole number ≥ 1
     5, 10, ["`make_divisible(8, 0)` failed", "the divisor must be a whole number ≥ 1, got 0"], ["arguments"]),

    ("expression-too-large", HEAD + """\
  - type: conv
    out: (2 ** 256) ** 256
    kernel: 3
""",  # 2^65,536 has 19,729 digits: Python refuses to print it (used to be a ValueError traceback in the renderer)
     5, 10, ["`(2 ** 256) ** 256` is too large"], ["10^100"]),

    ("expression-too-deep", HEAD + """\
  - type: conv
    out: """ + "+".join(["1"] * 5000) + """
    kernel: 3
""",  # 5,000 terms, 9,999 characters: beyond the length limit (used to be a RecursionError traceback)
     5, 10, ["is longer than 1,000 characters"], ["several vars"]),

    ("flat-input-to-conv", HEAD + """\
  - {type: flatten}
  - {type: conv, out: 4, kernel: 1}
""",  # 3·8·8 = 192 features, written as Python writes a 1-tuple
     5, 5, ["got shape (192,)"], ["flatten or pool"]),

    ("padding-word-typo", HEAD + """\
  - type: conv
    out: 4
    kernel: 3
    padding: samee
""",  # line 7: `    padding: ` is 13 characters → col 14
     7, 14, ["`padding` is `samee`"], ["did you mean `same`?"]),

    ("pool-padding-word", HEAD + """\
  - type: maxpool
    kernel: 3
    padding: same
""",  # pooling pads symmetrically (PyTorch): a padding word is refused with a reason. line 6, col 14
     6, 14, ["`padding` cannot be `same` on this kind"], ["padding: 1"]),

    ("yaml-python-object-tag", """\
name: t
input: !!python/object:os.system [3, 8, 8]
layers:
  - {type: relu}
""",  # line 2: `input: ` is 7 characters → the tag at col 8
     2, 8, ["YAML tag", "python/object:os.system", "not allowed"], ["safe", "remove the tag"]),

    ("yaml-python-apply-tag", HEAD + """\
  - !!python/object/apply:os.system ['echo pwned']
""",  # line 4, col 5
     4, 5, ["YAML tag", "python/object/apply:os.system", "not allowed"], ["remove the tag"]),

    ("yaml-syntax", """\
name: t
input: [3, 8, 8
layers:
  - {type: relu}
""",  # the parser reads `layers` as a plain item of the unclosed flow list and stops at its `:`, line 3 col 7
     3, 7, ["YAML syntax error"], ["indentation and quoting"]),

    ("empty-spec", "",
     1, 1, ["the spec is empty"], ["input:", "layers:"]),

    ("block-with-repeat", """\
name: t
input: [3, 8, 8]
blocks:
  pair:
    args: {o: null}
    layers:
      - {type: conv, out: o, kernel: 3, padding: 1}
      - {type: conv, out: o, kernel: 3, padding: 1, groups: 3}
layers:
  - {block: pair, name: stage, repeat: 2, o: [3, 4]}
""",  # repetition 0 (o = 3) is fine; in repetition 1 the second conv has 4 channels and groups 3. The mark is the
     # block's own line 8: `      - ` 8 + `{type: conv, ` 13 + `out: o, ` 8 + `kernel: 3, ` 11 + `padding: 1, ` 12
     # + `groups: ` 8 = 60 characters → col 61
     8, 61, ["`stage.1.conv2`", "input channels (4) are not divisible by groups (3)"], ["dividing both 4 and 4"]),

    ("per-repetition-value", """\
name: t
input: [8, 8, 8]
layers:
  - type: conv
    name: c
    repeat: 3
    out: [8, 8, 9]
    kernel: 1
    groups: [1, 2, 2]
""",  # the third repetition: 8 → 9 channels, groups 2. line 9: `    groups: ` → col 13
     9, 13, ["`c.2`", "output channels (9) are not divisible by groups (2)"], ["dividing both 8 and 9"]),

    ("repeat-too-large", HEAD + """\
  - {type: relu, repeat: 10 ** 9}
""",  # used to run for hours; `  - {type: relu, ` is 17 characters, `repeat: ` 8 more → col 26
     4, 26, ["`repeat: 1,000,000,000`", "past 100,000 layers"], ["repeat count"]),

    ("unknown-block-argument", """\
name: t
input: [3, 8, 8]
blocks:
  b:
    args: {o: null}
    layers:
      - {type: conv, out: o, kernel: 3}
layers:
  - block: b
    oo: 3
""",  # line 10, the key at col 5
     10, 5, ["block `b` has no argument `oo`"], ["did you mean `o`?"]),

    ("arity", HEAD + """\
  - {type: add}
""",
     4, 5, ["`add` takes at least 2 inputs, got 1"], ["inputs: [a, b]"]),
]


@pytest.mark.parametrize("text, line, col, message, hint", [pytest.param(*case[1:], id=case[0]) for case in CASES])
def test_error_position_message_and_hint(tmp_path, text, line, col, message, hint):
    path = tmp_path / "net.yaml"
    path.write_text(text)
    assert_user_error(run(str(path), "--format", "json"), f"{path}:{line}:{col}", message, hint)


@pytest.mark.parametrize("text, line, col", [pytest.param(*case[1:4], id=case[0]) for case in CASES])
def test_the_library_raises_the_same_mark(tmp_path, text, line, col):
    """convcalc.load + analyze raise SpecError with the same 1-based position (the CLI only formats it)."""
    path = tmp_path / "net.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as info:
        convcalc.analyze(convcalc.load(str(path)))
    assert (info.value.mark.file, info.value.mark.line, info.value.mark.col) == (str(path), line, col)
    assert info.value.hint


def test_no_code_runs_from_expressions_or_tags(tmp_path):
    """Neither an expression nor a YAML tag is ever executed: the files they would create do not appear."""
    marker_expr, marker_tag = tmp_path / "from_expr", tmp_path / "from_tag"
    expr = HEAD + f"  - {{type: conv, out: \"__import__('os').system('touch {marker_expr}')\", kernel: 3}}\n"
    tag = HEAD + f"  - !!python/object/apply:os.system ['touch {marker_tag}']\n"
    for name, text in (("expr.yaml", expr), ("tag.yaml", tag)):
        path = tmp_path / name
        path.write_text(text)
        assert run(str(path)).exit_code == 2
    assert not marker_expr.exists() and not marker_tag.exists()


# ---- command-line values ---------------------------------------------------------------------------------------
VARS_SPEC = """\
name: t
input: [3, 8, 8]
vars: {alpha: 1}
layers:
  - {type: conv, out: 8 * alpha, kernel: 3}
"""


@pytest.fixture
def vars_spec(tmp_path):
    path = tmp_path / "vars.yaml"
    path.write_text(VARS_SPEC)
    return path


@pytest.mark.parametrize("args, where, message, hint", [
    (["--set", "alpah=2"], None, ["--set alpah", "no var named `alpah`"], ["did you mean `alpha`?"]),
    (["--set", "beta=2"], None, ["no var named `beta`"], ["`alpha`"]),
    (["--set", "alpha"], None, ["`--set alpha` is not NAME=VALUE"], ["--set alpha=0.5"]),
    (["--set", "alpha=foo("], None, ["--set alpha=foo(: cannot parse the expression `foo(`"], ["parentheses"]),
    (["--set", "alpha=yse"], None, ["--set alpha=yse: ", "unknown name `yse`"], ["vars:"]),
    # a boolean word is a boolean, as in YAML; `out: 8 * alpha` then does arithmetic on it (not 8·1)
    (["--set", "alpha=yes"], "{path}:5:23", ["`8 * alpha` does arithmetic on the boolean true"],
     ["booleans", "a if flag else b"]),
    # 8·0.3 = 12/5 = 2.4: the spec's line 5, `  - {type: conv, out: ` is 22 characters → col 23
    (["--set", "alpha=0.3"], "{path}:5:23", ["`out` must be a whole number, got 2.4 (12/5)"], ["round()"]),
    (["--input", "3x0x8"], None, ["--input 3x0x8"], ["3x224x224"]),
    (["--input", "abc"], None, ["--input abc", "cannot read the shape"], ["3x224x224"]),
    (["--input", ""], None, ["--input '': cannot read the shape"], ["3x224x224"]),  # was ignored
    (["--columns", ""], None, ["--columns is empty"], ["`macs`"]),  # was every column
    (["--columns", "name,,macs"], None, ["has an empty entry"], ["extra comma"]),
    (["--columns", "macs,macs"], None, ["names `macs` twice"], ["once"]),
    # --input 3x2x2 makes the 3×3 conv too big: floor((2 + 0 + 0 − 3)/1) + 1 = 0
    (["--input", "3x2x2"], "{path}:5:5", ["floor((2 + 0 + 0 − 3) / 1) + 1 = 0"], ["larger input"]),
])
def test_command_line_values(vars_spec, args, where, message, hint):
    where = where.format(path=vars_spec) if where else None
    assert_user_error(run(str(vars_spec), *args), where, message, hint)


def test_missing_file(tmp_path):
    missing = tmp_path / "nope.yaml"
    assert_user_error(run(str(missing)), None, [f"no such file: {missing}"], ["check the path"])


def test_a_directory_or_device_is_not_a_spec(tmp_path):
    assert_user_error(run(str(tmp_path)), None, [f"{tmp_path} is a directory"], ["give a spec file"])
    assert_user_error(run("/dev/null"), None, ["/dev/null is not a regular file"], ["give a spec file"])


def test_unknown_shipped_name():
    result = run("resnet5O")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.stderr.startswith("error: ")


@pytest.mark.parametrize("fast_path", [True, False])
def test_real_process_exit_code_and_no_traceback(tmp_path, fast_path):
    """Once through a real process (both entry paths): the exit code and stderr a user sees."""
    path = tmp_path / "net.yaml"
    path.write_text(HEAD + "  - type: conv2d\n    out: 4\n")
    env = {"PATH": "/usr/bin:/bin", "NO_COLOR": "1"}
    if not fast_path:
        env["CONVCALC_NO_FAST_PATH"] = "1"
    proc = subprocess.run([sys.executable, "-m", "convcalc", "analyze", str(path)], capture_output=True, text=True,
                          env=env, cwd=Path(__file__).resolve().parents[2], timeout=60)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == f"error: {path}:4:11: unknown layer type `conv2d` — did you mean `conv`?\n"


def test_did_you_mean_without_a_close_name():
    from convcalc.errors import did_you_mean

    names = [f"layer{i:02d}" for i in range(13)]
    assert did_you_mean("layer3", names).startswith("did you mean `layer03`")  # difflib's closest first
    assert did_you_mean("zzz", names[:3]) == "expected one of: `layer00`, `layer01`, `layer02`"
    # more than 12 and none close: a few examples, or where to find the list when the caller knows it
    assert did_you_mean("zzz", names) == ("none of the 13 names is close; they include `layer00`, `layer01`, "
                                          "`layer02`, `layer03`, `layer04`, …")
    assert did_you_mean("zzz", names, "see the list") == "see the list"


def test_did_you_mean_skips_keys_that_are_not_names():
    """A YAML null or number among a mapping's keys (an error of its own) neither sorts with the names nor is
    suggested."""
    from convcalc.errors import did_you_mean

    assert did_you_mean("alhpa", [None, 1, "alpha", "beta"]) == "did you mean `alpha`?"
    assert did_you_mean("x", [None, 3]) == "none are accepted here"


def test_a_block_named_by_an_anchor_alone_is_an_error_at_the_key(tmp_path):
    # `&unit:` is an anchor on an empty key, so the block's name is null (fuzz seed 18's case 13066): line 4, col 3
    path = tmp_path / "net.yaml"
    path.write_text("name: t\ninput: [3, 8, 8]\nblocks:\n  &unit:\n    layers: [{type: relu}]\nlayers:\n"
                    "  - {block: unt}\n")
    assert_user_error(run(str(path)), f"{path}:4:3", ["a block name must be a word, got nothing (null)"],
                      ["write the name before the colon", "`&bottleneck:` is a YAML anchor on an empty key"])



def test_a_key_is_the_text_written(tmp_path):
    # a key is a name: `0x10:`, `1.0:`, `~:` are quoted as written (0x10 is not shown as 16, nor ~ as None)
    path = tmp_path / "net.yaml"
    for key in ("0x10", "1.0", "~", "null", "1_0", ".inf", "2026-01-01"):
        path.write_text(f"input: [3, 8, 8]\nlayers:\n  - type: relu\n    name: r\n    {key}: 4\n")
        with pytest.raises(SpecError) as err:
            convcalc.analyze(convcalc.load(str(path)))
        assert err.value.message == f"`relu` has no key `{key}`", key
        assert (err.value.mark.line, err.value.mark.col) == (5, 5)
    path.write_text("input: [3, 8, 8]\nlayers:\n  - {type: relu, ~: 4}\n")
    with pytest.raises(SpecError) as err:
        convcalc.analyze(convcalc.load(str(path)))
    assert err.value.message == "`relu` has no key `~`"
    assert (err.value.mark.line, err.value.mark.col) == (3, 18)


def test_a_block_named_by_a_number_is_called_by_its_quoted_name(tmp_path):
    # `7:` names the block "7"; `block: 7` is the number 7, so the call says to quote it (line 7, col 13)
    path = tmp_path / "net.yaml"
    path.write_text("name: t\ninput: [3, 8, 8]\nblocks:\n  7:\n    layers: [{type: relu}]\nlayers:\n"
                    "  - {block: 7}\n")
    assert_user_error(run(str(path)), f"{path}:7:13", ["`block` must name a block, got 7"],
                      ['quote the name, `block: "7"`: unquoted, YAML reads it as the number 7, not as text'])
    path.write_text(path.read_text().replace("{block: 7}", '{block: "7"}'))
    assert run(str(path)).exit_code == 0


def test_a_var_named_null_is_reported_before_an_unknown_set(tmp_path):
    # vars {~: 1, a: 2} and --set b=3: the spec's bad name (line 4, col 3) comes first, not a traceback
    path = tmp_path / "net.yaml"
    path.write_text("name: t\ninput: [3, 8, 8]\nvars:\n  ~: 1\n  a: 2\nlayers:\n  - {type: relu}\n")
    assert_user_error(run(str(path), "--set", "b=3"), f"{path}:4:3", ["var name `~` cannot be used"],
                      ["use letters, digits and `_`"])


def test_unknown_layer_name_hint_is_about_layer_names():
    result = CliRunner().invoke(app, ["rf", "vgg16", "--layer", "nope"])
    assert result.exit_code == 2
    assert "none of the 40 names is close; they include `avgpool`" in result.stderr
    assert "explain --list" not in result.stderr
