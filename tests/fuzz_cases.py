"""The fuzzer of tests/test_fuzz.py and benchmarks/fuzz.py: hostile command lines over mutated shipped configs
and random specs, run in-process, each run sorted into one outcome class.

A case (:func:`make_case`) is drawn from a ``random.Random``, so hypothesis (``st.randoms()``) and the long
benchmark run (a seeded ``Random`` per case number) share one generator:

* **the spec**: a shipped config (``configs/*.yaml``, ``configs/variants/*.yaml``) with a few of its values
  replaced by hostile ones (huge, negative or zero ints, ``1e330``, ``.nan``, wrong types, deep nesting, long
  strings, terminal escapes, random keys, expressions that explode), keys and layers dropped or duplicated; or a
  random chain of the kinds' own examples (``Layer.example``) with their fields mutated the same way. Written as
  YAML text by :func:`to_yaml` (PyYAML cannot write an int of 5,000 digits), then sometimes mutated as text
  (a line duplicated or dropped: duplicate keys and layers; an alias bomb; a deep flow nest);
* **the command line**: one of ``analyze``, ``rf``, ``check``, ``compare``, ``explain``, ``verify``, ``cost`` with its
  options, mostly well formed, sometimes hostile. ``verify`` and the measured ERF always get a small ``--input``
  and a low ``--max-memory``, so the memory guard, not the machine, decides.

:func:`run_case` runs one case through the Typer app (``typer.testing.CliRunner``) and :func:`classify` names its
outcome: ``ok`` (exit 0 or 1), ``error-position`` (exit 2, every error line has ``FILE:LINE:COL:``),
``error-option`` (exit 2, every error line has a position or names an ``--option``, at least one an option),
``error-unplaced`` (an error line with neither), ``traceback`` (an exception escaped, a traceback was printed or
the exit code is not 0, 1 or 2) and ``memory`` (a MemoryError escaped). ``hang`` (over the time budget) and
``crash`` (the worker process died) are decided by whoever watches the clock and the process.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted((ROOT / "configs").glob("*.yaml")) + sorted((ROOT / "configs" / "variants").glob("*.yaml"))
COMMANDS = ("analyze", "rf", "check", "compare", "explain", "verify", "cost")
CLASSES = ("ok", "error-position", "error-option", "error-unplaced", "traceback", "hang", "memory", "crash")
#: the time budget of one case, in seconds (generous: a case takes ~0.1 s)
TIME_BUDGET = 10.0
#: what verify and the measured ERF may use; their estimate must refuse anything larger
SMALL_MEMORY = "64M"


class Raw(str):
    """YAML text written as it is (``1e330``, ``.nan``, a 5,000-digit int, an alias)."""


def _big_int(rng):
    return Raw(str(rng.randint(1, 9)) + "0" * rng.choice((100, 101, 400, 5000)))


#: hostile replacements for a value; callables draw from the rng
HOSTILE = (
    0, -1, -7, 1, 2, 3, 7, 10**100, 10**100 + 1, -(10**101), 2**64, 2**31, 100000, 10**9,
    _big_int, Raw("1e330"), Raw("-1e330"), Raw("1e200"), Raw("1e-330"), Raw(".nan"), Raw(".inf"), Raw("-.inf"),
    Raw("0x" + "f" * 120), Raw("0b" + "1" * 400), Raw("1_000_000"), Raw("0o777"), 1.5, 0.1, -0.5, 2.3,
    None, True, False, "", "x", "same", "valid", "full", "nearest", "a" * 5000, "\x1b[31mred\x1b[0m", "\x1b]0;t\x07",
    "é∑😀", "a\nb", "[1, 2]", "3x3", [], {}, [1, 2, 3], [0, 0], [-1, 2], [[1, 2], [3, 4]], {"a": 1}, {"a": {"b": [1]}},
    "round(1, 1000000000)", "9**9**9", "2**100000", "10**100 * 10**100", "1/0", "1/3", "width * width",
    "(" * 300 + "1" + ")" * 300, "-" * 5000 + "1", "make_divisible(7, 0)", "__import__('os')", "x.y", "lambda: 1",
    lambda rng: [1] * rng.choice((50, 1000)),
    lambda rng: _nest(rng.choice((5, 40))),
    lambda rng: {f"k{i}": i for i in range(rng.choice((3, 300)))},
)
#: values an option gets when it is hostile
HOSTILE_OPTIONS = ("0", "-1", "1" * 5000, "1e330", "nan", "inf", "x", "", " ", "\x1b[2J", "3x", "x3", "0x0",
                   "3x0x0", "1" * 120 + "x2", "a=b=c", "=", "10**100", "-5x5", "99999999999999999999", "1.5",
                   "name=", "=3", "é", "3x32x32x32x32x32", "1,2,3,4", "*", "[a-", "params=1e330", "macs=-1")
KEYS = ("type", "name", "inputs", "repeat", "when", "block", "out", "kernel", "stride", "padding", "dilation",
        "groups", "bias", "input", "batch", "dtype", "vars", "defaults", "layers", "blocks", "args", "budgets",
        "scale", "size", "mode", "ceil_mode", "axes", "shape", "features", "mid", "zzz_random", "\x1b[1mkey")
SMALL_INPUTS = {1: (8, 16), 2: (8, 16), 3: (4, 8)}


def _nest(depth: int):
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


def _hostile(rng):
    value = rng.choice(HOSTILE)
    return value(rng) if callable(value) else _copy(value)  # never a shared (or self-containing) list


# ---- YAML text --------------------------------------------------------------------------------------------------
def _scalar(value) -> str:
    if isinstance(value, Raw):
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ".nan"
    text = str(value)
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", text) and text not in ("null", "true", "false", "yes", "no", "on",
                                                                        "off", "y", "n"):
        return text
    return json.dumps(text)  # a JSON string is a YAML double-quoted scalar


def _flow(value) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_scalar(k)}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return _scalar(value)


def _block(value, indent: int) -> list[str]:
    pad = " " * indent
    lines = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict) and item:
                lines.append(f"{pad}{_scalar(key)}:")
                lines.extend(_block(item, indent + 2))
            elif isinstance(item, list) and item and any(isinstance(v, (dict, list)) for v in item):
                lines.append(f"{pad}{_scalar(key)}:")
                lines.extend(_block(item, indent + 2))
            else:
                lines.append(f"{pad}{_scalar(key)}: {_flow(item)}")
    elif isinstance(value, list):
        lines.extend(f"{pad}- {_flow(item)}" for item in value)
    else:
        lines.append(pad + _flow(value))
    return lines


def to_yaml(data) -> str:
    """``data`` as block-style YAML, one layer a line; :class:`Raw` values written as they are."""
    return "\n".join(_block(data, 0)) + "\n"


# ---- specs ------------------------------------------------------------------------------------------------------
_LOADED: dict = {}


def _config(path: Path):
    if path not in _LOADED:
        _LOADED[path] = yaml.safe_load(path.read_text())
    return _copy(_LOADED[path])


def _copy(value):
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _examples():
    if "examples" not in _LOADED:
        from convcalc.layers import REGISTRY

        _LOADED["examples"] = sorted((kind, cls.example) for kind, cls in REGISTRY.items()
                                     if cls.example is not None)
    return _LOADED["examples"]


def random_spec(rng) -> dict:
    """A chain of one to four kinds' examples, on the first one's input."""
    examples = _examples()
    picked = [rng.choice(examples) for _ in range(rng.randint(1, 4))]
    spec = picked[0][1].spec(picked[0][0])
    for kind, example in picked[1:]:
        more = example.spec(kind)["layers"]
        spec["layers"].extend({k: v for k, v in layer.items() if k not in ("name", "inputs")} for layer in more)
    return _copy(spec)


def _containers(value, found: list, depth: int = 0):
    """Every (container, key) pair inside ``value``, down to 50 levels (a hostile nest is not nested further)."""
    if depth > 50:
        return found
    if isinstance(value, dict):
        for key in list(value):
            found.append((value, key))
            _containers(value[key], found, depth + 1)
    elif isinstance(value, list):
        for i in range(len(value)):
            found.append((value, i))
            _containers(value[i], found, depth + 1)
    return found


def mutate(rng, data, count: int) -> None:
    """``count`` structural mutations of ``data`` in place: replace a value, drop or duplicate an item, add a key."""
    for _ in range(count):
        spots = _containers(data, [])
        if not spots:
            return
        container, key = rng.choice(spots)
        action = rng.random()
        if action < 0.6:
            container[key] = _hostile(rng)
        elif action < 0.75:
            del container[key]
        elif action < 0.85 and isinstance(container, list):
            container.insert(key, _copy(container[key]))
        elif isinstance(container, dict):
            container[rng.choice(KEYS)] = _hostile(rng)
        else:
            container.append(_hostile(rng))


def shrink_input(rng, data) -> None:
    """Small spatial axes for the commands that run the executor (channels and rank as they are)."""
    shape = data.get("input") if isinstance(data, dict) else None
    if isinstance(shape, list) and 2 <= len(shape) <= 4 and all(type(v) is int for v in shape):
        low, high = SMALL_INPUTS[len(shape) - 1]
        data["input"] = [shape[0]] + [rng.randint(low, high) for _ in shape[1:]]
        data.pop("batch", None)


ALIAS_BOMB = "".join(f"b{i}: &b{i} [" + ", ".join([f"*b{i - 1}" if i else "x"] * 9) + "]\n" for i in range(9))


def mutate_text(rng, text: str) -> str:
    """A text-level mutation: a line duplicated (duplicate keys and layers) or dropped, an alias bomb, a flow
    nest deeper than any parser's stack, a tab, a stray character."""
    lines = text.splitlines()
    action = rng.randrange(7)
    i = rng.randrange(len(lines)) if lines else 0
    if action == 0 and lines:
        lines.insert(i, lines[i])
    elif action == 1 and lines:
        del lines[i]
    elif action == 2:
        return ALIAS_BOMB + text.replace("\nlayers:", "\nbomb: *b8\nlayers:", 1)
    elif action == 3:
        depth = rng.choice((100, 2000, 20000))
        return text + "deep: " + "[" * depth + "]" * depth + "\n"
    elif action == 4 and lines:
        lines[i] = "\t" + lines[i]
    elif action == 5 and lines:
        column = rng.randrange(len(lines[i]) + 1)
        lines[i] = lines[i][:column] + rng.choice(":{}[]&*!|>'\"%@`#,-?") + lines[i][column:]
    else:
        match = re.search(r"(\{|, )(\w+: [^,}]+)", text)
        if match:
            return text[:match.end()] + ", " + match.group(2) + text[match.end():]
    return "\n".join(lines) + "\n"


