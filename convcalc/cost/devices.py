"""Device profiles: the peak arithmetic rate per dtype and the main-memory bandwidth the roofline needs
(:mod:`convcalc.cost.roofline`, docs/roofline.md).

A profile is a YAML file (the schema below, every value with its source in a comment). The shipped ones live in
``convcalc/devices/*.yaml`` (``h100``, ``h200``, ``a100``, ``rtx4090``, ``m2``, ``rpi5``, each with aliases);
``convcalc device measure -o FILE`` writes one for this machine. ``--device`` takes a shipped name or alias, or a
file path. Schema::

    name: h100                  # required: a word
    title: NVIDIA H100 SXM5     # required: what the tables print
    aliases: [h100-sxm]         # optional: other names --device accepts
    kind: gpu                   # required: gpu or cpu
    peak_tflops:                # required: dense peak per dtype, 10^12 FLOP/s (int8: 10^12 op/s), > 0
      float32: 67
    vector_tflops:              # optional: the peak of vector (non-GEMM) work per dtype, 10^12 FLOP/s, > 0;
      float32: 0.004            # a dtype left out runs its vector work at its GEMM peak (device measure measures it)
    bandwidth_gb_s: 3350        # required: main-memory bandwidth, 10^9 bytes/s, > 0
    efficiency: 0.62            # optional, 0 < e ≤ 10 (default 1): how fast a real run goes relative to the
                                # roofline; every predicted time is divided by it (device measure measures it)
    threads: 2                  # optional: the threads the measurement used (device measure writes it)
    measured: {...}             # optional: what device measure saw (free-form, kept for the record)

Every problem is a :class:`~convcalc.errors.SpecError` at the file, line and column of the value.
"""

from __future__ import annotations

import os
from fractions import Fraction

from ..errors import Mark, SpecError, did_you_mean
from .conventions import DTYPE_BYTES

#: the dtypes a profile may give a peak for: the storage dtypes, and tf32 (stored as float32, computed on NVIDIA
#: tensor cores with a 10-bit mantissa)
PEAK_DTYPES = ("float64", "float32", "tf32", "bfloat16", "float16", "int8")
#: the bytes per element of each, for the traffic (tf32 tensors are float32 in memory)
ROOFLINE_DTYPE_BYTES = {**{d: DTYPE_BYTES[d] for d in PEAK_DTYPES if d in DTYPE_BYTES}, "tf32": 4}
KINDS = ("gpu", "cpu")
KEYS = ("name", "title", "aliases", "kind", "peak_tflops", "vector_tflops", "bandwidth_gb_s", "efficiency", "threads",
        "measured")
REQUIRED = ("name", "title", "kind", "peak_tflops", "bandwidth_gb_s")
TERA, GIGA = 10 ** 12, 10 ** 9
#: the largest efficiency factor a profile may give: above 1 a machine beats its roofline (caches serving what the
#: roofline sends to main memory), which a measurement may find; ten times is no longer a model of the machine
MAX_EFFICIENCY = 10


class Device:
    """One profile, with rates in plain units: ``peak`` dtype → FLOP/s (the GEMM peak), ``vector_peak`` dtype →
    FLOP/s (vector work, for the dtypes the profile gives it), ``bandwidth`` bytes/s (Fractions, exact as
    written)."""

    __slots__ = ("name", "title", "aliases", "kind", "peak", "vector_peak", "bandwidth", "efficiency", "threads",
                 "measured", "source")

    def __init__(self, name: str, title: str, kind: str, peak: dict, bandwidth, efficiency=Fraction(1),
                 aliases=(), threads: int | None = None, measured: dict | None = None, source: str = "",
                 vector_peak: dict | None = None):
        self.name, self.title, self.kind, self.peak, self.bandwidth = name, title, kind, peak, bandwidth
        self.efficiency, self.aliases, self.threads = efficiency, tuple(aliases), threads
        self.measured, self.source, self.vector_peak = measured or {}, source, vector_peak or {}

    def peak_for(self, dtype: str):
        """FLOP/s at ``dtype``, or a SpecError naming the dtypes the profile has."""
        if dtype not in self.peak:
            raise SpecError(f"device `{self.name}` has no peak for {dtype} (it gives {', '.join(self.peak)})", None,
                            f"pass --dtype {next(iter(self.peak))}, or add `{dtype}:` under `peak_tflops:` in a "
                            "custom profile (docs/roofline.md)")
        return self.peak[dtype]

    def vector_peak_for(self, dtype: str):
        """FLOP/s of vector (non-GEMM) work at ``dtype``: the profile's ``vector_tflops`` figure, or without one the
        GEMM peak (a profile that does not tell the two apart runs all work at one peak)."""
        return self.vector_peak.get(dtype) or self.peak_for(dtype)

    def to_dict(self) -> dict:
        return {"name": self.name, "title": self.title, "kind": self.kind, "aliases": list(self.aliases),
                "peak_flops": {d: float(v) for d, v in self.peak.items()},
                "vector_peak_flops": {d: float(v) for d, v in self.vector_peak.items()}, "bandwidth_bytes_per_s":
                float(self.bandwidth), "efficiency": float(self.efficiency), "threads": self.threads,
                "source": self.source}


