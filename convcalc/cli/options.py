"""Every argument and option of the command line, as plain data: flags, metavar, help, type or choices, default,
minimum, repeatability. Nothing here imports Typer.

Two readers build on these definitions, so they cannot drift apart:

* :mod:`convcalc.cli.params` turns them into Typer parameters for the commands of :mod:`convcalc.cli.app`;
* :func:`convcalc.cli.entry.parse_args` walks :data:`ANALYZE` to parse ``convcalc analyze`` without Typer.

Each command's tuple lists its parameters in ``--help`` order; ``name`` is the keyword its function takes.
"""

from __future__ import annotations

from ..cost.conventions import CONVENTIONS
from ..numbers import UNITS
from ..render.width import MIN_WIDTH

FORMATS = ("table", "json", "csv", "markdown")
#: sweep also streams: one JSON object per point, written as computed (docs/json.md)
SWEEP_FORMATS = FORMATS + ("jsonl",)
VERIFY_FORMATS = ("table", "json")
CHECK_FORMATS = ("table", "json", "junit", "github", "markdown")
DTYPES = ("float32", "float64")
ERF_METHODS = ("none", "analytic", "measured")
ERF_WEIGHTS = ("random", "uniform")
#: `convcalc cost --algorithm`: every family side by side, the cheapest, or one family (convcalc/cost/algorithms.py)
ALGORITHMS = ("all", "best", "direct", "im2col", "winograd", "fft")
#: `convcalc analyze --by` and `--sort`: convcalc/cost/rollup.py's ROLL_UPS and SORT_FIELDS (a test checks)
ROLL_UPS = ("stage", "type", "block")
SORT_KEYS = ("macs", "params", "flops", "memory")


class _Definition:
    """Plain classes, not dataclasses: the fast path imports this module, and ``@dataclass`` costs 0.3–0.9 ms a
    class at import time (more than parsing the command line)."""

    __slots__ = ()

    def replace(self, **changes):
        """A copy with some fields changed (``UNITS_OPTION.replace(default="raw")``)."""
        values = {key: getattr(self, key) for key in self.__slots__}
        values.update(changes)
        return type(self)(**values)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={getattr(self, k)!r}' for k in self.__slots__)})"


class Option(_Definition):
    """``--flag VALUE`` (or a bool ``--flag``, with ``off_flag`` its negative form ``--no-flag``). ``type`` is str,
    int or bool; with ``choices`` the value is one of them (a str). An int option may also take one of its
    ``words`` (``--jobs auto``), passed on as that text. A ``repeatable`` option keeps every occurrence, in order
    (a list; None when absent). ``completion`` as an :class:`Argument`'s (choices complete by themselves)."""

    __slots__ = ("name", "flags", "help", "type", "default", "choices", "minimum", "metavar", "repeatable",
                 "off_flag", "envvar", "words", "completion")

    def __init__(self, name: str, flags: tuple[str, ...], help: str, type: type = str, default: object = None, *,
                 choices: tuple[str, ...] | None = None, minimum: int | None = None, metavar: str | None = None,
                 repeatable: bool = False, off_flag: str | None = None, envvar: str | None = None,
                 words: tuple[str, ...] = (), completion: str | None = None):
        self.name, self.flags, self.help, self.type, self.default = name, flags, help, type, default
        self.choices, self.minimum, self.metavar = choices, minimum, metavar
        self.repeatable, self.off_flag, self.envvar, self.words = repeatable, off_flag, envvar, words
        self.completion = completion


class Argument(_Definition):
    """A positional argument: one value, or with ``repeatable`` any number (a list). ``completion`` names the
    function of :mod:`convcalc.cli.complete` that completes it in a shell (``spec``: shipped config names and spec
    files; ``target``: layer kinds, algorithms and specs; ``layer``: the layer names of the spec on the command
    line; ``device``, ``budgets``), imported only when a shell asks."""

    __slots__ = ("name", "metavar", "help", "required", "repeatable", "completion")

    def __init__(self, name: str, metavar: str, help: str, *, required: bool = True, repeatable: bool = False,
                 completion: str | None = None):
        self.name, self.metavar, self.help, self.required, self.repeatable = name, metavar, help, required, repeatable
        self.completion = completion