def _names(data) -> list[str]:
    names = []
    for container, key in _containers(data, []):
        if key == "name" and isinstance(container, dict) and isinstance(container[key], str):
            names.append(container[key])
    return names


def _vars(data) -> list[str]:
    values = data.get("vars") if isinstance(data, dict) else None
    return [str(k) for k in values] if isinstance(values, dict) else []


@dataclass
class Case:
    """Files to write (name → text) and a command line, where ``@NAME`` stands for the path of file NAME."""

    args: list[str]
    files: dict[str, str] = field(default_factory=dict)

    def argv(self, folder: Path) -> list[str]:
        return [str(folder / a[1:]) if a.startswith("@") and a[1:] in self.files else a for a in self.args]


def spec_data(rng, small: bool):
    if rng.random() < 0.65:
        data = _config(rng.choice(CONFIGS))
    else:
        data = random_spec(rng)
    if small:
        shrink_input(rng, data)
    return data


def spec_text(rng, data) -> str:
    mutate(rng, data, rng.choice((0, 0, 1, 1, 2, 3)))
    text = to_yaml(data)
    if rng.random() < 0.25:
        text = mutate_text(rng, text)
    return text


def _value(rng, good: str) -> str:
    return rng.choice(HOSTILE_OPTIONS) if rng.random() < 0.2 else good


