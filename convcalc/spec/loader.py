"""Reading a spec: YAML (or a dict) → :class:`Network` → :class:`~convcalc.graph.Graph` of validated nodes.

The format is documented in docs/spec.md. In short::

    name: tiny
    input: [3, 224, 224]          # (C, L) | (C, H, W) | (C, D, H, W); the rank selects 1/2/3-D
    batch: 1
    dtype: float32
    vars: {alpha: 1.0}            # overridable with --set alpha=0.5
    defaults: {bias: false}       # or per kind: {conv: {bias: false}}
    blocks:
      basic:
        args: {out: null, stride: 1}      # null = required
        inputs: [x]                       # default [x]
        layers:
          - {type: conv, out: out, kernel: 3, stride: stride, padding: 1}
          - {type: add, inputs: [x, conv1], when: "stride == 1"}
    layers:
      - {type: conv, out: "make_divisible(32 * alpha, 8)", kernel: 3}
      - {block: basic, name: stage1, repeat: 2, out: 64, stride: [2, 1]}

Rules that are easy to miss:

* ``inputs`` default to the previous layer; names refer to earlier layers (or block inputs), so the graph is a
  DAG by construction.
* A layer whose ``when:`` is false is skipped, and references to it resolve to its own input (it passes through).
* Under ``repeat: N`` a list of exactly N values gives one value per repetition. Where such a list could also be
  read as a per-axis value and the two readings differ, write the per-axis value nested (``[[1, 7], [1, 7]]``).
* Names inside a block instance are prefixed with the instance name (``layer1.0.conv1``, as torchvision names
  modules); a repeated layer or block ``foo`` becomes ``foo.0``, ``foo.1``, …
"""

from __future__ import annotations

import os
from ..records import field, record
from fractions import Fraction
TYPE_CHECKING = False  # typing costs start-up; the annotations are text (PEP 563)
if TYPE_CHECKING:
    from typing import Any

from ..cost.conventions import DTYPE_BYTES
from ..errors import Mark, SpecError, check_name, did_you_mean
from ..limits import check_number, number_text, read_file, shorten, whole_number
from .expr import evaluate, normalize
from .fields import describe
from .expand import BLOCK_CALL, MAX_LAYERS, RESERVED, Expander, Scope, positive_int
from .graph import Graph
from .yamlio import YBool, YList, YMap, load_yaml, mark_dict

#: the longest `name:` (a file name is made of it: a baseline `NAME.json`; most file systems take 255 bytes)
MAX_NAME_CHARS = 200
TOP_KEYS = ("name", "description", "input", "batch", "dtype", "vars", "defaults", "blocks", "layers", "budgets")
BLOCK_KEYS = ("args", "inputs", "output", "layers", "description")

CONFIG_DIRS_ENV = "CONVCALC_CONFIGS"


def config_dirs() -> list[str]:
    """Where specs are looked up by name: the folders of $CONVCALC_CONFIGS (a path list, ``:``-separated; ``;`` on
    Windows), then the project file's ``configs`` (:mod:`convcalc.project`), then the installed package data.

    (``os.path``, not ``pathlib``: importing pathlib costs more than reading and analysing ResNet-50, and every
    ``convcalc analyze NAME`` looks here.)"""
    from ..project import defaults

    dirs = [os.path.normpath(p) for p in os.environ.get(CONFIG_DIRS_ENV, "").split(os.pathsep) if p]
    dirs += defaults().configs
    here = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))  # the convcalc package
    dirs += [os.path.join(here, "configs"), os.path.join(os.path.dirname(here), "configs")]
    return [d for d in dirs if os.path.isdir(d)]


def shipped_configs() -> dict:
    """Name → path (a :class:`pathlib.Path`) of every shipped spec (``resnet50``, ``variants/depthwise``, …)."""
    from pathlib import Path

    found: dict[str, Path] = {}
    for directory in map(Path, config_dirs()):
        for path in sorted(directory.rglob("*.yaml")):
            if not path.is_file():  # a FIFO or a device named *.yaml is no config (reading it would block)
                continue
            found.setdefault(path.relative_to(directory).with_suffix("").as_posix(), path)
    return found


