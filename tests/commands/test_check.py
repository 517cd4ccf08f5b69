"""`convcalc check` through the CLI (typer's CliRunner): every exit code, every format, the baseline gate,
several specs. Numbers of the fixture network are worked out in tests/budgets/helpers.py's docstring.

Line numbers used below, from the fixture files:

* over.yaml: conv1 line 7, conv2 line 9, fc line 13; budgets params 15, macs 16, flops 17, activation_bytes 18,
  layer_max rules 20 (`{macs: 1M}`) and 21 (`conv*`, activation_bytes 48KiB), min_rf 22.
* budgets.yaml: params 4, peak_activation_bytes 5, tiny's macs 8, tiny's max_increase 9.
* repeated.yaml: the repeated conv `body` on line 6.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convcalc.cli.app import app

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "check"
TINY, OVER, REPEATED = (str(FIXTURES / f"{name}.yaml") for name in ("tiny", "over", "repeated"))
BAD_VALUE, BAD_KEY, NO_BUDGETS = (str(FIXTURES / f"{name}.yaml") for name in ("bad_value", "bad_key", "no_budgets"))
BUDGETS, BASELINE = str(FIXTURES / "budgets.yaml"), str(FIXTURES / "baseline_tiny.json")


@pytest.fixture(autouse=True)
def no_step_summary(monkeypatch):
    """Running these tests inside GitHub Actions must not write to the real step summary."""
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)


def run(*args: str, env: dict | None = None):
    return CliRunner().invoke(app, ["check", *args], env=env)


def annotations(stdout: str) -> list[tuple[str, dict, str]]:
    """Parse ``::level k=v,k=v::message`` lines into (level, properties, message), unescaping GitHub's %XX."""
    out = []
    for line in stdout.splitlines():
        match = re.match(r"^::(\w+) ?([^:]*)::(.*)$", line)
        if match:
            props = dict(p.split("=", 1) for p in match[2].split(",") if p)
            props = {k: v.replace("%3A", ":").replace("%2C", ",").replace("%25", "%") for k, v in props.items()}
            out.append((match[1], props, match[3].replace("%25", "%")))
    return out


# ---- exit codes --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("specs, code", [
    ([TINY], 0),
    ([OVER], 1),
    ([BAD_VALUE], 2),
    ([BAD_KEY], 2),
    ([NO_BUDGETS], 2),
    ([TINY, OVER], 1),             # several specs: the worst code wins
    ([TINY, OVER, BAD_KEY], 2),
    ([BAD_KEY, TINY], 2),
])
def test_exit_codes(specs, code):
    assert run(*specs).exit_code == code


def test_bad_input_gives_file_line_col_on_stderr():
    result = run(BAD_VALUE)
    assert result.exit_code == 2
    assert f"error: {BAD_VALUE}:8:9: `macs: 600Q`: unknown suffix `Q`" in result.stderr
    result = run(BAD_KEY)
    assert f"error: {BAD_KEY}:7:3: unknown budget `mac` — did you mean `macs`?" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize("args, fragment", [
    (["--max", "mac=5M"], "--max mac=5M: unknown budget `mac` — did you mean `macs`?"),
    (["--max", "params=5Q"], "unknown suffix `Q`"),
    (["--max-increase", "macs=2%"], "--max-increase needs --baseline"),
    (["--baseline", "nowhere.json", "--max-increase", "macs=2%"], "--baseline nowhere.json: no such file"),
    (["--budgets", "nowhere.yaml"], "cannot read the budgets file nowhere.yaml"),
    (["--min-rf", "big"], "--min-rf big: need whole sizes"),
    (["--set", "nope=1"], "no var named `nope`"),
    (["--baseline", BASELINE], "--baseline given but no `max_increase` budget applies"),
])
def test_bad_options_exit_2(args, fragment):
    result = run(TINY, *args)
    assert result.exit_code == 2 and fragment in result.stderr, result.stderr


