"""Sweeps that scale out (issue 19): ``--jobs N`` gives exactly the serial output and the serial first error,
``--format jsonl`` streams the points (its schema, its bound, flat memory), a parsed spec, a point, a report and an
error pickle, and a dask.distributed cluster runs the example of docs/compare.md.

Expected numbers are the shipped MobileNet v1's, pinned by hand in tests/compare/test_sweep.py (and rounding to
Howard et al. 2017, Tables 6 and 7): α = 1.0, ρ = 224 → 4,231,976 params, 568,740,352 MACs; α = 0.5, ρ = 224 →
1,331,592 params, 149,497,088 MACs.
"""

from __future__ import annotations

import json
import pickle
import re
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convcalc.cli.app import app
from convcalc.compare import parallel
from convcalc.compare.sweep import (evaluate_point, evaluate_points, grid_chunks,
                                    grid_points, plan, run_points, stream_points, sweep)
from convcalc.errors import Mark, SpecError
from convcalc.spec.loader import load

ROOT = Path(__file__).resolve().parents[2]
GRID = ["--set", "alpha=0.25,0.5,0.75,1.0", "--set", "resolution=128,160,192,224"]
# k = 30 does not fit an 8×8 input: the second point of each w fails
FAILING = "name: t\nvars: {w: 4, k: 3}\ninput: [3, 8, 8]\nlayers:\n  - {type: conv, out: w, kernel: k}\n"


def cli(*args):
    result = CliRunner().invoke(app, ["sweep", *args], env={"NO_COLOR": "1"})
    return result.exit_code, result.stdout, result.stderr


# ---- --jobs N: the output of a serial run ------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["table", "json", "jsonl", "csv", "markdown"])
def test_two_jobs_print_exactly_what_one_prints(fmt):
    serial = cli("mobilenet_v1", *GRID, "-f", fmt, "--units", "raw")
    parallel = cli("mobilenet_v1", *GRID, "-f", fmt, "--units", "raw", "--jobs", "2")
    assert serial[0] == 0, serial
    assert parallel == serial
    assert "568740352" in serial[1].replace(",", "")


def test_jobs_auto_and_more_jobs_than_points_print_the_serial_output():
    serial = cli("mobilenet_v1", "--set", "alpha=0.5,1.0", "-f", "json")
    assert cli("mobilenet_v1", "--set", "alpha=0.5,1.0", "-f", "json", "--jobs", "auto") == serial
    assert cli("mobilenet_v1", "--set", "alpha=0.5,1.0", "-f", "json", "-j", "8") == serial


@pytest.mark.parametrize("fmt", ["table", "jsonl"])
def test_a_failing_point_stops_the_sweep_as_in_serial(tmp_path, fmt):
    path = tmp_path / "k.yaml"
    path.write_text(FAILING)
    args = (str(path), "--set", "w=4,8", "--set", "k=3,30,5", "-f", fmt)
    serial = cli(*args)
    assert cli(*args, "--jobs", "2") == serial
    code, out, err = serial
    assert code == 2
    assert err.startswith(f"error: {path}:5:5: at w=4, k=30: layer `conv1` (conv): output size")
    # jsonl: the point before the failing one is written, nothing after it; the table format writes nothing
    assert [json.loads(line)["vars"] for line in out.splitlines()] == ([{"w": "4", "k": "3"}] if fmt == "jsonl"
                                                                       else [])