def shipped_config(name: str) -> str | None:
    """The file of the shipped config ``name`` (``resnet50``, ``variants/separable``), or None."""
    parts = name.split("/")
    if not name or any(part in ("", ".", "..") or os.sep in part or (os.altsep and os.altsep in part)
                       for part in parts):
        return None
    for directory in config_dirs():
        candidate = os.path.join(directory, *parts[:-1], parts[-1] + ".yaml")
        if os.path.isfile(candidate):
            return candidate
    return None


TORCH_PREFIX = "torch:"
ONNX_SUFFIX = ".onnx"


def is_import_source(text) -> bool:
    """Whether ``text`` names a model to import (convcalc/importers/source.py) rather than a spec: a path ending in
    ``.onnx``, ``torch:package.module:callable`` or ``path/to/file.py:callable``. String tests only."""
    if not isinstance(text, str) or "\n" in text:
        return False
    if text.startswith(TORCH_PREFIX) or text.lower().endswith(ONNX_SUFFIX):
        return True
    path, colon, attribute = text.rpartition(":")
    return bool(colon) and path.endswith(".py") and all(part.isidentifier() for part in attribute.split("."))


def resolve_path(spec: str) -> str:
    """A file path, or the name of a shipped config (``resnet50`` → configs/resnet50.yaml)."""
    if os.path.isfile(spec):
        return spec
    shipped = shipped_config(spec)
    if shipped is not None:
        return shipped
    if os.path.isdir(spec):
        raise SpecError(f"{spec} is a directory", None, "give a spec file, e.g. configs/resnet50.yaml")
    if os.path.exists(spec):
        raise SpecError(f"{spec} is not a regular file", None, "give a spec file, e.g. configs/resnet50.yaml")
    if spec.endswith((".yaml", ".yml")) or os.sep in spec:
        raise SpecError(f"no such file: {spec}", None, "check the path")
    raise SpecError(f"`{spec}` is neither a file nor a shipped config", None,
                    did_you_mean(spec, shipped_configs()) + " (`convcalc zoo` lists the shipped configs)")


def load(source: Any) -> "Network":
    """Read a spec from a path, a shipped config name, a YAML string or a dict."""
    if isinstance(source, dict):
        _check_layer_count(source.get("layers"), Mark("<dict>", 1, 1))  # before marking every layer
        return Network(mark_dict(source, Mark("<dict>", 1, 1)), "<dict>")
    if isinstance(source, (str, os.PathLike)) and "\n" not in str(source):
        given = os.fspath(source)
        path = resolve_path(given)
        # the report's `source` is the spec as the user named it (a path as given, or a shipped config's name),
        # never the absolute path of an installed config; positions in errors keep the file that was read
        return Network(load_yaml(read_file(path, "the spec", hint="check the file"), path), given)
    return Network(load_yaml(str(source), "<string>"), "<string>")


