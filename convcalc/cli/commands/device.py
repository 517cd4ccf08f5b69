"""``convcalc device list|show|measure``: the device profiles of the roofline (docs/roofline.md)."""

from __future__ import annotations

ACTIONS = ("list", "show", "measure")


def device(action: str, name: str | None = None, output: str | None = None, threads: int | None = None,
           quick: bool = False, format: str = "table", width: int | None = None, wide: bool = False) -> int:
    """List, show or measure device profiles.

    The device profiles of `convcalc cost --device`: list them, show one with its sources, or measure this machine.

    \b
    Examples:
      convcalc device list                     the shipped profiles (dense peaks, bandwidth)
      convcalc device show h100                one profile, every value with its source
      convcalc device measure -o mine.yaml     this machine: GEMM and vector peaks, copy bandwidth, efficiency
    """
    from ...cost import devices
    from ...errors import SpecError, did_you_mean
    from ...render.devices import DeviceListView, DeviceView
    from ...render.emitters import emit
    from ...render.width import resolve_width

    fit = resolve_width(width, wide)

    if action not in ACTIONS:
        raise SpecError(f"unknown action `{action}`", None, did_you_mean(action, ACTIONS))
    if action != "show" and name is not None:
        raise SpecError(f"`device {action}` takes no NAME (got `{name}`)", None,
                        f"write `convcalc device show {name}` to see a profile")
    if action == "list":
        emit(DeviceListView(devices.shipped_devices()), format, width=fit)
        return 0
    if action == "show":
        if name is None:
            raise SpecError("`device show` needs a NAME or FILE", None, "e.g. convcalc device show h100")
        from ...limits import read_file

        profile = devices.find_device(name)
        emit(DeviceView(profile, read_file(profile.source, "the device profile")), format, width=fit)
        return 0
    import sys

    from ...cost.measure import blas_sentence, coretype_note, measure, profile_yaml
    from ...render.width import write_message

    if output is not None:  # before the measuring (seconds to minutes): a place the profile can be written
        from ...render.files import check_output

        check_output(output, "--output")
    measured = measure(threads, quick)
    text = profile_yaml(measured)
    profile = devices.parse_device(text, output or "<measured>")  # what is written must read back
    note = coretype_note(measured["blas"])
    if note:
        write_message(note, sys.stderr, "note: ")
    if output is None:
        print(text, end="")
        return 0
    with open(output, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {output}: float32 {float(profile.peak['float32']) / 1e9:.1f} GFLOP/s, float64 "
          f"{float(profile.peak['float64']) / 1e9:.1f} GFLOP/s (GEMM), vector float32 "
          f"{float(profile.vector_peak['float32']) / 1e9:.2f} GFLOP/s, "
          f"bandwidth {float(profile.bandwidth) / 1e9:.2f} GB/s, "
          f"efficiency {float(profile.efficiency):.3f}, {profile.threads} threads; BLAS: "
          f"{blas_sentence(measured['blas'])}", file=sys.stderr)
    return 0