# ---- shared by the commands that read a spec -----------------------------------------------------------------------
SPEC = Argument("spec", "SPEC", "A spec file, or the name of a shipped config (see `convcalc zoo`).",
                completion="spec")
BATCH = Option("batch", ("--batch",), "Batch size (overrides the spec's `batch`).", int, minimum=1, metavar="N")
INPUT = Option("input", ("--input",), "Input shape without batch, e.g. 3x160x160.", metavar="CxHxW")
SET = Option("sets", ("--set",), "Override a var: NAME=VALUE (repeatable).", metavar="NAME=VALUE", repeatable=True)
FORMAT = Option("format", ("--format", "-f"), "Output format.", default="table", choices=FORMATS)
ALLOW_UNSUPPORTED = Option("allow_unsupported", ("--allow-unsupported",),
                           "An ONNX file or a PyTorch module: keep operators that have no layer kind as zero-cost "
                           "`unsupported` placeholders (listed in the report) instead of failing.", bool,
                           default=False)
#: `--device NAME|FILE`: a device profile of the roofline (convcalc/cost/devices.py)
DEVICE = Option("device", ("--device",), "The roofline on a device: a shipped profile (h100, h200, a100, rtx4090, "
                                         "m2, rpi5; `convcalc device list`) or a profile file (docs/roofline.md).",
                metavar="NAME|FILE", completion="device")
UNITS_OPTION = Option("units", ("--units",), "auto (human), raw (exact), or fixed K/M/G.", default="auto",
                      choices=UNITS)

#: `--plot FILE`: the command's main chart (convcalc/render/charts.py)
PLOT = Option("plot", ("--plot",), "Also write the main chart to this file: .svg (no extra dependency), .png or .pdf "
                                   "(matplotlib: the `plot` extra).", metavar="FILE")


#: `--width N` and `--wide` (convcalc/render/width.py: resolve_width); each command's help says how its table gives
#: way, in the order of its view's DROP_ORDER (tests/render/test_width.py checks)
def width_option(gives_way: str) -> Option:
    return Option("width", ("--width",), "Fit the text output to N columns (default: the terminal's width or "
                                         "`COLUMNS`; piped output keeps full width unless --width is given). "
                                         f"Narrower than the full table: {gives_way}", int, minimum=MIN_WIDTH,
                  metavar="N")


WIDE = Option("wide", ("--wide",), "Keep every column and full names, whatever the terminal width.", bool,
              default=False)
RIGHTMOST_FIRST = "the rightmost columns give way first, text columns shorten in the middle; lines wrap."

#: `--convention` and `--with-bugs`: MACs and params as a peer tool counts them (convcalc/cost/peers.py)
CONVENTION = Option("convention", ("--convention",), "Count MACs and params as this tool does: torchvision "
                                                     "(convcalc's own), fvcore, ptflops, thop or torchinfo "
                                                     "(`convcalc explain conventions`).", default="torchvision",
                    choices=CONVENTIONS)
WITH_BUGS = Option("with_bugs", ("--with-bugs",), "With --convention: also reproduce the tool's known bugs (thop's "
                                                  "and torchinfo's overcount of transposed convs, ptflops' double "
                                                  "counts; docs/flops.md).", bool, default=False)
PEER_OPTIONS = (CONVENTION, WITH_BUGS)

VERSION = Option("version", ("--version",), "Show the version and exit.", bool, default=False)

