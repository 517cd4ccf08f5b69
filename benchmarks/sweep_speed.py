"""Points per second of `convcalc sweep` on a 10,000-point MobileNet grid, serial against `--jobs N`.

    python benchmarks/sweep_speed.py [--jobs 2] [--points 10000] [--runs 1]

The grid is MobileNet v1 (the shipped configs/mobilenet_v1.yaml) with a third var, ``depth``: how many times the
middle 512-channel depthwise-separable block repeats (5 in the paper; no shipped config declares a depth var, so
the script writes a copy of the spec with ``repeat: depth`` into a temporary directory). The axes are 25 widths
α = 0.2 … 1.4 × 20 resolutions 96 … 248 × 20 depths 1 … 20 = 10,000 points (``--points 1000`` takes the first
values of each axis for a quick look).

Every run is a fresh ``convcalc sweep … --format jsonl`` process (the only format that takes more than 1,000
points) with its output read back, the serial and parallel runs interleaved so that a burst of load on a shared
machine hits both alike. Printed: wall time, points per second, the ratio of the parallel rate to the serial
rate measured in the same run, peak RSS of the parent process, and whether the outputs are byte for byte the
same (they must be).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from subprocess_env import environment  # benchmarks/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parent.parent

ALPHAS = [f"{0.2 + 0.05 * i:.2f}" for i in range(25)]  # 0.20 … 1.40
RESOLUTIONS = [str(96 + 8 * i) for i in range(20)]  # 96 … 248
DEPTHS = [str(d) for d in range(1, 21)]  # 1 … 20


def depth_spec(directory: Path) -> Path:
    """configs/mobilenet_v1.yaml with the five 512-channel blocks repeated ``depth`` times."""
    text = (ROOT / "configs" / "mobilenet_v1.yaml").read_text(encoding="utf-8")
    repeat = "{block: separable, name: block7_11, repeat: 5, out: 512}"
    assert repeat in text and "  num_classes: 1000\n" in text, "configs/mobilenet_v1.yaml changed: update this script"
    text = text.replace(repeat, "{block: separable, name: block7_11, repeat: depth, out: 512}")
    text = text.replace("  num_classes: 1000\n", "  num_classes: 1000\n  depth: 5            # the 512-channel blocks\n")
    path = directory / "mobilenet_v1_depth.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def axes(points: int) -> list[list[str]]:
    """The first values of each axis, for a grid of about ``points`` points (the whole 10,000 by default)."""
    scale = (points / 10_000) ** (1 / 3)
    return [values[:max(2, round(len(values) * scale))] for values in (ALPHAS, RESOLUTIONS, DEPTHS)]


def run_once(argv: list[str], env: dict) -> tuple[float, int, str, int]:
    """(wall seconds, peak RSS of the parent in bytes, sha256 of stdout, lines) of one sweep process."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.PIPE, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        stderr = proc.stderr.read().decode()
        proc.stderr.close()
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{' '.join(argv)} failed:\n{stderr}")
        out.seek(0)
        data = out.read()
    return seconds, usage.ru_maxrss * 1024, hashlib.sha256(data).hexdigest(), data.count(b"\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2, help="worker processes of the parallel run (default 2)")
    parser.add_argument("--points", type=int, default=10_000, help="grid size (default 10,000)")
    parser.add_argument("--runs", type=int, default=1, help="runs of each (default 1; the median is printed)")
    args = parser.parse_args()
    env = environment()
    script = Path(sys.executable).with_name("convcalc")
    convcalc = [str(script)] if script.is_file() else [sys.executable, "-m", "convcalc"]
    with tempfile.TemporaryDirectory() as tmp:
        spec = depth_spec(Path(tmp))
        alphas, resolutions, depths = axes(args.points)
        size = len(alphas) * len(resolutions) * len(depths)
        sweep = [*convcalc, "sweep", str(spec), "--set", "alpha=" + ",".join(alphas),
                 "--set", "resolution=" + ",".join(resolutions), "--set", "depth=" + ",".join(depths),
                 "--format", "jsonl"]
        commands = {"serial (--jobs 1)": sweep, f"--jobs {args.jobs}": [*sweep, "--jobs", str(args.jobs)]}
        print(f"MobileNet v1, {len(alphas)} α × {len(resolutions)} resolutions × {len(depths)} depths = {size:,} "
              f"points; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} before")
        times: dict[str, list[float]] = {label: [] for label in commands}
        peaks = {label: 0 for label in commands}
        digests: dict[str, set] = {label: set() for label in commands}
        for _ in range(args.runs):
            for label, argv in commands.items():
                seconds, rss, digest, lines = run_once(argv, env)
                assert lines == size, (label, lines, size)
                times[label].append(seconds)
                peaks[label] = max(peaks[label], rss)
                digests[label].add(digest)
    rates = {label: size / statistics.median(values) for label, values in times.items()}
    serial = rates["serial (--jobs 1)"]
    print(f"{'run':<20} {'median':>9} {'points/s':>10} {'× serial':>9} {'parent RSS':>11}")
    for label, values in times.items():
        print(f"{label:<20} {statistics.median(values):8.2f}s {rates[label]:10.0f} {rates[label] / serial:9.2f} "
              f"{peaks[label] / 2**20:8.1f}MiB")
    same = len(set().union(*digests.values())) == 1
    print(f"outputs identical: {'yes' if same else 'NO'}; load average {os.getloadavg()[0]:.2f} after")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