@record
class Network:
    """A parsed spec, not yet expanded: vars can still be overridden. Call :meth:`expand`."""

    doc: YMap
    source: str
    name: str = ""
    blocks: dict = field(default_factory=dict)
    #: graphs already expanded, for :meth:`expanded`: (vars, input, batch) → (what they came from, graph)
    _expansions: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        doc = self.doc
        if not isinstance(doc, YMap):
            raise SpecError("the spec must be a mapping", getattr(doc, "mark", Mark(self.source, 1, 1)),
                            "start with `input:` and `layers:` keys (see docs/spec.md)")
        for key in doc:
            if key not in TOP_KEYS:
                raise SpecError(f"unknown top-level key `{key}`", doc.key_mark(key), did_you_mean(str(key), TOP_KEYS))
        for key in ("input", "layers"):
            if key not in doc:
                raise SpecError(f"missing `{key}`", doc.mark,
                                "add `input: [C, H, W]`" if key == "input" else "add a `layers:` list")
        for key in ("name", "description"):
            value = doc.get(key)
            if isinstance(value, (YMap, YList, YBool)):
                raise SpecError(f"`{key}` must be text, got {describe(value)}", doc.mark_of(key),
                                f"write e.g. `{key}: " + ("resnet50`" if key == "name" else "a few words`"))
        self.name = str(doc.get("name") or os.path.splitext(os.path.basename(self.source))[0])
        if "name" in doc:
            check_name(self.name, doc.mark_of("name"), "`name`", "resnet50", spaces=True)
        if len(self.name) > MAX_NAME_CHARS:
            raise SpecError(f"`name` is {len(self.name):,} characters long, above the limit of {MAX_NAME_CHARS}",
                            doc.mark_of("name") if "name" in doc else doc.mark, "use a shorter name")
        dtype = doc.get("dtype", "float32")
        if not isinstance(dtype, str) or dtype not in DTYPE_BYTES:
            shown = f"unknown dtype `{shorten(dtype)}`" if isinstance(dtype, str) else \
                f"`dtype` must name a dtype, got {describe(dtype)}"
            raise SpecError(shown, doc.mark_of("dtype"),
                            did_you_mean(dtype if isinstance(dtype, str) else "", DTYPE_BYTES))
        _check_layer_count(doc.get("layers"), doc.mark_of("layers"))
        blocks = doc.get("blocks")
        if blocks is None:
            blocks = mark_dict({}, doc.mark)
        if not isinstance(blocks, YMap):
            raise SpecError("`blocks` must be a mapping of block names", doc.mark_of("blocks"),
                            "write `blocks: {name: {args: …, layers: […]}}`")
        for name, block in blocks.items():
            if not isinstance(name, str):  # `&name:` anchors an empty (null) key; a number or boolean key
                raise SpecError(f"a block name must be a word, got {describe(name)}", blocks.key_mark(name),
                                "write the name before the colon, e.g. `bottleneck:` (`&bottleneck:` is a YAML "
                                "anchor on an empty key)" if name is None else "write it as a word, e.g. `bottleneck:`")
            check_name(name, blocks.key_mark(name), "a block name", "bottleneck")
            _check_block(name, block, blocks.mark_of(name))
        self.blocks = blocks  # read-only, like the whole parsed spec

    @property
    def vars(self) -> dict:
        return dict(self.doc.get("vars") or {})

    @property
    def budgets(self):
        return self.doc.get("budgets")

    def expanded(self, overrides: dict | None = None, input_shape=None, batch: int | None = None) -> Graph:
        """:meth:`expand`, remembered: a network analysed again with the same vars, input and batch reuses its graph.

        The graph is shared between calls, so it is for reading only (:func:`convcalc.analyze` reads it; code that
        hands a graph out calls :meth:`expand`). It cannot go stale: the parsed spec (:class:`YMap` and
        :class:`YList`) is read-only, and the graph is reused only while this network still holds the same spec,
        blocks, name and source and the registry of layer kinds is unchanged. A value that cannot be a key (a list
        given from Python) is expanded afresh."""
        from ..layers import REGISTRY

        items = tuple(sorted((name, type(value), value) for name, value in (overrides or {}).items()))
        key = (items, type(input_shape), input_shape, type(batch), batch)
        # compared by identity; the registry's state changes with any of its classes (listing them would import
        # every kind module, convcalc/layers/registry.py)
        origin = (self.doc, self.blocks, self.name, self.source, REGISTRY.state)
        try:
            hit = self._expansions.get(key)
        except TypeError:  # unhashable: a list-valued var from Python
            return self.expand(overrides, input_shape, batch)
        if hit is not None and len(hit[0]) == len(origin) and all(a is b for a, b in zip(hit[0], origin)):
            return hit[1]
        graph = self.expand(overrides, input_shape, batch)
        graph._layers = []  # the analysis keeps the graph's layer objects here (convcalc/cost/analysis.py)
        if len(self._expansions) >= _EXPANSIONS_KEPT:  # a loop over many vars keeps only the last few graphs
            del self._expansions[next(iter(self._expansions))]
        self._expansions[key] = (origin, graph)
        return graph

    def expand(self, overrides: dict | None = None, input_shape=None, batch: int | None = None) -> Graph:
        """Evaluate vars (with ``overrides``), expand blocks and repeats, and validate every layer."""
        variables = _evaluate_vars(self.doc, overrides or {})
        doc = self.doc
        calc = lambda text, mark: evaluate(text, variables, mark)  # noqa: E731
        shape = _whole_override(input_shape, "input") if input_shape is not None else _input_shape(doc, calc)
        n = _whole_override((batch,), "batch")[0] if batch is not None else positive_int(
            doc.get("batch", 1), doc.mark_of("batch"), "batch", calc)
        dtype = doc.get("dtype", "float32")
        layers = doc["layers"]
        if not isinstance(layers, YList) or not layers:
            raise SpecError("`layers` must be a non-empty list", doc.mark_of("layers"),
                            "write `layers:` followed by `- {type: …}` items")
        expander = Expander(self, variables, shape)
        scope = Scope(prefix="", names={"input": "input"}, variables=variables, previous="input", path=())
        expander.expand_list(layers, scope)
        if not expander.nodes:
            raise SpecError("every layer was skipped by `when:` (or repeated 0 times)", layers.mark,
                            "check the `when:` conditions and `repeat:` counts")
        where = doc.mark_of("input") if input_shape is None else None
        return Graph(self.name, tuple(shape), n, str(dtype), expander.nodes, self.source,
                     output=scope.previous, budgets=self.budgets, vars=variables,
                     warnings=batch_first_warning(shape, where, input_shape is not None),
                     aliases={name: layer for name, layer in {**scope.names, **expander.full_names}.items()
                              if name != layer})


