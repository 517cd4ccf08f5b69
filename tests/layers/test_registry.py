"""The lazy registry of layer kinds (convcalc/layers/registry.py): its index is exactly what importing every kind
module registers, a lookup imports only its kind's module, and everything that lists the kinds sees them all, in
the order an eager import gives.

Each check runs in a fresh interpreter: in this one, other tests have long imported every kind module.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import convcalc.layers
from convcalc.layers.registry import FIELD_NAMES, KINDS

LAYERS = Path(convcalc.layers.__file__).resolve().parent
MODULES = sorted(path.stem for path in LAYERS.glob("*.py") if path.stem != "__init__")
#: the kind modules that ResNet-50 (conv, batchnorm, relu, maxpool, add, global_avgpool, flatten, linear) needs
RESNET_MODULES = {"conv", "norm", "elementwise", "pool", "merge", "reshape", "linear"}


def fresh(code: str):
    """What ``code`` (run in a new interpreter) prints as JSON."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_index_is_what_importing_every_kind_module_registers():
    """Every module under convcalc/layers/, imported in alphabetical order (as the package once imported them all),
    registers exactly the kinds of KINDS, each from the module KINDS names, in KINDS' order; their fields are
    FIELD_NAMES. On a failure, the message is the index to write."""
    registered, fields = fresh(
        "import json\nfrom convcalc.layers import REGISTRY\n"
        f"for name in {MODULES!r}:\n    __import__('convcalc.layers.' + name)\n"
        "assert not REGISTRY.pending, REGISTRY.pending\n"
        "entries = dict.items(REGISTRY)  # as they are, without the registry's own listing\n"
        "print(json.dumps([[[kind, cls.__module__.rsplit('.', 1)[1]] for kind, cls in entries],\n"
        "                  sorted({key for cls in dict.values(REGISTRY) for key in cls.fields})]))")
    index = [[kind, module] for kind, module in KINDS.items()]
    assert registered == index, f"convcalc/layers/registry.py: KINDS should list (kind, module) {registered}"
    assert fields == sorted(FIELD_NAMES), f"convcalc/layers/registry.py: FIELD_NAMES should be {' '.join(fields)}"


def test_a_lookup_imports_only_the_module_of_its_kind():
    out = fresh(
        "import json, sys\nfrom convcalc.layers import REGISTRY\n"
        "def loaded():\n"
        "    return sorted(m.rsplit('.', 1)[1] for m in sys.modules if m.startswith('convcalc.layers.'))\n"
        "before = loaded()\n"
        "facts = ['conv' in REGISTRY, 'nope' in REGISTRY, len(REGISTRY), REGISTRY.get('nope', 'none'), loaded()]\n"
        "relu = REGISTRY['relu']\n"
        "facts += [relu.kind, REGISTRY.get('maxpool').kind, loaded()]\n"
        "try:\n    REGISTRY['nope']\nexcept KeyError as err:\n    facts.append(str(err))\n"
        "print(json.dumps([before, facts]))")
    before, (has_conv, has_nope, count, missing, untouched, relu, maxpool, after, error) = out
    assert has_conv and not has_nope and count == len(KINDS) and missing == "none" and untouched == before
    assert relu == "relu" and maxpool == "maxpool" and error == "'nope'"
    assert set(after) - set(before) == {"elementwise", "peers", "saved", "pool"}


def test_listing_the_kinds_sees_every_kind_in_the_eager_order():
    """Looked up out of order first (pool, then channel_shuffle), listed after: the order of KINDS all the same."""
    keys, values, items, copied, length = fresh(
        "import json\nfrom convcalc.layers import REGISTRY\n"
        "REGISTRY['maxpool'], REGISTRY['channel_shuffle']\n"
        "print(json.dumps([list(REGISTRY), [c.kind for c in REGISTRY.values()], [k for k, _ in REGISTRY.items()],\n"
        "                  list(dict(REGISTRY)), len(REGISTRY)]))")
    assert keys == values == items == copied == list(KINDS) and length == len(KINDS)


def test_analysing_resnet50_imports_only_the_kinds_it_uses():
    """What makes the registry lazy worth it: `convcalc analyze` imports the kind modules its network needs (a
    listing of the registry on the path would import them all)."""
    loaded = fresh(
        "import json, sys, convcalc\nconvcalc.analyze('resnet50')\n"
        "print(json.dumps(sorted(m.rsplit('.', 1)[1] for m in sys.modules if m.startswith('convcalc.layers.'))))")
    kind_modules = set(KINDS.values())
    assert kind_modules & set(loaded) == RESNET_MODULES


def test_a_kind_of_another_module_is_registered_twice_even_before_its_own_module_is_imported():
    error = fresh(
        "import json\nfrom convcalc.layers.base import Layer, register\n"
        "try:\n    register(type('Impostor', (Layer,), {'kind': 'conv'}))\n"
        "except RuntimeError as err:\n    print(json.dumps(str(err)))")
    assert error == "layer kind 'conv' registered twice"


def test_a_changed_entry_changes_the_state_and_the_field_names(monkeypatch):
    from convcalc.layers import REGISTRY, Layer
    from convcalc.spec.fields import Int

    state = REGISTRY.state
    monkeypatch.setitem(REGISTRY, "relu", REGISTRY["relu"])  # the same class: nothing changed
    assert REGISTRY.state is state and REGISTRY.all_field_names() == FIELD_NAMES
    monkeypatch.setitem(REGISTRY, "odd_kind", type("Odd", (Layer,), {"kind": "odd_kind", "fields": {"odd": Int()}}))
    assert REGISTRY.state is not state and "odd_kind" in REGISTRY and "odd" in REGISTRY.all_field_names()
    state = REGISTRY.state
    monkeypatch.delitem(REGISTRY, "odd_kind")
    assert REGISTRY.state is not state and "odd_kind" not in REGISTRY
    assert REGISTRY.all_field_names() == FIELD_NAMES  # from the classes now, the same names