# ---- convcalc analyze ----------------------------------------------------------------------------------------------
ANALYZE = (
    SPEC, FORMAT, BATCH, INPUT, SET, UNITS_OPTION,
    Option("depth", ("--depth",), "Collapse blocks nested deeper than N.", int, minimum=0, metavar="N"),
    Option("columns", ("--columns",), "Comma-separated columns of the table, Markdown and CSV (JSON keeps every "
                                      "field).", metavar="NAME,..."),
    ALLOW_UNSUPPORTED,
    PLOT.replace(help="Also write a chart of MACs per layer to this file: .svg (no extra dependency), .png or .pdf "
                      "(matplotlib: the `plot` extra)."),
    Option("by", ("--by",), "Roll the layers up per stage (the top-level name prefix: layer1…layer4), type or "
                            "block (instance), each with its share; the totals print first.", choices=ROLL_UPS),
    Option("top", ("--top",), "Show the N heaviest layers (by --sort) with their share of the total; the totals "
                              "print first.", int, minimum=1, metavar="N"),
    Option("sort", ("--sort",), "What --top ranks by.", default="macs", choices=SORT_KEYS),
    width_option("columns give way in this order: Start, Jump, Buffers, RF, Activations, FLOPs, Type, Output, "
                 "Params; layer names shorten in the middle; lines wrap."),
    WIDE,
    *PEER_OPTIONS,
)

# ---- convcalc zoo --------------------------------------------------------------------------------------------------
ZOO = (
    FORMAT,
    Option("variants", ("--variants",), "Also list the examples in sub-folders of configs/ (the layer variants), "
                                        "each folder in its own section.", bool, default=False),
    UNITS_OPTION.replace(default="raw", help="raw (exact, the default), auto (human), or fixed K/M/G."),
    width_option("the Description shortens, then columns give way in this order: Description, Input, Params; "
                 "lines wrap."),
    WIDE,
)

# ---- convcalc compare ----------------------------------------------------------------------------------------------
COMPARE = (
    Argument("specs", "[SPEC]...", "Spec files or shipped config names. Two or more: side by side against the "
                                   "first. One: with --as or --layer.", required=False, repeatable=True,
             completion="spec"),
    Option("layer", ("--layer",), "What-if for one conv: a layer NAME of the spec, or a description like "
                                  "\"conv 128->128 k3 s1 @56x56\".", completion="layer"),
    Option("as_", ("--as",), "Rewrite every eligible conv: depthwise_separable, grouped:G, separable, flattened, "
                             "shuffle:G, dilated, ..."),
    Option("only", ("--only",), "With --as: rewrite only layers whose name matches this glob (repeatable).",
           repeatable=True),
    Option("write", ("--write",), "With --as: write the rewritten spec (flat YAML) to this file."),
    Option("groups", ("--groups",), "With --layer: the group counts to try for the grouped and shuffle-grouped "
                                    "rows, e.g. 2,4,8."),
    FORMAT, BATCH,
    INPUT.replace(help="Input shape without batch, e.g. 3x160x160, for every spec (with --layer: of its spec)."),
    Option("sets", ("--set",), "Side by side: override a var NAME=VALUE in every spec that declares it "
                               "(repeatable).", repeatable=True),
    UNITS_OPTION,
    Option("all_layers", ("--all-layers",), "List identical layers too.", bool, default=False),
    ALLOW_UNSUPPORTED,
    Option("train", ("--train",), "Side by side: a Training memory column, the peak of one training step with Adam "
                                  "in fp32 (docs/training.md).", bool, default=False),
    DEVICE.replace(help="Networks side by side: also each one's roofline latency and bytes moved on this device "
                        "(a shipped profile or a file; docs/roofline.md)."),
    PLOT.replace(help="Networks side by side (or --as): also write a chart of MACs per stage, one bar per network, "
                      "to this file: .svg, .png or .pdf (matplotlib: the `plot` extra)."),
    width_option("the × columns give way first (right to left), then Input, Layers, Type, Output, Peak "
                 "activations and Training memory, then the Δ columns, then Status, then the counts from the right; "
                 "names shorten in the middle; lines wrap."),
    WIDE,
    *PEER_OPTIONS,
)