def test_bad_budgets_file_points_at_its_line(tmp_path):
    bad = tmp_path / "b.yaml"
    bad.write_text("budgets:\n  params: 5M\n  flopz: 1G\n")
    result = run(TINY, "--budgets", str(bad))
    assert result.exit_code == 2
    assert f"{bad}:3:3: unknown budget `flopz` — did you mean `flops`?" in result.stderr
    result = run(TINY, "--budgets", str(bad), "--format", "github")
    ((level, props, message),) = annotations(result.stdout)
    assert level == "error" and props["file"] == str(bad) and props["line"] == "3" and "flopz" in message


def test_help_documents_the_exit_codes():
    result = CliRunner().invoke(app, ["check", "--help"])
    text = " ".join(result.stdout.split())
    assert result.exit_code == 0
    assert "0 every budget is met" in text and "1 a budget is exceeded" in text and "2 bad input" in text


# ---- formats -----------------------------------------------------------------------------------------------------
def test_table_lists_actual_limit_excess_and_top_layers():
    result = run(OVER)
    out = result.stdout
    assert "over (" in out and "6 of 7 budgets exceeded" in out
    # params 5,370 against 5K: (5,370 − 5,000)/5,000 = 7.40% over; conv2 4,608/5,370 = 85.81% of the params
    assert re.search(r"FAIL\s+params ≤ 5K\s+5,370 \(5\.37 K\), 7\.40% over\s+\S*over\.yaml:15", out)
    assert "top layers: conv2 4.61 K (85.81%), conv1 432 (8.04%), fc 330 (6.15%)" in out
    # flops 3,277,450 against 4M: 81.94% of the limit
    assert re.search(r"PASS\s+flops ≤ 4M\s+3,277,450 \(3\.28 M\), 81\.94% of the limit", out)
    assert "35×35 at `fc`, 12.50% short" in out
    assert out.rstrip().endswith("Checked 1 spec: 0 within budget, 1 over budget, 0 bad input. Exit code 1.")


def test_json_has_exact_numbers():
    result = run(OVER, "--format", "json")
    data = json.loads(result.stdout)
    assert data["exit_code"] == 1 and data["summary"] == {"specs": 1, "pass": 0, "fail": 1, "error": 0,
                                                          "skipped": 0}
    (spec,) = data["specs"]
    budgets = {b["key"]: b for b in spec["budgets"]}
    macs = budgets["macs"]
    assert (macs["status"], macs["actual"], macs["limit"], macs["line"], macs["column"]) == (
        "fail", 1_622_336, 1_500_000, 16, 3)
    assert macs["excess_percent"] == pytest.approx(8.1557, abs=1e-4)  # 122,336/1,500,000
    assert [(c["name"], c["value"]) for c in macs["contributors"]] == [
        ("conv2", 1_179_648), ("conv1", 442_368), ("fc", 320)]
    glob = budgets["layer_max[conv*].activation_bytes"]
    assert [(o["name"], o["value"], o["line"]) for o in glob["offenders"]] == [("conv1", 65_536, 7)]
    assert budgets["min_rf"]["actual"] == [35, 35] and budgets["min_rf"]["limit"] == [40, 32]
    assert budgets["flops"]["status"] == "pass"


def test_json_reports_bad_input_per_spec():
    data = json.loads(run(TINY, BAD_KEY, "--format", "json").stdout)
    assert [s["status"] for s in data["specs"]] == ["pass", "error"]
    error = data["specs"][1]["error"]
    assert (error["file"], error["line"], error["column"]) == (BAD_KEY, 7, 3)
    assert data["exit_code"] == 2