_EXPANSIONS_KEPT = 4  # graphs remembered per network (:meth:`Network.expanded`)


# ---- helpers ---------------------------------------------------------------------------------------------------
def _check_layer_count(layers, mark):
    """A `layers:` list longer than the expansion allows is refused before any of it is expanded."""
    if isinstance(layers, list) and len(layers) > MAX_LAYERS:
        raise SpecError(f"`layers` lists {len(layers):,} items, above the limit of {MAX_LAYERS:,} layers", mark,
                        "a network expands to at most that many layers (docs/spec.md, \"Limits\")")


def _check_block(name, block, mark):
    if not isinstance(block, YMap):
        raise SpecError(f"block `{name}` must be a mapping", mark, "give it `args:` and `layers:`")
    for key in block:
        if key not in BLOCK_KEYS:
            raise SpecError(f"unknown key `{key}` in block `{name}`", block.key_mark(key),
                            did_you_mean(str(key), BLOCK_KEYS))
    if not isinstance(block.get("layers"), YList) or not block["layers"]:
        raise SpecError(f"block `{name}` needs a non-empty `layers:` list", block.mark, "add `layers:`")
    _check_layer_count(block["layers"], block.mark_of("layers"))
    if "inputs" in block:
        inputs = block["inputs"]
        names = [inputs] if isinstance(inputs, str) else inputs
        if not isinstance(names, YList) or not names or not all(isinstance(n, str) and n for n in names):
            raise SpecError(f"`inputs` of block `{name}` must be a name or a list of names, got {describe(inputs)}",
                            block.mark_of("inputs"), "write `inputs: x` or `inputs: [x, skip]`")
    if "output" in block and not (isinstance(block["output"], str) and block["output"]):
        raise SpecError(f"`output` of block `{name}` must be the name of one of its layers, got "
                        f"{describe(block['output'])}", block.mark_of("output"), "write e.g. `output: add`")
    if "args" in block and not isinstance(block["args"], YMap):
        raise SpecError(f"`args` of block `{name}` must be a mapping", block.mark_of("args"),
                        "write `args: {name: default}`, with null for a required argument")
    for arg in block.get("args") or ():
        _check_name(arg, block["args"].key_mark(arg), f"block `{name}`: argument", reserved=BLOCK_CALL)