# ---- convcalc sweep ------------------------------------------------------------------------------------------------
SWEEP = (
    SPEC,
    Option("sets", ("--set",), "NAME=v1,v2,… (repeatable): the values to sweep; a single value just overrides the "
                               "var.", repeatable=True),
    FORMAT.replace(choices=SWEEP_FORMATS, help="Output format; jsonl streams one JSON object per point as it is "
                                                "computed (grids of up to 10^7 points; the others hold at most "
                                                "1,000)."),
    BATCH, INPUT, UNITS_OPTION,
    Option("chart", ("--chart",), "Draw MACs against params (table format).", bool, default=True,
           off_flag="--no-chart"),
    Option("jobs", ("--jobs", "-j"), "Analyse the points in N processes (auto: one per CPU); the output is that "
                                     "of a serial run.", int, default=1, minimum=1, metavar="N|auto",
           words=("auto",)),
    PLOT.replace(help="Also write a chart of MACs against params over the grid to this file: .svg, .png or .pdf "
                      "(matplotlib: the `plot` extra); not with --format jsonl."),
    width_option("the × columns give way first, then the Δ columns, then the counts from the right; lines wrap."),
    WIDE,
)

# ---- convcalc rf ---------------------------------------------------------------------------------------------------
RF = (
    SPEC,
    Option("layer", ("--layer", "-l"), "Only this layer (and the unit for --at and --erf; default for --erf: the "
                                       "last spatial layer).", completion="layer"),
    Option("at", ("--at",), "Output position of --layer, e.g. 3,5: print its input window per axis (ERF: the unit "
                            "to study; default centre)."),
    Option("erf", ("--erf",), "Effective receptive field: analytic (uniform weights, linear network, exact) or "
                              "measured (input gradient in the NumPy executor).", default="none", choices=ERF_METHODS),
    Option("mass", ("--mass",), "ERF window: the centred window holding this fraction.", default="0.95"),
    Option("samples", ("--samples",), "Measured ERF: random inputs to average over (1 to 1,000).", int, default=1,
           minimum=1),
    Option("weights", ("--weights",), "Measured ERF: random (He init) or uniform (all ones) weights.",
           default="random", choices=ERF_WEIGHTS),
    Option("seed", ("--seed",), "Measured ERF: seed of the weights and inputs.", int, default=0),
    Option("save", ("--save",), "Save the ERF picture/data: .svg, .png or .pdf (needs the `plot` extra), .npy or "
                                ".csv."),
    Option("max_memory", ("--max-memory",), "Measured ERF: refuse to run above this estimated peak memory (e.g. "
                                            "512M, 4G).", default="4G"),
    FORMAT, BATCH, INPUT, SET, ALLOW_UNSUPPORTED,
    width_option("columns give way in this order: Centre of unit 0, P, Type, Output, Jump; layer names and "
                 "notes shorten in the middle; lines wrap (the ERF picture keeps its size)."),
    WIDE,
)

# ---- convcalc cost -------------------------------------------------------------------------------------------------
ALGORITHM = Option("algorithm", ("--algorithm", "-a"), "all (side by side), best (the cheapest per conv, by "
                                                      "multiplications), or one of direct, im2col, winograd, fft "
                                                      "(every number of that algorithm).", default="all",
                   choices=ALGORITHMS)
#: convcalc/cost/train_memory.py's OPTIMIZERS and PRECISION_NAMES (not imported here: the fast path; a test checks)
OPTIMIZERS = ("sgd", "momentum", "adam", "adamw")
PRECISIONS = ("fp32", "bf16", "mixed")
TRAIN = Option("train", ("--train",), "Also one training step: per layer the input-gradient (dX) and weight-gradient "
                                      "(dW) MACs, and the training memory: params, gradients, optimizer state, the "
                                      "activations saved for backward (each storage once) and the peak of the step "
                                      "(docs/training.md).", bool, default=False)