def test_junit_parses_with_one_testcase_per_budget():
    result = run(TINY, OVER, BAD_KEY, "--format", "junit")
    assert result.exit_code == 2
    root = ET.fromstring(result.stdout)
    assert root.tag == "testsuites"
    # tiny: 6 budgets, all pass; over: 7 budgets, 6 fail; bad_key: one testcase with an error
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("14", "6", "1")
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == {"tiny", "over", "bad_key"}
    over = suites["over"]
    cases = over.findall("testcase")
    assert len(cases) == 7 and over.get("failures") == "6"
    failed = {c.get("name"): c for c in cases if c.find("failure") is not None}
    assert set(failed) == {"params ≤ 5K", "macs ≤ 1.5M", "activation_bytes ≤ 192KiB", "layer_max.macs ≤ 1M",
                           "layer_max.activation_bytes ≤ 48KiB (layers conv*)", "min_rf ≥ 40×32"}
    macs = failed["macs ≤ 1.5M"]
    assert (macs.get("file"), macs.get("line")) == (OVER, "16")
    assert "by 8.16%" in macs.find("failure").get("message")
    assert [c.find("failure") for c in suites["tiny"].findall("testcase")] == [None] * 6
    (bad,) = suites["bad_key"].findall("testcase")
    assert bad.find("error") is not None and bad.get("line") == "7"


def test_github_annotations_point_at_budget_and_layer_lines():
    result = run(OVER, "--format", "github")
    assert result.exit_code == 1
    found = [(level, props["file"], int(props.get("line", 0)), message) for level, props, message
             in annotations(result.stdout)]
    assert all(level == "error" and file == OVER for level, file, _, _ in found)
    # totals and min_rf at the budget's line; layer_max at the offending layer's line (conv2 9, conv1 7)
    assert [line for _, _, line, _ in found] == [15, 16, 18, 9, 7, 22]
    assert "params 5,370 (5.37 K) is over the limit 5K (= 5,000) by 7.40%" in found[0][3]
    assert "`conv2` has 1,179,648 (1.18 M), 17.96% over layer_max.macs ≤ 1M" in found[3][3]
    assert result.stdout.rstrip().endswith("Exit code 1.")


def test_github_budgets_file_lines_and_skipped_warnings():
    result = run(TINY, "--budgets", BUDGETS, "--format", "github")
    assert result.exit_code == 1
    found = [(level, props["file"], int(props["line"])) for level, props, _ in annotations(result.stdout)]
    # The file's budgets replace the spec's in place (spec order: params, macs, weight_bytes, peak, …):
    # tiny's macs (1,622,336 > 1.6M) at budgets.yaml:8, peak (131,072 > 100 KiB) at :5; the two
    # max_increase budgets (line 9) are skipped without --baseline
    assert found == [("error", BUDGETS, 8), ("error", BUDGETS, 5), ("warning", BUDGETS, 9), ("warning", BUDGETS, 9)]


def test_skipped_budgets_in_table_junit_and_markdown():
    """budgets.yaml's two max_increase budgets for tiny, without --baseline: each is reported as skipped."""
    table = run(TINY, "--budgets", BUDGETS).stdout
    assert re.search(r"SKIP\s+params ≤ baseline \+0%\s+skipped: no baseline: pass --baseline REPORT\.json\s+"
                     r"\S*budgets\.yaml:9", table)
    root = ET.fromstring(run(TINY, "--budgets", BUDGETS, "--format", "junit").stdout)
    assert root.get("skipped") == "2"
    skipped = [c.find("skipped").get("message") for c in root.iter("testcase") if c.find("skipped") is not None]
    assert skipped == ["no baseline: pass --baseline REPORT.json"] * 2
    markdown = run(TINY, "--budgets", BUDGETS, "--format", "markdown").stdout
    assert "| ⏭️ | macs ≤ baseline +2% | – | – |  |" in markdown


def test_github_groups_repeated_layers_on_their_line():
    result = run(REPEATED, "--format", "github")
    ((level, props, message),) = annotations(result.stdout)
    # body.0..2: 8·8·9·256 = 147,456 MACs each > 100,000 (47.46% over)
    assert (level, props["file"], props["line"]) == ("error", REPEATED, "6")
    assert "3 layers defined here" in message and "body.0" in message and "body.2" in message
    assert "the worst by 47.46%" in message


def test_markdown_for_pull_requests():
    result = run(TINY, OVER, "--format", "markdown")
    out = result.stdout
    assert out.startswith("## ❌ convcalc check")
    assert "| ❌ | macs ≤ 1.5M | 1.62 M | 1.50 M | 8.16% |" in out
    assert "| ✅ | params ≤ 10K | 5.37 K | 10.00 K |  |" in out
    assert "Checked 2 specs: 1 within budget, 1 over budget, 0 bad input. Exit code 1." in out


