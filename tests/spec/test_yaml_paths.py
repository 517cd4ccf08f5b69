"""Every YAML reader gives the same values and positions: convcalc's fast reader for the plain subset (the default,
tests/spec/test_fastyaml.py), libyaml's C parser (``CONVCALC_YAML=libyaml``, and for everything the fast reader
leaves, where PyYAML was built with it) and PyYAML's pure-Python one (``CONVCALC_YAML=python``; docs/spec.md,
"Reading YAML").

Every error test is written against one set of hand-counted positions, so the error and position modules run again
under PyYAML's readers alone, in a subprocess with the variable set.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from convcalc.errors import SpecError
from convcalc.spec import yamlio
from convcalc.spec.loader import shipped_configs

ROOT = Path(__file__).resolve().parents[2]
#: the modules whose cases pin YAML positions and YAML's readings (duplicate keys, tags, aliases, 1.1 numbers)
POSITION_MODULES = ("tests/spec/test_errors.py", "tests/spec/test_error_style.py", "tests/spec/test_limits.py",
                    "tests/spec/test_spec.py", "tests/test_limits.py", "tests/cli/test_entry.py")


def _load_with(monkeypatch, value: str | None, text: str, name: str = "spec.yaml"):
    if value is None:
        monkeypatch.delenv(yamlio.YAML_ENV, raising=False)
    else:
        monkeypatch.setenv(yamlio.YAML_ENV, value)
    return yamlio.load_yaml(text, name)


def _positions(value, where="") -> list:
    """Every value with the (line, column) of itself, its keys and its items, in document order."""
    out = []
    if isinstance(value, yamlio.YMap):
        out.append((where, "map", value.mark.line, value.mark.col))
        for key, item in value.items():
            km, vm = value.key_mark(key), value.mark_of(key)
            out.append((f"{where}/{key}", "key", km.line, km.col, "value", vm.line, vm.col))
            out += _positions(item, f"{where}/{key}")
    elif isinstance(value, yamlio.YList):
        out.append((where, "seq", value.mark.line, value.mark.col))
        for index, item in enumerate(value):
            m = value.mark_of(index)
            out.append((f"{where}[{index}]", "item", m.line, m.col))
            out += _positions(item, f"{where}[{index}]")
    else:
        out.append((where, type(value).__name__, repr(value), getattr(value, "word", None)))
    return out


def test_the_switch_picks_the_reader(monkeypatch):
    monkeypatch.setenv(yamlio.YAML_ENV, "python")
    assert not issubclass(yamlio._loader_class(yaml), getattr(yaml, "CSafeLoader", ()))
    monkeypatch.delenv(yamlio.YAML_ENV)
    if getattr(yaml, "__with_libyaml__", False):
        assert issubclass(yamlio._loader_class(yaml), yaml.CSafeLoader)


# the surprises of YAML 1.1 and the marks of flow and block styles, side by side
TRICKY = """\
name: t   # a comment
input: [3, 8, 8]
vars: {a: 010, b: 1:30, c: 0x1F, d: 0o17, e: 1_000, f: 2001-12-14, g: .5, h: 1e3, i: -0.0, j: ~, k: yes, l: 'on'}
defaults: &d
  bias: false
other:
  <<: *d
  "quoted key": "x"
  ? complex
  : |
    block text
  folded: >
    folded text
  on: 1
  3: three
layers:
  - {type: conv, out: 8, kernel: 3}
  -   type: relu
      name:   r
  - [a, [b, {c: d}], *d]
"""


# an empty value in a flow mapping: libyaml marks the next token, PyYAML's pure-Python parser the end of the `:`
EMPTY_FLOW_VALUES = ["a: {b: , c: 1}\n", "- {type: relu, name: }\n", "x: [{a: }]\n", "a: {b:   # c\n   , c: 1}\n",
                     "a: {b:\r\n  }\n", "a: [b: ]\n", "{a: }"]


@pytest.mark.parametrize("text", [TRICKY, *EMPTY_FLOW_VALUES], ids=["tricky", *map(repr, EMPTY_FLOW_VALUES)])
def test_same_values_and_positions_on_both_readers(monkeypatch, text):
    c_path = _positions(_load_with(monkeypatch, None, text))
    python_path = _positions(_load_with(monkeypatch, "python", text))
    assert c_path == python_path


def test_every_shipped_config_reads_the_same_on_every_reader(monkeypatch):
    for name, path in shipped_configs().items():
        text = path.read_text(encoding="utf-8")
        fast = _positions(_load_with(monkeypatch, None, text, str(path)))
        assert fast == _positions(_load_with(monkeypatch, "python", text, str(path))), name
        assert fast == _positions(_load_with(monkeypatch, "libyaml", text, str(path))), name


@pytest.mark.parametrize("reader", ["python", "libyaml"])
def test_error_and_position_modules_pass_on_pyyamls_readers_alone(reader):
    """The hand-counted positions of every case hold on PyYAML's readers alone too (~15 s each)."""
    env = {**os.environ, yamlio.YAML_ENV: reader}
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *POSITION_MODULES],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


# ---- what only one reader used to refuse (found by `CONVCALC_YAML=python benchmarks/fuzz.py`) --------------------
@pytest.mark.parametrize("reader", [None, "python", "libyaml"])
def test_nesting_beyond_a_thousand_levels_is_refused_at_its_position_on_both_readers(monkeypatch, reader):
    # `a: ` is 3 characters, then 1,000 brackets: the 1,000th opens at column 1,003 (libyaml's own limit)
    with pytest.raises(SpecError) as err:
        _load_with(monkeypatch, reader, "a: " + "[" * 1200 + "]" * 1200 + "\n")
    assert (err.value.mark.line, err.value.mark.col) == (1, 1003)
    assert "nesting depth" in err.value.message or "1,000 levels" in err.value.message


@pytest.mark.parametrize("reader", [None, "python", "libyaml"])
def test_nine_hundred_levels_still_read_on_both_readers(monkeypatch, reader):
    value = _load_with(monkeypatch, reader, "a: " + "[" * 900 + "]" * 900 + "\n")["a"]
    depth = 0
    while value:
        value, depth = value[0], depth + 1
    assert depth == 899  # the innermost list is empty


@pytest.mark.parametrize("reader", [None, "python", "libyaml"])
def test_a_surrogate_escape_is_refused_on_both_readers(monkeypatch, reader):
    for text in ('t: "\\ud83d\\ude00"\n', 't: "\\ud83d"\n'):
        with pytest.raises(SpecError) as err:
            _load_with(monkeypatch, reader, text)
        assert "invalid Unicode character escape" in err.value.message
        assert err.value.mark.line == 1
