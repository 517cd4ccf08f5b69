"""Shell completion of the arguments that name things: specs, layer kinds, algorithms, device profiles.

``convcalc --install-completion`` (bash, zsh, fish; Typer's mechanism) installs a script that runs ``convcalc``
with ``_CONVCALC_COMPLETE`` set whenever the user presses Tab; Typer then calls the function named by the
argument's ``completion`` (:class:`convcalc.cli.options.Argument`) through :func:`convcalc.cli.params.completer`.
This module is imported only then, never on an ordinary run, and each function imports only what it reads (the
shipped config names, the layer registry): no NumPy.

Each function takes the word typed so far and returns ``(value, help)`` pairs that start with it.
"""

from __future__ import annotations

import os

#: the files a spec argument takes besides shipped names (docs/import.md: ONNX files and PyTorch sources)
SPEC_SUFFIXES = (".yaml", ".yml", ".onnx", ".py")
ALGORITHMS = (("direct", "the convolution as written"), ("im2col", "one GEMM over unfolded patches"),
              ("winograd", "F(2×2,3×3) and F(4×4,3×3)"), ("fft", "FFT convolution"))


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


def spec(incomplete: str) -> list[tuple[str, str]]:
    """Shipped config names (and those of $CONVCALC_CONFIGS and the project's ``configs``), then spec files."""
    from ..spec.loader import shipped_configs

    names = [(name, "shipped config") for name in shipped_configs() if name.startswith(incomplete)]
    return names + files(incomplete)


def kind(incomplete: str) -> list[tuple[str, str]]:
    """Layer kinds, with their one-line summaries."""
    from ..layers import REGISTRY

    return [(name, cls.summary) for name, cls in sorted(REGISTRY.items()) if name.startswith(incomplete)]


def target(incomplete: str) -> list[tuple[str, str]]:
    """`convcalc explain TARGET`: a layer kind, an algorithm, or a spec (with --layer)."""
    algorithms = [(name, text) for name, text in ALGORITHMS if name.startswith(incomplete)]
    return kind(incomplete) + algorithms + spec(incomplete)


def device(incomplete: str) -> list[tuple[str, str]]:
    """Shipped device profiles, then profile files."""
    from ..cost.devices import shipped_files

    names = [(name, "shipped profile") for name in shipped_files() if name.startswith(incomplete)]
    return names + files(incomplete, (".yaml", ".yml"))