def test_step_summary_from_option_and_environment(tmp_path):
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    assert run(TINY, "--summary", str(summary)).exit_code == 0
    text = summary.read_text()
    assert text.startswith("earlier step\n## ✅ convcalc check")
    env_summary = tmp_path / "env.md"
    result = run(OVER, "--format", "github", env={"GITHUB_STEP_SUMMARY": str(env_summary)})
    assert result.exit_code == 1 and "| ❌ | params ≤ 5K |" in env_summary.read_text()


def test_step_summary_is_the_markdown_report(tmp_path):
    """Whatever --format is, the summary appended is the text of --format markdown (then a blank line, so that the
    next step's summary starts apart)."""
    summary = tmp_path / "summary.md"
    for fmt in ("table", "github", "markdown"):
        summary.write_text("")
        result = run(TINY, OVER, "--format", fmt, "--summary", str(summary))
        assert summary.read_text() == run(TINY, OVER, "--format", "markdown").stdout + "\n", fmt
    assert result.stdout + "\n" == summary.read_text()


@pytest.mark.parametrize("fmt", ["table", "json", "junit", "markdown"])
def test_bad_options_leave_stdout_empty_but_in_the_github_format(fmt):
    result = run(TINY, "--max", "mac=5M", "--format", fmt)
    assert result.exit_code == 2 and result.stdout == "" and "unknown budget `mac`" in result.stderr


# ---- regression gate ---------------------------------------------------------------------------------------------
def test_baseline_gate_from_analyze_json(tmp_path):
    """The documented workflow: analyze → baseline.json, then check --baseline --max-increase."""
    baseline = tmp_path / "baseline.json"
    made = CliRunner().invoke(app, ["analyze", TINY, "--set", "classes=9", "--format", "json"])
    assert made.exit_code == 0
    baseline.write_text(made.stdout)
    # 9 → 10 classes: params 5,337 → 5,370 (+0.62%), MACs 1,622,304 → 1,622,336 (+0.002%)
    passing = run(TINY, "--baseline", str(baseline), "--max-increase", "macs=2%", "--max-increase", "params=1%")
    assert passing.exit_code == 0
    failing = run(TINY, "--baseline", str(baseline), "--max-increase", "macs=2%", "--max-increase", "params=0%",
                  "--format", "json")
    assert failing.exit_code == 1
    budgets = {b["key"]: b for b in json.loads(failing.stdout)["specs"][0]["budgets"]}
    params = budgets["max_increase.params"]
    assert (params["status"], params["actual"], params["baseline"], params["limit"]) == ("fail", 5_370, 5_337, 5_337)
    assert params["change_percent"] == pytest.approx(0.6183, abs=1e-4)  # 33/5,337
    assert [(c["name"], c["value"]) for c in params["contributors"]] == [("fc", 33)]
    assert budgets["max_increase.macs"]["status"] == "pass"
    # the same run with the spec's own budgets unchanged: tiny passes them all, so only the gate fails
    assert all(b["status"] == "pass" for k, b in budgets.items() if k != "max_increase.params")


def test_baseline_directory_for_several_specs(tmp_path):
    (tmp_path / "tiny.json").write_text((FIXTURES / "baseline_tiny.json").read_text())
    (tmp_path / "repeated.json").write_text(
        CliRunner().invoke(app, ["analyze", REPEATED, "--format", "json"]).stdout)
    result = run(TINY, REPEATED, "--baseline", str(tmp_path), "--max-increase", "macs=0%", "--format", "json")
    data = json.loads(result.stdout)
    # tiny: +32 MACs over its baseline → fail; repeated: no change → the gate passes (its layer_max still fails)
    gates = [{b["key"]: b["status"] for b in s["budgets"]}["max_increase.macs"] for s in data["specs"]]
    assert gates == ["fail", "pass"] and result.exit_code == 1
    one_file = run(TINY, REPEATED, "--baseline", BASELINE, "--max-increase", "macs=0%")
    assert one_file.exit_code == 2 and "pass a directory" in one_file.stderr