def _input_option(rng, data) -> list[str]:
    shape = data.get("input") if isinstance(data, dict) else None
    if isinstance(shape, list) and shape and all(type(v) is int for v in shape):
        rank = len(shape) - 1
        good = "x".join([str(shape[0])] + [str(rng.randint(*SMALL_INPUTS.get(rank, (4, 8)))) for _ in shape[1:]])
    else:
        good = "3x16x16"
    return ["--input", _value(rng, good)]


def _common(rng, data) -> list[str]:
    args = []
    if rng.random() < 0.2:
        args += ["--batch", _value(rng, str(rng.choice((1, 2, 8))))]
    if rng.random() < 0.3:
        args += _input_option(rng, data)
    for name in _vars(data)[:2]:
        if rng.random() < 0.3:
            args += ["--set", f"{name}={_value(rng, str(rng.choice((1, 2, 8, 16))))}"]
    if rng.random() < 0.05:
        args += ["--set", _value(rng, "zz=1")]
    return args


def _layer(rng, data) -> str:
    names = _names(data)
    return rng.choice(names) if names and rng.random() < 0.8 else _value(rng, "nope")


#: numbers a `compare --layer` description gets: sizes whose divisors, spans or loops a design could walk one by one
LAYER_NUMBERS = (1, 2, 3, 7, 64, 720, 1_000_003, 10**9 + 7, 2**31, 2**40, 99_999_999_999_999_999_999, 10**100)


