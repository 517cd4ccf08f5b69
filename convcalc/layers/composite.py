"""Helpers of the composite kinds: layers made of stages (depthwise separable, spatially separable, flattened,
squeeze-and-excitation, deformable).

A composite kind is one row in the report; its stages are listed in ``details()["sub_rows"]`` (name, type,
output_shape, params, macs, flops — per sample, like every detail), which the table renderer prints indented under
the row, and its counts are the sums of its stages.

Notation: input (C_in, *N) with d spatial axes, output (C_out, *N_out); Πk is the product of the kernel sizes,
ΠN the number of positions. MACs and FLOPs are per sample.
"""

from __future__ import annotations

from math import prod

from ..errors import KINDS_LISTING, SpecError, did_you_mean
from ..spec.fields import Field
from ..spec.yamlio import YBool, YMap
from .base import REGISTRY, per_group_text, times
from .conv import Conv


COUNTS = ("params", "macs", "flops")


def sub_row(name, kind, shape, params, macs, flops, worked=None) -> dict:
    """One stage of a composite kind; ``worked`` holds its formulas with numbers (for `convcalc explain`)."""
    row = {"name": name, "type": kind, "output_shape": list(shape), "params": params, "macs": macs, "flops": flops}
    if worked is not None:
        row["worked"] = worked
    return row


def conv_stage(name, kind, c_in, c_out, groups, kernel, out_sizes, bias) -> dict:
    """One plain convolution stage (torch.nn.Conv semantics) as a sub-row, with its worked formulas."""
    macs = c_out * prod(out_sizes) * (c_in // groups) * prod(kernel)
    params = c_out * (c_in // groups) * prod(kernel) + (c_out if bias else 0)
    flops = 2 * macs + (c_out * prod(out_sizes) if bias else 0)
    per_group = per_group_text(c_in, groups)
    macs_text = f"{c_out}·{times(out_sizes)}·{per_group}·{times(kernel)}"
    worked = {"params": f"{c_out}·{per_group}·{times(kernel)}" + (f" + {c_out}" if bias else ""),
              "macs": macs_text, "flops": f"2·{macs_text}" + (f" + {c_out}·{times(out_sizes)}" if bias else "")}
    return sub_row(name, kind, (c_out, *out_sizes), params, macs, flops, worked)


class Staged:
    """Mixin of the composite kinds: their counts are the sums of their :meth:`stages`."""

    def stages(self, ins) -> list[dict]:
        raise NotImplementedError

    def sub_rows(self, ins) -> list[dict]:
        return [{key: value for key, value in row.items() if key != "worked"} for row in self.stages(ins)]

    def params(self, ins):
        return sum(row["params"] for row in self.stages(ins))

    def macs(self, ins):
        return sum(row["macs"] for row in self.stages(ins))

    def flops(self, ins):
        return sum(row["flops"] for row in self.stages(ins))

    def details(self, ins):
        return {"sub_rows": self.sub_rows(ins)}

    def worked(self, ins):
        out = {}
        stages = self.stages(ins)
        for key in COUNTS:
            parts = []
            for row in stages:
                text = row.get("worked", {}).get(key, str(row[key]))
                if text != "0":
                    parts.append(f"({text})" if " + " in text or " − " in text else text)
            out[key] = " + ".join(parts) or "0"
        if isinstance(self, Conv):
            out["shape"] = Conv.worked(self, ins)["shape"]
        return out


class ConvVariant(Staged, Conv):
    """A variant that reads a conv's fields (out, kernel, stride, padding, dilation, bias) and has no groups, so
    that ``compare --as`` can swap it in for a conv. Its overall window is the conv's: same output shape and RF."""

    groups = None

    def group_count(self, c_in):
        return 1



class SubLayers(Field):
    """Shape-keeping layers inside a composite kind: a list of kind names or ``{type: …, key: value}`` mappings.

    Normalised to a tuple of ``(kind, fields)`` pairs, each field coerced as in a top-level layer.
    """

    type_name = "list of layers"
    takes_list = True  # under `repeat: N` a list of N names is still one value (convcalc.spec)

    def coerce(self, value, mark, evaluate):
        if not isinstance(value, list):
            self._fail("expects a list of layers", mark, "write e.g. `mid: [batchnorm, relu]`")
        out = []
        for index, item in enumerate(value):
            item_mark = value.mark_of(index) if hasattr(value, "mark_of") else mark
            if isinstance(item, YBool):
                item = item.word
            if isinstance(item, str):
                kind, given = item, {}
            elif isinstance(item, (dict, YMap)) and "type" in item:
                kind, given = item["type"], {k: v for k, v in item.items() if k != "type"}
            else:
                self._fail("entries must be kind names or `{type: …}` mappings", item_mark,
                           "write e.g. `mid: [batchnorm, {type: leaky_relu, negative_slope: 0.1}]`")
            cls = REGISTRY.get(kind)
            if cls is None:
                raise SpecError(f"`{self.name}`: unknown layer type `{kind}`", item_mark,
                                did_you_mean(str(kind), REGISTRY, KINDS_LISTING))
            if cls.arity != (1, 1) or cls.family not in ("activation", "norm", "other"):
                self._fail(f"entry `{kind}` is not a shape-keeping layer", item_mark,
                           "use normalisation, activation, dropout or identity layers here")
            fields = {}
            for key in given:
                if key not in cls.fields:
                    raise SpecError(f"`{kind}` has no key `{key}`", item_mark, did_you_mean(str(key), cls.fields))
            for key, field_obj in cls.fields.items():
                if key in given:
                    fields[key] = field_obj.coerce(given[key], item_mark, evaluate)
                elif field_obj.required:
                    raise SpecError(f"`{kind}` in `{self.name}` is missing `{key}`", item_mark, f"add `{key}:`")
                else:
                    fields[key] = field_obj.default
            out.append((kind, fields))
        return tuple(out)