FREEZE = Option("freeze", ("--freeze",), "With --train: freeze the params of the layers matching this name or glob "
                                         "(a block name freezes its layers; repeatable).", metavar="PATTERN",
                repeatable=True)
OPTIMIZER = Option("optimizer", ("--optimizer",), "Training memory with this optimizer's state (default adam; "
                                                  "implies --train).", choices=OPTIMIZERS)
PRECISION = Option("precision", ("--precision",), "Training memory in fp32, pure bf16, or mixed (fp16/bf16 with "
                                                  "fp32 master weights; default fp32; implies --train).",
                   choices=PRECISIONS)
#: `convcalc cost --dtype`: the roofline's dtypes (convcalc/cost/devices.py; tf32 is stored as float32)
ROOFLINE_DTYPES = ("float64", "float32", "tf32", "bfloat16", "float16", "int8")
ROOFLINE_DTYPE = Option("dtype", ("--dtype",), "With --device: the dtype of the traffic and of the peak (default: "
                                               "the spec's dtype).", choices=ROOFLINE_DTYPES)
FUSE = Option("fuse", ("--fuse",), "With --device: elementwise folds activations, batchnorm, add, … into the layer "
                                   "producing their input (that tensor is not written and read back).",
              default="none", choices=("none", "elementwise"))
COST = (SPEC, ALGORITHM, FORMAT, BATCH, INPUT, SET, UNITS_OPTION, ALLOW_UNSUPPORTED, TRAIN, FREEZE, OPTIMIZER,
        PRECISION, DEVICE, ROOFLINE_DTYPE, FUSE, width_option(RIGHTMOST_FIRST), WIDE)

# ---- convcalc report -----------------------------------------------------------------------------------------------
REPORT = (
    Argument("specs", "SPEC...", "Spec files or shipped config names; two or more are also compared side by side.",
             repeatable=True),
    Option("output", ("--output", "-o"), "Write the HTML page to this file (default: stdout).", metavar="FILE"),
    DEVICE.replace(help="Add the roofline columns of `convcalc cost --device` on this device (a shipped profile or "
                        "a file; docs/roofline.md)."),
    ROOFLINE_DTYPE, FUSE, BATCH, INPUT, SET, UNITS_OPTION, ALLOW_UNSUPPORTED,
)

# ---- convcalc device -----------------------------------------------------------------------------------------------
DEVICE_ACTIONS = ("list", "show", "measure")
DEVICE_COMMAND = (
    Argument("action", "ACTION", "list (the shipped profiles), show NAME|FILE (one profile), or measure (this "
                                 "machine: GEMM peak, vector peak, copy bandwidth, efficiency; writes a profile "
                                 "with -o)."),
    Argument("name", "[NAME|FILE]", "show: the profile to show.", required=False, completion="device"),
    Option("output", ("--output", "-o"), "measure: write the profile to this file (default: print it).",
           metavar="FILE"),
    Option("threads", ("--threads",), "measure: BLAS threads (default: every CPU this process may use).", int,
           minimum=1, metavar="N"),
    Option("quick", ("--quick",), "measure: small sizes (seconds, less accurate).", bool, default=False),
    FORMAT.replace(choices=("table", "json")),
    width_option(RIGHTMOST_FIRST), WIDE,
)

# ---- convcalc explain ----------------------------------------------------------------------------------------------
EXPLAIN = (
    Argument("target", "[KIND|ALGORITHM|SPEC]", "A layer kind (conv, deformable, …), an algorithm (direct, im2col, "
                                                "winograd, fft), or with --layer a spec.", required=False,
             completion="target"),
    Option("layer", ("--layer", "-l"), "Explain this layer of the spec TARGET with its numbers substituted.",
           completion="layer"),
    Option("algorithm", ("--algorithm", "-a"), "With --layer: that layer's convs worked through one algorithm: "
                                               "direct, im2col, winograd or fft (without a spec: `convcalc explain "
                                               "winograd`).", choices=ALGORITHMS[2:]),
    Option("list_", ("--list",), "List every layer kind with its one-line summary.", bool, default=False),
    Option("flops", ("--flops",), "Print the FLOPs-per-element table.", bool, default=False),
    BATCH, INPUT, SET,
    width_option("prose wraps at word boundaries, formulas after their operators under the formula's start "
                 "(nothing is cut), tables from the docs print their rows as lines."),
    WIDE,
)

