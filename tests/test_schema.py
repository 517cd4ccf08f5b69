"""`convcalc schema`: the JSON Schema of the spec format (convcalc/schema.py) accepts every shipped config and every
spec example of the docs, rejects what the reader rejects, and the package ships it up to date."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import convcalc
from convcalc.cli.app import app
from convcalc.errors import SpecError
from convcalc.schema import schema_text, shipped_path, spec_schema
from convcalc.spec.expand import BLOCK_CALL, STRUCTURAL
from convcalc.spec.loader import BLOCK_KEYS, TOP_KEYS, shipped_configs

from test_docs import DEFAULT_INPUT, _examples, _has_placeholder

jsonschema = pytest.importorskip("jsonschema")
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def validator():
    schema = spec_schema()
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def problems(validator, data) -> list[str]:
    """Every complaint, with those inside `anyOf` branches (where "0 is less than the minimum of 1" is)."""
    def walk(errors):
        for error in errors:
            yield f"{'/'.join(map(str, error.absolute_path))}: {error.message[:200]}"
            yield from walk(error.context)
    return list(walk(validator.iter_errors(data)))


def test_the_shipped_file_is_the_generated_schema():
    assert Path(shipped_path()).read_text(encoding="utf-8") == schema_text(), \
        "convcalc/spec.schema.json is stale: run `convcalc schema > convcalc/spec.schema.json`"
    assert '"convcalc" = ["spec.schema.json"]' in (ROOT / "pyproject.toml").read_text(encoding="utf-8")


def test_the_command_prints_it():
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0
    assert result.output == schema_text()
    assert json.loads(result.output)["$schema"] == "http://json-schema.org/draft-07/schema#"


def test_the_keys_are_the_readers_own():
    schema = spec_schema()
    assert list(schema["properties"]) == list(TOP_KEYS)
    assert list(schema["definitions"]["block"]["properties"]) == list(BLOCK_KEYS)
    conv = schema["definitions"]["kind.top.conv"]["properties"]
    assert [key for key in conv if key in STRUCTURAL] == [key for key in STRUCTURAL]
    assert set(conv) - set(STRUCTURAL) == set(convcalc.layers.REGISTRY["conv"].fields)
    call = schema["definitions"]["item.top"]["then"]["properties"]
    assert list(call) == list(BLOCK_CALL)


@pytest.mark.parametrize("name", sorted(shipped_configs()))
def test_every_shipped_config_validates(validator, name):
    data = yaml.safe_load(shipped_configs()[name].read_text(encoding="utf-8"))
    assert problems(validator, data) == []


def _doc_specs():
    for param in _examples():
        path, line, marker, body = param.values
        data = yaml.safe_load(body)
        if marker == "error" or _has_placeholder(data):
            continue
        if isinstance(data, list) and data and all(isinstance(i, dict) and ("type" in i or "block" in i)
                                                   for i in data):
            shape = yaml.safe_load(marker.split(":", 1)[1]) if marker.startswith("input:") else DEFAULT_INPUT
            data = {"name": "example", "input": shape, "layers": data}
        if isinstance(data, dict) and "layers" in data:
            yield pytest.param(data, id=param.id)


@pytest.mark.parametrize("data", list(_doc_specs()))
def test_every_spec_example_of_the_docs_validates(validator, data):
    assert problems(validator, data) == []


def test_the_docs_have_spec_examples():
    assert len(list(_doc_specs())) >= 20


SPEC = "input: [3, 8, 8]\n"
#: (spec text, the words of the schema's complaint): each is an error of convcalc's reader too
BAD = [
    (SPEC + "layerz: []\nlayers: [{type: relu}]", "'layerz' was unexpected"),
    (SPEC + "layers: [{type: conv2d, out: 8, kernel: 3}]", "'conv2d'"),
    (SPEC + "layers: [{type: conv, out: 8}]", "'kernel' is a required property"),
    (SPEC + "layers: [{type: conv, out: 8, kernel: 3, padding_mode: mirror}]", "'mirror' is not one of"),
    (SPEC + "layers: [{type: conv, out: 8, kernel: 0}]", "0 is less than the minimum of 1"),
    (SPEC + "layers: [{type: conv, out: 8, kernel: 3, strid: 2}]", "'strid' was unexpected"),
    (SPEC + "defaults: {biass: false}\nlayers: [{type: relu}]", "'biass' was unexpected"),
    (SPEC + "layers: [{type: conv, out: [8, 16], kernel: 3}]", "[8, 16]"),
    (SPEC + "blocks: {b: {argz: {}, layers: [{type: relu}]}}\nlayers: [{block: b}]", "'argz' was unexpected"),
    (SPEC + "dtype: float128\nlayers: [{type: relu}]", "'float128' is not one of"),
    ("input: [3, 8, 8, 8, 8]\nlayers: [{type: relu}]", "is too long"),
    (SPEC + "layers: [{type: relu, trainable: maybe}]", "'maybe' is not of type 'boolean'"),
]


@pytest.mark.parametrize("text, complaint", BAD, ids=[f"bad{i}" for i in range(len(BAD))])
def test_bad_specs_are_rejected_by_both(validator, text, complaint):
    found = problems(validator, yaml.safe_load(text))
    assert found and any(complaint in p for p in found), found
    with pytest.raises(SpecError):
        convcalc.analyze(convcalc.load(text))


#: what the schema must not reject: expressions, per-repetition lists, defaults giving a required field, block args
GOOD = [
    SPEC + "vars: {a: 2}\nlayers: [{type: conv, out: 4 * a, kernel: [3, a + 1], bias: a > 1}]",
    SPEC + "layers: [{type: conv, repeat: 2, out: [8, 16], kernel: 3, stride: [[2, 1], [1, 1]]}]",
    SPEC + "defaults: {conv: {kernel: 3}}\nlayers: [{type: conv, out: 8}]",
    SPEC + "blocks: {b: {args: {m: zeros, k: 3}, layers: [{type: conv, out: 8, kernel: k, padding_mode: m}]}}\n"
           "layers: [{block: b, k: 1}]",
    SPEC + "vars: {hs: true}\nlayers: [{type: \"'hardswish' if hs else 'relu'\"}]",
    SPEC + "layers: [{type: conv, out: in_channels * 2, kernel: 3, padding: same}, {type: avgpool, kernel: in_size}]",
    "name: 123\n" + SPEC + "layers: [{type: relu, name: 7}, {type: upsample, scale: [2, 1.5], mode: bilinear}]",
]


@pytest.mark.parametrize("text", GOOD, ids=[f"good{i}" for i in range(len(GOOD))])
def test_valid_specs_are_accepted_by_both(validator, text):
    assert problems(validator, yaml.safe_load(text)) == []
    assert convcalc.analyze(convcalc.load(text)).layers


def _plain(value):
    """A Python example value as YAML would load it: tuples as lists, fractions as decimals."""
    from fractions import Fraction

    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Fraction):
        return int(value) if value.denominator == 1 else float(value)
    return value


@pytest.mark.parametrize("kind", sorted(convcalc.layers.REGISTRY))
def test_every_kinds_example_validates(validator, kind):
    """The registry's own examples (what `convcalc explain KIND` runs), with each of their `also` settings."""
    example = convcalc.layers.REGISTRY[kind].example
    for changes in ({}, *example.also):
        assert problems(validator, _plain(example.spec(kind, **changes))) == [], changes
