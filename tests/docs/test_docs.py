"""The documentation builds cleanly, and every piece of code it shows is checked.

The docs are built with Sphinx and their shell commands checked by direct calls of the
programs they name (the served ones over the wire harness). Python comes from files the
test suite runs (``docs/snippets`` and ``examples``), included
with ``literalinclude``; the README's Python must match those files word for word.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import trioframe
from tests.support.public_api import PUBLIC_MODULES
from trioframe._cli import main
from trioframe._config import _SETTING_RULES, checked_setting

if TYPE_CHECKING:
    import argparse

ROOT = Path(__file__).parent.parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.rst"))
#: The folders whose Python the test suite runs; the docs may include code from them only.
TESTED_CODE = (DOCS / "snippets", ROOT / "examples")
CI_RUN = ROOT / ".ci" / "run"
#: Members the API reference must render although their classes inherit them.
INHERITED_MEMBERS = (
    "Trioframe.route",
    "Trioframe.get",
    "Trioframe.websocket",
    "Trioframe.errorhandler",
    "Trioframe.before_request",
    "Blueprint.route",
    "Request.args",
    "Request.headers",
    "Request.method",
    "Websocket.args",
    "HTTPException.headers",
)
#: How the docs are built, here and in the README.
SPHINX_BUILD = ["-m", "sphinx", "-W", "-b", "html", "docs"]


def code_blocks(text: str, language: str) -> list[str]:
    """The contents of the ``.. code-block:: <language>`` blocks of an rst page."""
    blocks = []
    pattern = rf"^( *)\.\. code-block:: {language}\n\n((?:\1    .*\n|\n)+)"
    for match in re.finditer(pattern, text, re.M):
        indent = len(match.group(1)) + 4
        lines = [line[indent:] for line in match.group(2).splitlines()]
        blocks.append("\n".join(lines).strip())
    return blocks


def test_the_docs_build_without_warnings(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, *SPHINX_BUILD, str(tmp_path / "html")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    api = (tmp_path / "html" / "api.html").read_text()
    for module in PUBLIC_MODULES:
        for name in module.__all__:
            assert f'id="{module.__name__}.{name}"' in api, f"{name} is not in docs/api.rst"
    # Inherited members are rendered too: what an app shares with blueprints, and what a
    # request takes from werkzeug.
    for member in INHERITED_MEMBERS:
        assert f'id="trioframe.{member}"' in api, f"{member} is not rendered in docs/api.rst"
    examples = api.count('<p class="rubric">Example</p>')
    assert examples >= 10, "the most used entries each carry an example"


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_python_in_the_docs_comes_from_tested_files(page: Path) -> None:
    text = page.read_text()
    languages = set(re.findall(r"^\s*\.\. code-block:: (\S+)", text, re.M))
    assert languages <= {"sh"}, f"{page.name}: include code from docs/snippets instead"
    literal_blocks = re.findall(r"::\n\n +\S", text)
    assert not literal_blocks, f"{page.name} has a literal block; include code instead"
    for target in re.findall(r"^\s*\.\. literalinclude:: (\S+)", text, re.M):
        path = (DOCS / target).resolve()
        assert path.is_file(), f"{page.name} includes {target}, which does not exist"
        assert any(folder in path.parents for folder in TESTED_CODE), (
            f"{page.name} includes {target}, which the test suite does not run"
        )


def test_the_readme_python_is_tested_code() -> None:
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    assert blocks
    sources = [path.read_text() for folder in TESTED_CODE for path in folder.rglob("*.py")]
    for block in blocks:
        assert any(block.strip() in source for source in sources), (
            f"this README example is not in docs/snippets or examples:\n{block}"
        )


def shell_commands() -> list[tuple[str, str]]:
    commands = []
    for page in PAGES:
        for block in code_blocks(page.read_text(), "sh"):
            for line in block.splitlines():
                command = line.split("#", 1)[0].strip()
                if command:
                    commands.append((page.name, command))
    for name in ("README.md", "CONTRIBUTING.md"):
        text = (ROOT / name).read_text()
        for block in re.findall(r"```sh\n(.*?)```", text, re.S)[1:]:  # the first: set-up
            for line in block.splitlines():
                commands += [(name, command.strip()) for command in line.split("&&")]
    return [(page, command) for page, command in commands if command]


def bench_arguments(script: str = "bench.py") -> argparse.ArgumentParser:
    """The command-line parser of a script in bench/: the benchmark or the attack harness."""
    spec = importlib.util.spec_from_file_location("bench_cli", ROOT / "bench" / script)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_cli"] = module  # dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
        parser: argparse.ArgumentParser = module.argument_parser()
    finally:
        del sys.modules["bench_cli"]
    return parser


def hypercorn_options() -> set[str]:
    result = subprocess.run(
        [sys.executable, "-m", "hypercorn", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return set(re.findall(r"(--[a-z][a-z-]*)", result.stdout))


def check_environment_setting(page: str, assignment: str) -> None:
    """``TRIOFRAME_KEY=value`` must set a setting trioframe has, to a value it accepts, as
    ``app.config.from_prefixed_env()`` reads it; or name the app, or an option of
    ``trioframe run``, as the command line reads them."""
    name, raw = assignment.split("=", 1)
    assert name.startswith("TRIOFRAME_"), f"{page}: {name} is not a trioframe setting"
    key = name.removeprefix("TRIOFRAME_")
    if key == "APP":  # the command line's --app
        return
    if key.startswith("RUN_"):  # an option of 'trioframe run'
        option = "--" + key.removeprefix("RUN_").lower().replace("_", "-")
        options = {opt for param in main.commands["run"].params for opt in param.opts}
        assert option in options, f"{page}: 'trioframe run' has no {option} for {name}"
        return
    config = trioframe.Trioframe("docs").config
    assert key in config, f"{page}: there is no setting {key}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(name, raw)
        config.from_prefixed_env()
    if key in _SETTING_RULES:
        checked_setting(config, key)  # raises SetupError on a value trioframe refuses


def check_pip_install(page: str, words: list[str]) -> None:
    """``pip install`` and ``pip wheel`` must install trioframe (by name, from a checkout or
    from its wheel) with extras the project has, and use only options pip has."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert words[1] in ("install", "wheel"), f"{page}: pip {words[1]}?"
    arguments = words[2:]
    while arguments and arguments[0].startswith("-"):
        option = arguments.pop(0)
        assert option in ("-e", "--no-deps", "-w"), f"{page}: pip has no {option} here"
        if option == "-w":
            arguments.pop(0)  # the wheel directory
    assert arguments, f"{page}: pip {words[1]} what?"
    for word in arguments:
        found = re.fullmatch(r"(.*?)(?:\[([a-z,]+)\])?", word)
        assert found is not None
        target, named = found.group(1), found.group(2) or ""
        assert target in ("trioframe", ".") or target.endswith(("trioframe", ".whl")), (
            f"{page}: install trioframe itself (a checkout, its wheel), not {word!r}"
        )
        if target.endswith(".whl"):
            assert Path(target).name.startswith(f"trioframe-{trioframe.__version__}-"), (
                f"{page}: the wheel of this version is named trioframe-{trioframe.__version__}"
            )
        for extra in filter(None, named.split(",")):
            assert extra in extras, f"{page}: trioframe has no extra {extra!r}"


