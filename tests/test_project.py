"""Project defaults (convcalc/project.py): convcalc.toml or [tool.convcalc], found upward, for budgets, configs,
units and width; bad values are FILE:LINE:COL errors with exit code 2."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from convcalc import project
from convcalc.cli.app import app

from cli.test_entry import run_main

NET = "input: [3, 8, 8]\nlayers: [{type: conv, out: 8, kernel: 3}]\nbudgets: {params: 100}\n"  # 224 params


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """tmp/pyproject.toml, tmp/budgets.yaml, tmp/nets/mynet.yaml; the run happens in tmp/deep/down."""
    (tmp_path / "nets").mkdir()
    (tmp_path / "nets" / "mynet.yaml").write_text(NET)
    (tmp_path / "budgets.yaml").write_text("params: 10000\n")
    deep = tmp_path / "deep" / "down"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    monkeypatch.delenv("CONVCALC_CONFIGS", raising=False)
    project._CACHE.clear()
    yield tmp_path
    project._CACHE.clear()


def write(path, text):
    path.write_text(text)
    project._CACHE.clear()


def test_no_project_file_sets_nothing(tree):
    assert project.defaults().option_defaults() == {} and project.defaults().configs == ()


def test_pyproject_table_found_from_a_subfolder(tree):
    write(tree / "pyproject.toml", '[project]\nname = "x"\n\n[tool.convcalc]\nconfigs = "nets"\nunits = "K"\n'
                                   'budgets = "budgets.yaml"\nwidth = 100\n')
    found = project.defaults()
    assert found.source == str(tree / "pyproject.toml")
    assert found.configs == (str(tree / "nets"),)
    assert found.option_defaults() == {"budgets": str(tree / "budgets.yaml"), "units": "K", "width": 100}


def test_a_pyproject_without_the_table_is_not_parsed_and_the_search_goes_on(tree, monkeypatch):
    write(tree / "convcalc.toml", 'units = "M"\n')
    write(tree / "deep" / "pyproject.toml", "[project]\nname = 'not convcalc's = broken toml\n")
    assert project.defaults().units == "M"  # the broken pyproject.toml below it has no [tool.convcalc]


def test_convcalc_toml_wins_over_pyproject_in_the_same_folder(tree):
    write(tree / "pyproject.toml", '[tool.convcalc]\nunits = "G"\n')
    write(tree / "convcalc.toml", 'units = "raw"\n')
    assert project.defaults().units == "raw"


def test_the_commands_take_the_defaults(tree):
    write(tree / "convcalc.toml", 'configs = ["nets"]\nunits = "K"\nbudgets = "budgets.yaml"\n')
    result = CliRunner().invoke(app, ["analyze", "mynet"])  # a name from the project's configs
    assert result.exit_code == 0 and "0.224 K" in result.output  # 224 params in K
    result = CliRunner().invoke(app, ["analyze", "mynet", "--units", "raw"])  # the command line wins
    assert result.exit_code == 0 and "0.224 K" not in result.output and "224" in result.output
    result = CliRunner().invoke(app, ["check", "mynet"])  # the project's budgets file: 224 ≤ 10,000
    assert result.exit_code == 0 and "budgets.yaml" in result.output
    done = run_main(["analyze", "mynet"])  # the fast path too
    assert done.stderr.strip().splitlines()[-1] == "False False 0" and "0.224 K" in done.stdout


@pytest.mark.parametrize("text, message", [
    ('[tool.convcalc]\nunits = "Mega"\n', "pyproject.toml:2:9: `units` must be one of auto, raw, K, M, G, got 'Mega'"),
    ('[tool.convcalc]\nunit = "M"\n', "pyproject.toml:2:1: unknown key `unit` in [tool.convcalc] — did you mean `units`?"),
    ('[tool.convcalc]\n\nwidth = 5\n', "pyproject.toml:3:9: `width` must be a whole number of columns ≥ 20, got 5"),
    ('[tool.convcalc]\nwidth = true\n', "pyproject.toml:2:9: `width` must be a whole number of columns ≥ 20, got true"),
    ('[tool.convcalc]\nconfigs = ["nope"]\n', "pyproject.toml:2:11: `configs` names "),
    ('[tool.convcalc]\nbudgets = "none.yaml"\n', "pyproject.toml:2:11: `budgets` names "),
    ('[tool.convcalc]\nwidth = [\n', "pyproject.toml:2:10: not valid TOML"),
    ('[tool.convcalc]\nunits = "M" "K"\n', "pyproject.toml:2:13: not valid TOML"),
])
def test_bad_values_are_errors_with_their_position(tree, text, message):
    write(tree / "pyproject.toml", text)
    for run in (lambda: run_main(["analyze", "mynet"]), lambda: run_main(["zoo"])):
        done = run()
        assert done.stderr.startswith(f"error: {tree / message.split(':')[0]}:{message.split(':', 1)[1]}"), \
            done.stderr
        assert done.stderr.strip().splitlines()[-1].endswith(" 2") and "Traceback" not in done.stderr
