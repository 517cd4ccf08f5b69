"""``convcalc schema``: the JSON Schema of the spec format (:mod:`convcalc.schema`), for editors and CI."""

from __future__ import annotations


def schema() -> int:
    """Print the JSON Schema of the spec format.

    \b
    Generated from the layer kinds' fields, so it matches this version; the package ships the same file
    (convcalc/spec.schema.json). Point an editor at it with a modeline on a spec's first line:
      # yaml-language-server: $schema=spec.schema.json

    \b
    Examples:
      convcalc schema > spec.schema.json
      convcalc schema | python -m json.tool | less
    """
    import sys

    from ...schema import schema_text

    sys.stdout.write(schema_text())
    return 0
