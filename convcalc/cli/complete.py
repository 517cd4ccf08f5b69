"""Shell completion of the arguments that name things: specs, layer kinds, algorithms, device profiles.

``convcalc --install-completion`` (bash, zsh, fish; Typer's mechanism) installs a script that runs ``convcalc``
with ``_CONVCALC_COMPLETE`` set whenever the user presses Tab; Typer then calls the function named by the
argument's ``completion`` (:class:`convcalc.cli.options.Argument`) through :func:`convcalc.cli.params.completer`.
This module is imported only then, never on an ordinary run, and each function imports only what it reads (the
shipped config names, the layer registry): no NumPy.

Each function takes the word typed so far and the values already on the command line (by parameter name), and
returns ``(value, help)`` pairs that start with that word.
"""

from __future__ import annotations

import os

#: the files a spec argument takes besides shipped names (docs/import.md: ONNX files and PyTorch sources)
SPEC_SUFFIXES = (".yaml", ".yml", ".onnx", ".py")
ALGORITHMS = (("direct", "the convolution as written"), ("im2col", "one GEMM over unfolded patches"),
              ("winograd", "F(2×2,3×3) and F(4×4,3×3)"), ("fft", "FFT convolution"))


def given(ctx) -> dict:
    """The values on the command line before the word being completed, by parameter name: Click's (resilient)
    parse of them, and the positional arguments read again from the shell's words, since Click stops parsing at an
    option still waiting for its value (``convcalc rf resnet50 --layer <Tab>`` leaves SPEC unset)."""
    if ctx is None:
        return {}
    values = dict(ctx.params)
    words = os.environ.get("COMP_WORDS") or os.environ.get("_TYPER_COMPLETE_ARGS") or ""
    words = words.split()
    if os.environ.get("COMP_CWORD", "").isdigit():  # bash: the words before the one being completed
        words = words[:int(os.environ["COMP_CWORD"])]
    elif words and not (os.environ.get("_TYPER_COMPLETE_ARGS") or "").endswith(" "):
        words = words[:-1]  # zsh and fish pass the word being completed last
    if ctx.info_name not in words:
        return values
    takes_value = {flag for param in ctx.command.params if param.param_type_name == "option" and not param.is_flag
                   for flag in param.opts + param.secondary_opts}
    arguments = [param for param in ctx.command.params if param.param_type_name == "argument"]
    positional, rest = [], iter(words[words.index(ctx.info_name) + 1:])
    for word in rest:
        if word.startswith("-"):
            if word.split("=", 1)[0] in takes_value and "=" not in word:
                next(rest, None)
        else:
            positional.append(word)
    for param, word in zip(arguments, positional):
        if not values.get(param.name):
            values[param.name] = [word] if param.nargs == -1 else word
    return values


def files(incomplete: str, suffixes: tuple[str, ...] = SPEC_SUFFIXES) -> list[tuple[str, str]]:
    """Folders and files with one of ``suffixes`` whose path starts with ``incomplete``."""
    folder, start = os.path.split(incomplete)
    try:
        entries = sorted(os.listdir(folder or "."))
    except OSError:
        return []
    found = []
    for entry in entries:
        if not entry.startswith(start) or (entry.startswith(".") and not start.startswith(".")):
            continue
        path = os.path.join(folder, entry)
        if os.path.isdir(path):
            found.append((path + os.sep, "folder"))
        elif entry.endswith(suffixes):
            found.append((path, "file"))
    return found


def spec(incomplete: str, given: dict | None = None) -> list[tuple[str, str]]:
    """Shipped config names (and those of $CONVCALC_CONFIGS and the project's ``configs``), then spec files."""
    from ..spec.loader import shipped_configs

    names = [(name, "shipped config") for name in shipped_configs() if name.startswith(incomplete)]
    return names + files(incomplete)


def kind(incomplete: str, given: dict | None = None) -> list[tuple[str, str]]:
    """Layer kinds, with their one-line summaries."""
    from ..layers import REGISTRY

    return [(name, cls.summary) for name, cls in sorted(REGISTRY.items()) if name.startswith(incomplete)]


def target(incomplete: str, given: dict | None = None) -> list[tuple[str, str]]:
    """`convcalc explain TARGET`: a layer kind, an algorithm, or a spec (with --layer)."""
    algorithms = [(name, text) for name, text in ALGORITHMS if name.startswith(incomplete)]
    return kind(incomplete) + algorithms + spec(incomplete)


def device(incomplete: str, given: dict | None = None) -> list[tuple[str, str]]:
    """Shipped device profiles, then profile files."""
    from ..cost.devices import shipped_files

    names = [(name, "shipped profile") for name in shipped_files() if name.startswith(incomplete)]
    return names + files(incomplete, (".yaml", ".yml"))


def budgets(incomplete: str, given: dict | None = None) -> list[tuple[str, str]]:
    """`check --budgets`: YAML files."""
    return files(incomplete, (".yaml", ".yml"))


def layer(incomplete: str, given: dict | None = None) -> list[tuple[str, str]]:
    """`--layer`: the layer names of the spec given before it (SPEC, `explain`'s TARGET or `compare`'s first spec),
    with their kinds; nothing when there is none yet or it does not load."""
    given = given or {}
    spec = given.get("spec") or given.get("target") or (given.get("specs") or [None])[0]
    if not spec:
        return []
    from ..errors import SpecError
    from ..spec.loader import is_import_source, load

    if is_import_source(spec):  # importing a model on Tab would take seconds
        return []
    try:
        nodes = load(spec).expand().nodes
    except (SpecError, OSError, RecursionError):
        return []
    return [(node.name, node.kind) for node in nodes if node.name.startswith(incomplete)]