def shipped_dir() -> str:
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "devices")


def shipped_files() -> dict[str, str]:
    """name → path of every shipped profile, in name order."""
    folder = shipped_dir()
    return {f[:-5]: os.path.join(folder, f) for f in sorted(os.listdir(folder)) if f.endswith(".yaml")}


def shipped_devices() -> list[Device]:
    return [read_device(path) for path in shipped_files().values()]


def _number(data, key: str, low_open=True, high=None):
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, (int, Fraction)):
        raise SpecError(f"`{key}` must be a number, got `{value}`", data.mark_of(key),
                        "write a plain decimal number, e.g. 67 or 494.7")
    value = Fraction(value)
    if value <= 0 or (high is not None and value > high):
        bound = f"0 < {key} ≤ {high}" if high is not None else f"{key} > 0"
        raise SpecError(f"`{key}` is {float(value):g}: it must satisfy {bound}", data.mark_of(key),
                        "give the figure in the unit the key names (docs/roofline.md, the schema)")
    return value


def parse_device(text: str, filename: str) -> Device:
    """A profile from YAML ``text``; every error at its FILE:LINE:COL."""
    from ..spec.yamlio import YMap, load_yaml

    data = load_yaml(text, filename)
    if not isinstance(data, YMap):
        raise SpecError("a device profile must be a mapping (name:, title:, kind:, peak_tflops:, bandwidth_gb_s:)",
                        Mark(filename, 1, 1), "see the schema in docs/roofline.md")
    for key in data:
        if key not in KEYS:
            raise SpecError(f"unknown key `{key}` in a device profile", data.key_mark(key),
                            did_you_mean(str(key), KEYS, "the keys are " + ", ".join(KEYS)))
    for key in REQUIRED:
        if key not in data:
            raise SpecError(f"the device profile has no `{key}`", Mark(filename, 1, 1),
                            f"add `{key}:` (docs/roofline.md, the schema)")
    for key in ("name", "title"):
        if not isinstance(data[key], str) or not data[key].strip():
            raise SpecError(f"`{key}` must be text, got `{data[key]}`", data.mark_of(key), f"write e.g. {key}: mine")
    if data["kind"] not in KINDS:
        raise SpecError(f"`kind` is `{data['kind']}`: a profile is a gpu or a cpu", data.mark_of("kind"),
                        "write kind: gpu or kind: cpu")
    peak = _peaks(data, "peak_tflops", "their dense peak")
    vector_peak = _peaks(data, "vector_tflops", "the peak of their vector (non-GEMM) work") \
        if "vector_tflops" in data else {}
    aliases = data.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        raise SpecError("`aliases` must be a list of names", data.mark_of("aliases"), "write e.g. aliases: [h100-sxm]")
    threads = data.get("threads")
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise SpecError(f"`threads` must be a whole number ≥ 1, got `{threads}`", data.mark_of("threads"),
                        "write the thread count the measurement used, e.g. threads: 2")
    efficiency = _number(data, "efficiency", high=MAX_EFFICIENCY) if "efficiency" in data else Fraction(1)
    measured = data.get("measured")
    return Device(data["name"], data["title"], data["kind"], peak, _number(data, "bandwidth_gb_s") * GIGA,
                  efficiency, aliases, threads, dict(measured) if isinstance(measured, dict) else None, filename,
                  vector_peak)


def _peaks(data, key: str, what: str) -> dict:
    """dtype → FLOP/s from ``key`` (``peak_tflops`` or ``vector_tflops``): a non-empty map of known dtypes."""
    from ..spec.yamlio import YMap

    peaks = data[key]
    if not isinstance(peaks, YMap) or not peaks:
        raise SpecError(f"`{key}` must map dtypes to {what} in 10^12 FLOP/s", data.mark_of(key),
                        f"write e.g. {key}: {{float32: 19.5}}")
    peak = {}
    for dtype in peaks:
        if dtype not in PEAK_DTYPES:
            raise SpecError(f"unknown dtype `{dtype}` under `{key}`", peaks.key_mark(dtype),
                            did_you_mean(str(dtype), PEAK_DTYPES, "the dtypes are " + ", ".join(PEAK_DTYPES)))
        peak[dtype] = _number(peaks, dtype) * TERA
    return peak


def read_device(path: str) -> Device:
    from ..limits import read_file

    return parse_device(read_file(path, "the device profile"), path)


def find_device(name: str) -> Device:
    """``--device NAME|FILE``: a shipped profile by name or alias, else a file; an unknown name suggests one."""
    files = shipped_files()
    if name in files:
        return read_device(files[name])
    devices = shipped_devices()
    for device in devices:
        if name in device.aliases:
            return device
    if os.path.exists(name) or name.endswith((".yaml", ".yml")):
        return read_device(name)
    known = [d.name for d in devices] + [a for d in devices for a in d.aliases]
    raise SpecError(f"unknown device `{name}`", None,
                    did_you_mean(name, known, "shipped: " + ", ".join(d.name for d in devices)
                                 + " (convcalc device list), or a profile file"))