# ---- convcalc verify -----------------------------------------------------------------------------------------------
VERIFY = (
    SPEC, BATCH, INPUT, SET,
    Option("seed", ("--seed",), "Seed of the random weights and input.", int, default=0),
    Option("dtype", ("--dtype",), "Executor dtype.", default="float32", choices=DTYPES),
    FORMAT.replace(choices=VERIFY_FORMATS),
    Option("max_memory", ("--max-memory",), "Refuse to run above this estimated peak memory (e.g. 512M, 4G).",
           default="4G"),
    Option("rf", ("--rf",), "Also probe the receptive field: the input gradient of one output unit (all-ones "
                            "weights, max pooling as a sum, positive input) against the analytic RF size and first "
                            "index −P + u·j, per axis.", bool, default=False),
    Option("layer", ("--layer", "-l"), "--rf: the layer of the unit (default: the last with spatial axes).",
           metavar="NAME", completion="layer"),
    Option("at", ("--at",), "--rf: the unit's position (default: the one nearest the centre whose RF fits inside "
                            "the input).", metavar="I,J"),
    Option("against_original", ("--against-original",), "For an ONNX file or a PyTorch module: run the original "
                                                        "model and the executor with the model's real weights on one "
                                                        "seeded input and compare every mapped tensor.", bool,
           default=False),
    Option("kwargs", ("--kwargs",), "--against-original, a PyTorch source: a keyword argument of its callable "
                                    "(a Python literal, else text; repeatable).", metavar="KEY=VALUE",
           repeatable=True),
    ALLOW_UNSUPPORTED.replace(help="An ONNX file or a PyTorch module: import operators that have no layer kind as "
                                   "`unsupported` placeholders; the executor cannot run them, so verify then says "
                                   "which layer and operator stop it (exit 2)."),
    TRAIN.replace(help="Also run one training step on the executor and check every layer's input-gradient (dX) "
                       "and weight-gradient (dW) MACs against `convcalc cost --train` (docs/training.md)."),
    FREEZE.replace(help="With --train: freeze the layers matching this name or glob (repeatable)."),
    width_option("columns give way in this order: output (executed), type, params (executed), MACs (executed), "
                 "output (analytic), params (analytic); layer names shorten in the middle; lines wrap."),
    WIDE,
)

# ---- convcalc import -----------------------------------------------------------------------------------------------
IMPORT = (
    Argument("source", "SOURCE", "An ONNX file (model.onnx), or a PyTorch module: torch:package.module:callable or "
                                 "path/file.py:callable."),
    Option("output", ("--output", "-o"), "Write the spec to this file instead of stdout (an existing file only with "
                                         "--force).", metavar="FILE"),
    INPUT.replace(help="Input shape without batch, e.g. 3x224x224: fixes an ONNX file's dynamic dims; needed for a "
                       "PyTorch module."),
    Option("flat", ("--flat",), "One layer per line, no blocks.", bool, default=False),
    Option("kwargs", ("--kwargs",), "A PyTorch source: a keyword argument of its callable (a Python literal, else "
                                    "text; repeatable).", metavar="KEY=VALUE", repeatable=True),
    ALLOW_UNSUPPORTED,
    BATCH.replace(help="The spec's `batch`."),
    Option("force", ("--force",), "With --output: overwrite an existing file.", bool, default=False),
)