# ---- several specs and the common options -------------------------------------------------------------------------
def test_several_specs_with_summary():
    result = run(TINY, OVER, NO_BUDGETS)
    assert result.exit_code == 2
    assert result.stdout.rstrip().endswith(
        "Checked 3 specs: 1 within budget, 1 over budget, 1 bad input. Exit code 2.")


def test_command_line_budgets_apply_to_every_spec():
    # --max params=5K: tiny (5,370) and over (5,370) both exceed it; no_budgets (8·3·3·3 = 216 weights + 8
    # biases = 224 params) meets it
    result = run(TINY, NO_BUDGETS, "--max", "params=5K", "--format", "json")
    data = json.loads(result.stdout)
    params = [{b["key"]: b for b in s["budgets"]}["params"] for s in data["specs"]]
    assert [(p["actual"], p["status"], p["origin"]) for p in params] == [
        (5_370, "fail", "--max params=5K"), (224, "pass", "--max params=5K")]
    assert params[0]["file"] == TINY and params[0]["line"] is None


def test_set_input_and_batch_are_applied():
    # width 8: conv1 8·27 = 216 params, conv2 16·8·9 = 1,152, fc 16·10 + 10 = 170 → 1,538 params
    result = run(TINY, "--set", "width=8", "--max", "params=1538", "--format", "json")
    assert result.exit_code == 0
    # batch 2 doubles the MACs: 2·1,622,336 = 3,244,672 > 2M
    data = json.loads(run(TINY, "--batch", "2", "--format", "json").stdout)
    macs = {b["key"]: b for b in data["specs"][0]["budgets"]}["macs"]
    assert (macs["actual"], macs["status"]) == (3_244_672, "fail")
    # a 64×64 input: conv1 432·4,096 = 1,769,472 MACs, conv2 (32×32 out) 4,608·1,024 = 4,718,592, fc 320:
    # 6,488,384 in all; the RF after global pooling over 32×32 is 5 + 31·2 = 67
    data = json.loads(run(TINY, "--input", "3x64x64", "--format", "json").stdout)
    budgets = {b["key"]: b for b in data["specs"][0]["budgets"]}
    assert budgets["macs"]["actual"] == 6_488_384 and budgets["min_rf"]["actual"] == [67, 67]


def test_skip_unbudgeted_for_pre_commit(tmp_path):
    workflow = tmp_path / "ci.yaml"
    workflow.write_text("on: push\njobs: {}\n")
    result = run(TINY, NO_BUDGETS, str(workflow), "--skip-unbudgeted")
    assert result.exit_code == 0
    # three files, two of them specs: the workflow is no spec, so not counted as one
    assert ("Checked 2 specs (1 other file skipped: not a convcalc spec): 1 within budget, 0 over budget, 0 bad "
            "input, 1 skipped (no budgets).") in result.stdout
    # a real spec with a broken budget is still bad input
    assert run(BAD_KEY, str(workflow), "--skip-unbudgeted").exit_code == 2


# ---- integration files -------------------------------------------------------------------------------------------
ROOT = Path(__file__).resolve().parents[2]


def test_pre_commit_hook_definition():
    import yaml

    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert (hook["id"], hook["entry"], hook["language"]) == ("convcalc-check", "convcalc check", "python")
    files = re.compile(hook["files"])
    assert files.search("models/net.yaml") and files.search("net.yml") and not files.search("net.json")
    assert hook["args"] == ["--skip-unbudgeted"]


@pytest.mark.parametrize("doc", ["README.md", "docs/check.md"])
def test_documented_workflow_is_valid_and_runs_check_with_annotations(doc):
    import yaml

    text = (ROOT / doc).read_text()
    blocks = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", text, re.S) if "runs-on" in b]
    assert blocks, f"{doc} has no GitHub Actions workflow"
    steps = blocks[0]["jobs"]["budgets"]["steps"]
    uses = [s.get("uses", "").split("@")[0] for s in steps]
    runs = " ".join(s.get("run", "") for s in steps)
    assert "actions/checkout" in uses and "actions/setup-python" in uses
    assert "pip install" in runs and "convcalc check" in runs and "--format github" in runs