@pytest.mark.parametrize(("page", "command"), shell_commands())
def test_shell_commands_in_the_docs_are_valid(page: str, command: str) -> None:
    words = shlex.split(command)
    if words[0] == "export":
        words = words[1:]
        assert words, f"{page}: export what?"
    while words and re.fullmatch(r"[A-Z][A-Z0-9_]*=.*", words[0]):
        check_environment_setting(page, words.pop(0))
    if not words:
        return
    program = words[0].rsplit("/", 1)[-1]
    if program == "trioframe":
        name, *args = words[1:]
        subcommand = main.commands[name]
        subcommand.make_context(name, args)  # raises on an unknown option or argument
    elif program == "hypercorn":
        options = {word.split("=", 1)[0] for word in words if word.startswith("--")}
        assert options <= hypercorn_options()
    elif program == "python" and words[1:3] == ["-m", "pytest"]:
        assert words[3:], f"{page}: name the tests to run"
        for path in words[3:]:
            assert (ROOT / path.split("::")[0]).exists(), f"{page}: there is no {path}"
    elif program == "python":
        assert words[1:-1] == SPHINX_BUILD, f"{page}: build the docs as the tests do"
    elif program in ("ruff", "mypy"):
        assert command in CI_RUN.read_text(), f"{page}: run {program} as .ci/run does"
    elif program == "pip":
        check_pip_install(page, words)
    elif program == "bash" and words[1] == ".ci/run":
        assert words[2:] == []
    elif program == "bash" and words[1] == "bench/run":
        bench_arguments().parse_args(words[2:])  # exits on an unknown option
    elif program == "bash" and words[1] == "bench/attacks/run":
        bench_arguments("attacks/attack.py").parse_args(words[2:])
    else:
        pytest.fail(f"{page}: the docs show '{command}', which no test checks")


def rendered_test_snippets() -> list[tuple[str, str, str]]:
    """Each region of a ``*_tests.py`` file a page shows: (page, file, marker)."""
    found = []
    for page in PAGES:
        text = page.read_text()
        pattern = r"^\s*\.\. literalinclude:: (\S+_tests\.py)\n\s+:start-after: (.+)\n"
        for target, marker in re.findall(pattern, text, re.M):
            found.append((page.name, target, marker.strip()))
    return found


@pytest.mark.parametrize(("page", "target", "marker"), rendered_test_snippets())
def test_a_rendered_test_carries_its_imports(page: str, target: str, marker: str) -> None:
    """A test the docs show runs when copied: every name it uses is imported or defined
    in what is shown (pytest fixtures are its parameters)."""
    source = (DOCS / target).read_text()
    start = source.index(marker) + len(marker)
    end = source.index(marker.replace("start", "end"), start)
    shown = "from __future__ import annotations\n" + source[start:end]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--isolated",
            "--select",
            "F821",
            "--stdin-filename",
            "shown.py",
            "-",
        ],
        input=shown,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"{page} shows {target} ({marker}) without:\n{result.stdout}"