# ---- convcalc check ------------------------------------------------------------------------------------------------
CHECK = (
    Argument("specs", "SPEC...", "Spec files or shipped config names; several are checked in turn with a summary "
                                 "at the end.", repeatable=True, completion="spec"),
    Option("budgets", ("--budgets",), "A YAML budgets file (docs/check.md).", completion="budgets"),
    Option("max_", ("--max",), "A budget KEY=VALUE, e.g. params=5M, macs=600M, peak_activation_bytes=8MiB, "
                               "layer_max.macs=200M (repeatable).", repeatable=True),
    Option("min_rf", ("--min-rf",), "Minimum receptive field of the final layer: 224 (every axis) or 224x160 (per "
                                    "axis)."),
    Option("baseline", ("--baseline",), "A `convcalc analyze --format json` report, or a directory of NAME.json "
                                        "reports, to compare against."),
    Option("max_increase", ("--max-increase",), "Allowed growth over the baseline: KEY=PCT% (e.g. macs=2%) or "
                                                "KEY=AMOUNT (repeatable).", repeatable=True),
    FORMAT.replace(choices=CHECK_FORMATS),
    Option("summary", ("--summary",), "Append a Markdown report to this file (default: $GITHUB_STEP_SUMMARY when "
                                      "set).", envvar="GITHUB_STEP_SUMMARY"),
    Option("skip_unbudgeted", ("--skip-unbudgeted",), "Skip files that are not convcalc specs or have no budgets "
                                                      "(for pre-commit hooks) instead of failing with exit code 2.",
           bool, default=False),
    BATCH, INPUT, SET, ALLOW_UNSUPPORTED,
    DEVICE.replace(help="The device profile of `latency_ms` budgets: a shipped name (convcalc device list) or a "
                        "profile file (docs/roofline.md)."),
    width_option("the Where column gives way first, long budget labels shorten in the middle; detail lines "
                 "wrap."),
    WIDE,
    *PEER_OPTIONS,
)


# ---- convcalc schema -----------------------------------------------------------------------------------------------
SCHEMA = ()


def option_value(definition: Option, text: str):
    """The value of ``definition`` for the command-line ``text``, or a :class:`~convcalc.errors.SpecError` naming
    the option: ``--batch 0: must be ≥ 1 — …``. The one check of option values: the fast ``analyze`` parser
    (:mod:`convcalc.cli.entry`) and the Click types of the Typer app (:mod:`convcalc.cli.params`) both call it, so
    the two cannot word a refusal differently. A hostile value is echoed shortened."""
    if definition.choices is not None:
        if text in definition.choices:
            return text
        return _refuse(definition, text, "must be one of " + ", ".join(definition.choices),
                       _close_choice(text, definition.choices) or f"write e.g. {definition.flags[0]} "
                                                                  f"{definition.default or definition.choices[0]}")
    if definition.type is int:
        if text in definition.words:
            return text
        return _whole_number(definition, text)
    return text


def _refuse(definition: Option, text: str, why: str, hint: str):
    from ..errors import SpecError, shorten

    raise SpecError(f"{definition.flags[0]} {shorten(text)}: {why}", None, hint)


def _close_choice(text: str, choices) -> str | None:
    from ..errors import did_you_mean

    hint = did_you_mean(text, choices)
    return hint if hint.startswith("did you mean") else None


def _whole_number(definition: Option, text: str) -> int:
    from ..errors import SpecError
    from ..limits import LIMIT_TEXT, whole_number

    flag, low = definition.flags[0], definition.minimum
    example = f"{flag} {low if low is not None else 0}"
    if definition.words:
        example += "".join(f" or {flag} {word}" for word in definition.words)
    try:
        value = whole_number(text, flag)
    except ValueError:
        value = None
    except SpecError:
        _refuse(definition, text, f"beyond ±{LIMIT_TEXT}", f"convcalc works with numbers up to {LIMIT_TEXT}")
    if value is None:
        _refuse(definition, text, "must be a whole number" + "".join(f" or `{w}`" for w in definition.words),
                f"write e.g. {example}")
    if low is not None and value < low:
        _refuse(definition, text, f"must be ≥ {low}", f"write e.g. {example}")
    return value