def _conv_description(rng) -> str:
    """``conv A->B kK sS @N…``, its numbers drawn from :data:`LAYER_NUMBERS` (a huge channel count or kernel:
    compare's grouped and dilated designs once tried every candidate up to it)."""
    def n():
        return rng.choice(LAYER_NUMBERS)

    kernel = rng.choice((1, 3, 5, n()))
    sizes = "x".join(str(rng.choice((kernel, 8, n()))) for _ in range(rng.choice((1, 2))))
    return f"conv {n()}->{n()} k{kernel} s{rng.choice((1, 2, n()))} {rng.choice(('', 'valid ', 'p1 '))}@{sizes}"


#: `convcalc cost --algorithm` (and, from the third, `convcalc explain`'s algorithms)
ALGORITHM_NAMES = ("all", "best", "direct", "im2col", "winograd", "fft")


def make_case(rng, command: str | None = None) -> Case:
    """One case for ``command`` (default: any of :data:`COMMANDS`)."""
    command = command or rng.choice(COMMANDS)
    small = command == "verify" or rng.random() < 0.5
    data = spec_data(rng, small)
    case = Case([command, "@spec.yaml"])
    if command == "analyze":
        case.args += _common(rng, data)
        if rng.random() < 0.5:
            case.args += ["--format", rng.choice(("table", "json", "csv", "markdown"))]
        if rng.random() < 0.2:
            case.args += ["--units", rng.choice(("auto", "raw", "K", "M", "G"))]
        if rng.random() < 0.2:
            case.args += ["--depth", _value(rng, str(rng.randint(0, 3)))]
        if rng.random() < 0.1:
            case.args += ["--columns", _value(rng, "name,type,macs")]
    elif command == "rf":
        erf = rng.choice(("none", "none", "analytic", "measured"))
        if erf != "none":
            shrink_input(rng, data)
            case.args += ["--erf", erf, "--max-memory", SMALL_MEMORY]
            if erf == "measured" and rng.random() < 0.3:
                case.args += ["--samples", _value(rng, str(rng.randint(1, 3)))]
            if rng.random() < 0.2:
                case.args += ["--mass", _value(rng, rng.choice(("0.5", "0.95", "1")))]
        if rng.random() < 0.4:
            case.args += ["--layer", _layer(rng, data)]
        if rng.random() < 0.2:
            case.args += ["--at", _value(rng, "1,1")]
        case.args += _common(rng, data)
        if rng.random() < 0.3:
            case.args += ["--format", rng.choice(("table", "json", "csv", "markdown"))]
    elif command == "check":
        if rng.random() < 0.3 and isinstance(data, dict):
            data["budgets"] = {"params": rng.choice(("5M", "1K", 10)), "macs": rng.choice(("600M", "1G", 1))}
        for _ in range(rng.randint(0, 2)):
            case.args += ["--max", _value(rng, rng.choice(("params=5M", "macs=600M", "flops=1G",
                                                            "peak_activation_bytes=8MiB", "layer_max.macs=200M")))]
        if rng.random() < 0.2:
            case.args += ["--min-rf", _value(rng, rng.choice(("3", "224", "7x7")))]
        if rng.random() < 0.15:
            budget = {"params": _hostile(rng) if rng.random() < 0.5 else "5M", "macs": "1G"}
            case.files["budgets.yaml"] = to_yaml({"budgets": budget} if rng.random() < 0.5 else budget)
            case.args += ["--budgets", "@budgets.yaml"]
        if rng.random() < 0.15:
            totals = {"params": _hostile(rng) if rng.random() < 0.5 else 1000, "macs": 5000}
            case.files["baseline.json"] = to_yaml({"name": "net", "totals": totals, "layers": []})
            case.args += ["--baseline", "@baseline.json", "--max-increase", _value(rng, "macs=2%")]
        if rng.random() < 0.3:
            case.args += ["--format", rng.choice(("table", "json", "junit", "github", "markdown"))]
        case.args += _common(rng, data)
    elif command == "compare":
        way = rng.random()
        if way < 0.4:
            case.files["other.yaml"] = spec_text(rng, spec_data(rng, small))
            case.args += ["@other.yaml"]
        elif way < 0.7:
            case.args += ["--layer", _value(rng, rng.choice(("conv 16->16 k3 s1 @8x8", "conv 8->32 k5 s2 @16x16",
                                                             _layer(rng, data), _conv_description(rng))))]
            if rng.random() < 0.3:
                case.args += ["--groups", _value(rng, "2,4")]
        else:
            case.args += ["--as", _value(rng, rng.choice(("depthwise_separable", "grouped:2", "separable",
                                                          "flattened", "shuffle:2", "dilated")))]
        if rng.random() < 0.3:
            case.args += ["--format", rng.choice(("table", "json", "csv", "markdown"))]
    elif command == "explain":
        way = rng.random()
        if way < 0.3:
            case.args = ["explain", _value(rng, rng.choice(_examples())[0])]
        elif way < 0.4:
            case.args = ["explain", rng.choice(("--list", "--flops"))]
        elif way < 0.5:
            case.args = ["explain", _value(rng, rng.choice(ALGORITHM_NAMES[2:]))]
        else:
            case.args += ["--layer", _layer(rng, data)] + _common(rng, data)
            if rng.random() < 0.2:
                case.args += ["--algorithm", _value(rng, rng.choice(ALGORITHM_NAMES[2:]))]
    elif command == "cost":
        if rng.random() < 0.7:
            case.args += ["--algorithm", _value(rng, rng.choice(ALGORITHM_NAMES))]
        case.args += _common(rng, data)
        if rng.random() < 0.4:
            case.args += ["--format", rng.choice(("table", "json", "csv", "markdown"))]
        if rng.random() < 0.2:
            case.args += ["--units", rng.choice(("auto", "raw", "K", "M", "G"))]
        if rng.random() < 0.3:
            case.args += ["--train"]
            if rng.random() < 0.4:
                case.args += ["--freeze", _value(rng, rng.choice((_layer(rng, data), "*conv*", "nothing")))]
    elif command == "verify":
        case.args += _input_option(rng, data) + ["--max-memory", SMALL_MEMORY]
        if rng.random() < 0.3:
            case.args += ["--dtype", rng.choice(("float32", "float64"))]
        if rng.random() < 0.2:
            case.args += ["--rf"]
        if rng.random() < 0.2:
            case.args += ["--format", "json"]
    case.files["spec.yaml"] = spec_text(rng, data)
    return case