def test_a_broken_spec_without_budgets_reports_the_spec_error(tmp_path):
    """Without budgets the answer is still the spec's own error (it said only "no budgets")."""
    path = tmp_path / "broken.yaml"
    path.write_text("name: broken\ninput: [3, 8, 8]\nlayers:\n  - {type: conv, out: \"1 +\", kernel: 3}\n")
    result = run(str(path))
    assert result.exit_code == 2
    # line 4: `  - {type: conv, out: ` is 22 characters → col 23
    assert f"{path}:4:23: cannot parse the expression `1 +`" in result.output
    assert "no budgets" not in result.output


WORDING = """\
name: worded
input: [3, 8, 8]
layers:
  - {type: conv, name: c1, out: 4, kernel: 3, padding: 1}
budgets:
  params: 1K
  macs: 10K
  max_increase: {macs: 2%}
"""
# c1: 4·3·9 + 4 = 112 params ≤ 1K, 4·64·27 = 6,912 MACs ≤ 10K; max_increase has no --baseline: skipped


def test_a_skipped_budget_is_not_counted_as_within(tmp_path):
    path = tmp_path / "worded.yaml"
    path.write_text(WORDING)
    result = run(str(path))
    assert result.exit_code == 0
    assert f"worded ({path}): within 2 budgets, 1 skipped\n" in result.stdout  # not "within all 3 budgets"
    one = tmp_path / "one.yaml"
    one.write_text(WORDING.replace("  macs: 10K\n  max_increase: {macs: 2%}\n", ""))
    assert f"worded ({one}): within its budget\n" in run(str(one)).stdout  # not "within all 1 budgets"


TWO_BAD = """\
name: two_bad
input: [3, 8, 8]
layers:
  - {type: conv, name: c1, out: 4, kernel: 3, padding: 1}
budgets:
  mac: 600M
  params: 5Q
  layer_max: {layers: "nothere.*", macs: 1M}
  flops: 1G
"""


def test_every_error_of_a_spec_is_reported(tmp_path):
    path = tmp_path / "two_bad.yaml"
    path.write_text(TWO_BAD)
    result = run(str(path))
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert [line.split(": ", 2)[1] for line in errors] == [f"{path}:6:3", f"{path}:7:11", f"{path}:8:23"]
    assert "unknown budget `mac` — did you mean `macs`?" in errors[0]
    assert "unknown suffix `Q`" in errors[1] and "`layers: nothere.*` matches no layer" in errors[2]
    assert result.stdout.count("  ERROR ") == 3
    assert "PASS  flops ≤ 1G" in result.stdout  # the good budget is still checked (2·6,912 + 256 = 14,080 FLOPs)
    data = json.loads(run(str(path), "--format", "json").stdout)
    (spec,) = data["specs"]
    assert [(e["line"], e["column"]) for e in spec["errors"]] == [(6, 3), (7, 11), (8, 23)]
    assert spec["error"] == spec["errors"][0]
    github = run(str(path), "--format", "github").stdout
    assert [line.split("::")[1].split(",")[1] for line in github.splitlines()
            if line.startswith("::error")] == ["line=6", "line=7", "line=8"]


def test_every_bad_budget_of_a_budgets_file_is_reported(tmp_path):
    path = tmp_path / "budgets.yaml"
    path.write_text("budgets:\n  params: 5Q\nspecs:\n  tiny: {mac: 1G}\n  other: {macs: 4G}\n")
    result = run(TINY, "--budgets", str(path), "--format", "github")
    assert result.exit_code == 2
    assert [line.split(",")[1] for line in result.stdout.splitlines()] == ["line=2", "line=4"]
    assert [line.split(": ", 2)[1] for line in result.stderr.splitlines()] == [f"{path}:2:11", f"{path}:4:10"]  # `  tiny: {` is 9 characters