def test_an_error_not_caused_by_the_swept_values_is_the_serial_one(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("name: t\nvars: {w: 4}\ninput: [3, 8, 8]\nlayers:\n"
                    "  - {type: conv, out: w, kernel: 3}\n  - {type: dropout, p: 2}\n")
    serial = cli(str(path), "--set", "w=4,8,16", "-f", "jsonl")
    assert serial == (2, "", f"error: {path}:6:24: `p` must be below 1, got 2 — use a value < 1\n")
    assert cli(str(path), "--set", "w=4,8,16", "-f", "jsonl", "-j", "2") == serial


def test_the_library_gives_the_same_points_in_the_same_order_with_jobs():
    axes = {"alpha": ["0.25", "0.5", "0.75", "1.0"], "resolution": ["128", "160", "192", "224"]}
    serial = sweep("mobilenet_v1", axes)
    assert sweep("mobilenet_v1", axes, jobs=3) == serial
    assert sweep("mobilenet_v1", axes, jobs="auto") == serial
    assert pickle.loads(pickle.dumps(serial)) == serial
    last = serial.points[-1]
    assert (last.values, last.params, last.macs) == ({"alpha": "1.0", "resolution": "224"}, 4_231_976, 568_740_352)


def test_workers_get_the_parsed_spec_and_never_read_the_file(tmp_path):
    path = tmp_path / "net.yaml"
    path.write_text(FAILING)
    checked = plan(str(path), {"w": ["4", "8", "16", "32"]})
    path.unlink()
    assert [p.params for p in run_points(checked, 2)] == [4 * 27 + 4, 8 * 27 + 8, 16 * 27 + 16, 32 * 27 + 32]


def test_chunks_are_small_and_several_per_worker():
    assert parallel.chunk_size(16, 2) == 1
    assert parallel.chunk_size(200, 2) == 12  # 200 // 16: eight chunks per worker
    assert parallel.chunk_size(10_000, 2) == parallel.MAX_CHUNK == 16
    assert [len(c) for c in grid_chunks({"a": ["1", "2", "3"], "b": ["1", "2", "3"]}, 4)] == [4, 4, 1]
    assert next(grid_points({"a": ["1", "2"], "b": ["x", "y"]})) == {"a": "1", "b": "x"}


@pytest.mark.parametrize("value, message", [
    ("0", "--jobs 0: must be ≥ 1 — write e.g. --jobs 1 or --jobs auto"),
    ("-3", "--jobs -3: must be ≥ 1 — write e.g. --jobs 1 or --jobs auto"),
    ("two", "--jobs two: must be a whole number or `auto` — write e.g. --jobs 1 or --jobs auto"),
    ("1.5", "--jobs 1.5: must be a whole number or `auto` — write e.g. --jobs 1 or --jobs auto"),
    ("300", "--jobs 300: more than 256 processes — use --jobs auto for one process per CPU"),
])
def test_bad_jobs_are_refused_in_the_option_style(value, message):
    assert cli("mobilenet_v1", "--set", "alpha=0.5,1.0", "--jobs", value) == (2, "", f"error: {message}\n")


# ---- --format jsonl ------------------------------------------------------------------------------------------------
def test_jsonl_is_one_object_per_point_in_grid_order():
    code, out, _ = cli("mobilenet_v1", "--set", "alpha=0.5,1.0", "--set", "resolution=128,224", "-f", "jsonl")
    assert code == 0
    lines = out.splitlines()
    records = [json.loads(line) for line in lines]
    assert [list(r) for r in records] == [["index", "vars", "params", "macs", "flops", "activation_bytes",
                                           "peak_activation_bytes"]] * 4
    assert [r["index"] for r in records] == [0, 1, 2, 3]
    assert [r["vars"] for r in records] == [{"alpha": "0.5", "resolution": "128"}, {"alpha": "0.5", "resolution": "224"},
                                            {"alpha": "1.0", "resolution": "128"}, {"alpha": "1.0", "resolution": "224"}]
    assert (records[1]["params"], records[1]["macs"]) == (1_331_592, 149_497_088)
    assert (records[3]["params"], records[3]["macs"]) == (4_231_976, 568_740_352)
    assert all(" " not in line for line in lines)  # compact: one line each
    # the points of --format json are the same objects without the index
    points = json.loads(cli("mobilenet_v1", "--set", "alpha=0.5,1.0", "--set", "resolution=128,224", "-f",
                            "json")[1])["points"]
    assert points == [{k: v for k, v in r.items() if k != "index"} for r in records]


def test_the_jsonl_example_of_the_json_docs_is_real_output():
    text = (ROOT / "docs" / "json.md").read_text(encoding="utf-8")
    section = text.split("## Sweep points (`--format jsonl`)", 1)[1]
    example = re.search(r"```json\n(.*?)\n```", section, re.S).group(1)
    code, out, _ = cli("mobilenet_v1", "--set", "alpha=0.5,1.0", "--set", "resolution=128,224", "-f", "jsonl")
    assert code == 0 and out.splitlines()[0] == example
    documented = set(re.findall(r"^\| `(\w+)` \|", section, re.M))
    assert documented == set(json.loads(example))


def test_jsonl_goes_beyond_the_table_limit_which_suggests_it(tmp_path):
    path = tmp_path / "net.yaml"
    path.write_text(FAILING.replace("{w: 4, k: 3}", "{w: 4, k: 3, d: 1}"))
    args = (str(path), "--set", "w=" + ",".join(str(i) for i in range(1, 41)),
            "--set", "k=" + ",".join(str(i) for i in range(1, 9)), "--set", "d=1,2,3,4")  # 40 × 8 × 4 = 1,280
    code, out, err = cli(*args, "--no-chart")
    assert (code, out) == (2, "")
    assert err == ("error: --set: the sweep has 1,280 points (40 values of `w` × 8 values of `k` × 4 values of `d`), "
                   "more than 1,000 — give --set fewer values at a time, or stream the points with --format jsonl "
                   "(up to 10,000,000)\n")
    code, out, _ = cli(*args, "-f", "jsonl", "-j", "2")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 1280
    assert json.loads(lines[-1]) == {"index": 1279, "vars": {"w": "40", "k": "8", "d": "4"}, "params": 40 * 3 * 64 + 40,
                                     "macs": 40 * 3 * 64, "flops": 2 * 40 * 3 * 64 + 40, "activation_bytes": 40 * 4,
                                     "peak_activation_bytes": (3 * 64 + 40) * 4}


def test_jsonl_refuses_more_than_ten_million_points(tmp_path):
    path = tmp_path / "net.yaml"
    path.write_text(FAILING)
    values = ",".join(str(i) for i in range(1, 4001))
    code, out, err = cli(str(path), "--set", f"w={values}", "--set", f"k={values}", "-f", "jsonl")
    assert (code, out) == (2, "")
    assert err == ("error: --set: the sweep has 16,000,000 points (4,000 values of `w` × 4,000 values of `k`), more "
                   "than 10,000,000 — give --set fewer values at a time\n")


def test_streaming_memory_stays_flat_in_the_number_of_points():
    from convcalc.render.emitters import emit
    from convcalc.render.sweep import SweepStream

    class Discard:
        lines = 0

        def write(self, text):
            self.lines += text.count("\n")

        def flush(self):
            pass

    def peak(points: int) -> int:
        _, stream = stream_points(FAILING, {"w": [str(i) for i in range(1, points // 4 + 1)],
                                            "k": ["1", "2", "3", "4"]})
        sink = Discard()
        tracemalloc.start()
        try:
            emit(SweepStream(stream), "jsonl", sink)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
            assert sink.lines == points

    peak(40)  # warm up: imports, caches
    small, large = peak(100), peak(1000)
    # kept points would cost ~500 bytes each: 450 KB more for the large grid
    assert large < small + 100_000, (small, large)


# ---- pickling ------------------------------------------------------------------------------------------------------
def test_a_network_loaded_from_a_file_pickles_with_its_marks(tmp_path):
    path = tmp_path / "net.yaml"
    path.write_text(FAILING.replace("{w: 4, k: 3}", "{w: 4, k: 3, bias: yes}")
                    + "  - {type: dropout, p: 0.5, when: bias}\n")
    network = load(str(path))
    copy = pickle.loads(pickle.dumps(network))
    assert (copy.name, copy.source, copy.vars) == ("t", str(path), {"w": 4, "k": 3, "bias": True})
    assert copy.vars["bias"].word == "yes"  # a YAML boolean keeps the word the user wrote
    assert copy.doc.mark == Mark(str(path), 1, 1) and copy.doc.mark_of("layers") == Mark(str(path), 5, 3)
    assert evaluate_point(copy, {"w": "8"}) == evaluate_point(network, {"w": "8"})
    assert evaluate_point(copy, {"w": "8"}).params == 8 * 27 + 8
    # an error raised after unpickling points where the original's does
    with pytest.raises(SpecError) as raised:
        evaluate_point(copy, {"k": "30"})
    assert str(raised.value).startswith(f"{path}:5:5: at k=30: layer `conv1` (conv): output size")
    with pytest.raises(SpecError) as original:
        evaluate_point(network, {"k": "30"})
    assert str(raised.value) == str(original.value)


def test_points_reports_and_errors_pickle():
    from convcalc.cost.analysis import analyze

    network = load("mobilenet_v1")
    report = analyze(network.expand({"alpha": "0.5"}))
    copy = pickle.loads(pickle.dumps(report))
    assert copy == report and copy.totals.params == 1_331_592
    point = evaluate_point(network, {"alpha": "0.5"})
    assert pickle.loads(pickle.dumps(point)) == point
    chunk = evaluate_points(pickle.loads(pickle.dumps(network)), [{"alpha": "0.5"}, {"alpha": "1.0"}])
    assert [p.macs for p in chunk] == [149_497_088, 568_740_352]
    error = SpecError("`p` must be below 1, got 2", Mark("net.yaml", 6, 24), "use a value < 1")
    again = pickle.loads(pickle.dumps(error))
    assert (again.message, again.mark, again.hint, str(again)) == (error.message, error.mark, error.hint,
                                                                   "net.yaml:6:24: `p` must be below 1, got 2 — use "
                                                                   "a value < 1")


def test_evaluate_points_raises_the_first_failing_points_error():
    network = load(FAILING)
    with pytest.raises(SpecError, match="at k=30: "):
        evaluate_points(network, [{"k": "3"}, {"k": "30"}, {"k": "40"}])


# ---- dask.distributed -------------------------------------------------------------------------------------------
def test_the_dask_example_of_the_docs_runs_on_a_local_cluster():
    pytest.importorskip("distributed")
    text = (ROOT / "docs" / "compare.md").read_text(encoding="utf-8")
    code = re.search(r"<!-- sweep-dask-example[^>]*-->\n```python\n(.*?)\n```", text, re.S).group(1)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    serial = sweep("mobilenet_v1", {"alpha": ["0.25", "0.5", "0.75", "1.0"],
                                    "resolution": ["128", "160", "192", "224"]})
    assert lines == [f"{p.values['alpha']} {p.values['resolution']} {p.params} {p.macs}" for p in serial.points]
    assert lines[-1] == "1.0 224 4231976 568740352"
    assert lines[11] == "0.75 224 2585560 325400448"


def test_the_core_never_imports_dask():
    code = ("import sys\nfrom typer.testing import CliRunner\nfrom convcalc.cli.app import app\n"
            "for fmt in ('table', 'jsonl'):\n"
            "    result = CliRunner().invoke(app, ['sweep', 'mobilenet_v1', '--set', 'alpha=0.5,1.0', '-f', fmt, "
            "'-j', '2'])\n"
            "    assert result.exit_code == 0, result.output\n"
            "bad = [m for m in ('dask', 'distributed', 'numpy') if m in sys.modules]\n"
            "assert not bad, bad\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
