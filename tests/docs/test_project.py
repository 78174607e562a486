"""The README's promises about the repository itself, by direct inspection of its files."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from trioframe._cli import main

ROOT = Path(__file__).parent.parent.parent


def _readme_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    first_block = re.search(r"```sh\n(.*?)```", readme, re.DOTALL)
    assert first_block is not None, "the README starts with a shell block of set-up commands"
    return [line for line in first_block.group(1).splitlines() if line and not line.startswith("#")]


def test_readme_starts_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    assert readme.index("```sh") < readme.index("## ")
    serve, test = _readme_commands()
    assert "pip install ." in serve
    assert "trioframe run " in serve  # hypercorn's trio worker, on 127.0.0.1:5000
    assert "'.[dev]'" in test
    assert "pytest" in test


def test_ci_runs_the_readme_test_command() -> None:
    _, test = _readme_commands()
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test in ci


def test_the_served_example_exists() -> None:
    serve, _ = _readme_commands()
    target = serve.rsplit(" ", 1)[-1]
    path, _, attribute = target.partition(":")
    assert (ROOT / path).is_file()
    assert f"{attribute} = Trioframe(" in (ROOT / path).read_text()


def test_the_run_command_serves_where_the_readme_says() -> None:
    run = main.commands["run"]
    defaults = {param.name: param.default for param in run.params}
    assert (defaults["host"], defaults["port"]) == ("127.0.0.1", 5000)


def test_an_app_s_tests_need_only_the_testing_extra() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    names = {re.split(r"[<>=\[]", requirement)[0] for requirement in extras["testing"]}
    assert names == {"pytest", "pytest-trio"}  # not the contributors' linters or Sphinx
    assert "trioframe[dotenv,redis,testing]" in extras["dev"]