# ---- running and classifying ------------------------------------------------------------------------------------
@dataclass
class Outcome:
    code: int | None
    output: str
    error: BaseException | None = None
    seconds: float = 0.0


def run_case(case: Case, folder: Path) -> Outcome:
    """Run ``case`` in-process through the Typer app, its files written into ``folder``."""
    import time

    from typer.testing import CliRunner

    from convcalc.cli.app import app

    for name, text in case.files.items():
        (folder / name).write_text(text, encoding="utf-8", errors="surrogateescape")
    start = time.perf_counter()
    result = CliRunner().invoke(app, case.argv(folder), env={"GITHUB_STEP_SUMMARY": None, "NO_COLOR": "1",
                                                            "CONVCALC_CONFIGS": None})
    seconds = time.perf_counter() - start
    error = result.exception if not isinstance(result.exception, SystemExit) else None
    output = result.stdout + (result.stderr if result.stderr_bytes is not None else "")
    return Outcome(result.exit_code, output, error, seconds)


POSITION = re.compile(r"[^\s:]+:\d+:\d+:")
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z-]*")


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if re.match(r"\s*(error|Error):", line)]


def classify(outcome: Outcome) -> str:
    """The outcome class of a finished run (see the module docstring)."""
    if isinstance(outcome.error, MemoryError) or "MemoryError" in outcome.output:
        return "memory"
    if outcome.error is not None or "Traceback (most recent call last)" in outcome.output \
            or outcome.code not in (0, 1, 2):
        return "traceback"
    if outcome.code != 2:
        return "ok"
    lines = error_lines(outcome.output)
    if not lines or any(not POSITION.search(line) and not OPTION.search(line) for line in lines):
        return "error-unplaced"
    return "error-position" if all(POSITION.search(line) for line in lines) else "error-option"


def describe(case: Case, outcome: Outcome) -> str:
    """What a failing case's report says: the command line, the output, the exception."""
    import traceback

    text = ["$ convcalc " + " ".join(a if len(a) < 200 else a[:200] + "…" for a in case.args),
            outcome.output[-4000:]]
    if outcome.error is not None:
        text.append("".join(traceback.format_exception(outcome.error))[-6000:])
    return "\n".join(text)
