"""``convcalc import SOURCE``: an ONNX file or a PyTorch module as a spec a person can read and edit (docs/import.md).
The library does the work (:func:`convcalc.importers.source.imported_spec`); this prints or writes the text."""

from __future__ import annotations

import sys

from ..common import parse_kwargs
from ...errors import SpecError


def import_(source: str, output: str | None = None, input: str | None = None, flat: bool = False,
            kwargs: list[str] | None = None, allow_unsupported: bool = False, batch: int | None = None,
            force: bool = False) -> int:
    """Import an ONNX file or a PyTorch module as a spec.

    The model's own layer names, repeated structures as blocks (--flat: one layer per line), a header with the
    source, the input shape and the version.

    \b
    Examples:
      convcalc import model.onnx -o net.yaml
      convcalc import torch:mypkg.nets:build_net --input 3x224x224 --kwargs num_classes=10

    \b
    Exit codes: 0 success; 2 bad input (the source, an operator with no layer kind, an existing --output).
    """
    from ...importers.source import frontend_of, imported_spec, is_import_source, model_warnings
    from ...render.width import write_message
    from ...spec.loader import parse_input_override

    if not is_import_source(source):
        raise SpecError(f"`{source}` is not an import source", None, "give an ONNX file (model.onnx), "
                        "torch:package.module:callable or path/file.py:callable")
    if kwargs and frontend_of(source)[0] != "torch":
        raise SpecError("--kwargs passes keyword arguments to a PyTorch source's callable", None,
                        "leave it out for an ONNX file")
    check_output(output, force)
    shape = parse_input_override(input) if input is not None else None
    from ...render.progress import Progress

    with Progress(0, "import") as progress:  # its stages and each traced node, on a terminal's stderr
        text, model = imported_spec(source, shape, parse_kwargs(kwargs), batch, flat, allow_unsupported, progress)
    for sentence in model_warnings(model):
        write_message(sentence, sys.stderr, "warning: ")
    if output is None:
        sys.stdout.write(text)
    else:
        try:
            with open(output, "w", encoding="utf-8") as stream:
                stream.write(text)
        except OSError as exc:
            raise SpecError(f"--output {output}: cannot write it ({exc.strerror})", None,
                            "check the folder exists and is writable") from None
        write_message(f"wrote {output} ({len(model.layers)} layers)", sys.stderr)
    return 0


def check_output(path: str | None, force: bool) -> None:
    """Never overwrite a file silently: an existing ``--output`` needs ``--force``; a directory is refused."""
    import os

    if path is None:
        if force:
            raise SpecError("--force overwrites the --output file", None, "add -o FILE, or leave --force out")
        return
    if os.path.isdir(path):
        raise SpecError(f"--output {path} is a directory", None, "give a file name, e.g. -o net.yaml")
    if os.path.exists(path) and not force:
        raise SpecError(f"--output {path} exists", None, "pass --force to overwrite it, or choose another file")
    from ...render.files import check_output as check_writable

    check_writable(path, "--output")  # a directory that exists and may be written, before the import runs