def _check_name(name, mark, what: str, reserved=()):
    """A var or block-argument name must be usable in an expression: an identifier, not a keyword or a constant."""
    import keyword

    text = name.word if isinstance(name, YBool) else name
    if text in RESERVED:  # the names of a layer's input shape and repetition (convcalc/spec/expand.py)
        raise SpecError(f"{what} name `{text}` cannot be used: `{text}` is a reserved name", mark,
                        f"every expression of a layer or block call reads `{text}` as "
                        + {"index": "its repetition number", "in_channels": "the channel count of its input",
                           "in_size": "the spatial sizes of its input", "in_rank": "the spatial rank of its input"}[text]
                        + " (docs/spec.md, \"Numbers and expressions\"); rename it, e.g. `" + text + "_`")
    if not isinstance(text, str) or not text.isidentifier() or keyword.iskeyword(text) \
            or text in ("true", "false") or text in reserved:
        why = (f"`{text}` is a key of every block call" if text in reserved else
               "`true`/`false` are constants" if text in ("true", "false") else
               f"`{text}` is a Python keyword" if isinstance(text, str) and keyword.iskeyword(text) else
               f"{describe(text)} is not a name an expression can use")
        raise SpecError(f"{what} name `{text}` cannot be used: {why}", mark,
                        "use letters, digits and `_`, starting with a letter, e.g. `alpha` or `width_mult`")


def parse_override(text: str, mark: Mark | None = None) -> tuple[str, Any]:
    """``NAME=VALUE`` from the command line. VALUE is a number, a boolean (the words YAML reads as booleans:
    true/false, yes/no, on/off), or an expression over vars."""
    if "=" not in text:
        raise SpecError(f"`--set {text}` is not NAME=VALUE", mark, "write e.g. --set alpha=0.5")
    name, value = (part.strip() for part in text.split("=", 1))
    if value.lower() in _BOOLEAN_WORDS:
        return name, YBool(_BOOLEAN_WORDS[value.lower()], value.lower())
    return name, value


_BOOLEAN_WORDS = {"true": True, "false": False, "yes": True, "no": False, "on": True, "off": False}


def _evaluate_vars(doc: YMap, overrides: dict) -> dict:
    raw = doc.get("vars") or YMap()
    if not isinstance(raw, YMap):
        raise SpecError("`vars` must be a mapping", doc.mark_of("vars"), "write `vars: {alpha: 1.0}`")
    for name in raw:  # the spec's own names first: a bad one is an error at its position
        _check_name(name, raw.key_mark(name), "var")
    for name in overrides:
        if name not in raw:
            raise SpecError(f"--set {name}: no var named `{name}` in this spec", None,
                            did_you_mean(name, list(raw)) if raw else "this spec declares no `vars:`")
    variables: dict[str, Any] = {}
    for name, value in raw.items():
        mark = raw.mark_of(name)
        if name in overrides:
            value, mark = overrides[name], None  # from the command line: no position in the spec
        if isinstance(value, str):
            try:
                value = evaluate(value, variables, mark)
            except SpecError as err:
                if mark is not None:
                    raise
                raise SpecError(f"--set {name}={shorten(value)}: {err.message}", None, err.hint) from None
        elif isinstance(value, YBool):
            value = bool(value)
        elif isinstance(value, float) and value - value == 0:  # finite: analyze(net, alpha=0.5) from Python
            value = normalize(Fraction(repr(value)))  # its shortest decimal, exactly (0.1 is 1/10), as YAML reads it
            check_number(value, mark, f"var `{name}`")
        elif isinstance(value, (int, Fraction)) and not isinstance(value, bool):
            check_number(value, mark, f"var `{name}`")  # from Python: analyze(net, alpha=10**200)
        elif value is not None and not isinstance(value, (int, Fraction)):
            raise SpecError(f"var `{name}` must be a number, a boolean or an expression", mark,
                            "lists and mappings are not allowed as vars")
        variables[name] = value
    return variables


def _input_shape(doc: YMap, calc) -> tuple[int, ...]:
    value, mark = doc["input"], doc.mark_of("input")
    if not isinstance(value, YList) or not 1 <= len(value) <= 4:
        raise SpecError("`input` must be a list: [C], [C, L], [C, H, W] or [C, D, H, W] (no batch)", mark,
                        "e.g. `input: [3, 224, 224]`")
    return tuple(positive_int(v, value.mark_of(i), "input", calc) for i, v in enumerate(value))


def _whole_override(values, what: str) -> tuple[int, ...]:
    """An ``input=`` / ``batch=`` override from Python: whole numbers ≥ 1 (counts stay exact ints)."""
    import operator

    try:
        dims = tuple(operator.index(v) for v in values if not isinstance(v, bool))
    except TypeError:
        dims = ()
    if len(dims) != len(values) or not 1 <= len(dims) <= 4 or min(dims) < 1:
        shown = _python_text(values[0]) if what == "batch" else \
            "[" + ", ".join(_python_text(v) for v in list(values)[:8]) + ("…]" if len(values) > 8 else "]")
        raise SpecError(f"{what}={shown}: expected {'a whole number' if what == 'batch' else '1 to 4 whole numbers'}"
                        " ≥ 1", None, "e.g. batch=8" if what == "batch" else "e.g. input=(3, 224, 224)")
    for dim in dims:
        check_number(dim, None, "--batch" if what == "batch" else "--input")
    return dims


def _python_text(value) -> str:
    """A value given from Python, as Python writes it, shortened (a 5,000-digit int has no repr)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return number_text(value)
    return shorten(repr(value), 60)


def batch_first_warning(shape: tuple[int, ...], mark: Mark | None, given: bool) -> list[str]:
    """A warning when ``shape`` looks like torchinfo's batch-first ``[1, 3, 224, 224]``: four entries, the first
    1 and the second a few channels (≤ 4) beside spatial sizes at least 8 times larger. That is read as
    [C, D, H, W], a 3-D network with one channel and a depth of 3; a 2-D network on 3-channel images is
    ``[3, 224, 224]`` (a 3-D one on one-channel volumes of depth ≤ 4 is rare enough to say so)."""
    if len(shape) != 4 or shape[0] != 1 or not 1 <= shape[1] <= 4 or min(shape[2:]) < 8 * shape[1]:
        return []
    written = "[" + ", ".join(map(str, shape)) + "]"
    c, h, w = shape[1:]
    what = f"--input {'x'.join(map(str, shape))}" if given else f"input: {written}"
    fix = f"--input {c}x{h}x{w}" if given else f"`input: [{c}, {h}, {w}]`"
    where = f"{mark}: " if mark is not None else ""
    return [f"{where}{what} is read as [C, D, H, W]: a 3-D network with 1 channel and depth {c}; if the 1 is a "
            f"batch (torchinfo's input_size), write {fix} for a 2-D network on {c}-channel images (the batch is "
            f"`batch:` or --batch)"]


def parse_input_override(text: str) -> tuple[int, ...]:
    """``3x160x160`` → (3, 160, 160)."""
    parts = text.lower().replace("×", "x").split("x")
    try:
        if len(parts) > 4:
            raise ValueError
        dims = tuple(whole_number(part, "--input", shown=text) for part in parts)
    except ValueError:
        raise SpecError(f"--input {shorten(text) or repr(text)}: cannot read the shape", None,
                        "write it like 3x224x224 (C×H×W), with 1 to 4 sizes") from None
    if not 1 <= len(dims) <= 4 or min(dims) < 1:
        raise SpecError(f"--input {shorten(text)}: need 1 to 4 positive sizes", None, "write it like 3x224x224")
    return dims


