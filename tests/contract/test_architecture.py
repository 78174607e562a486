"""The architecture the tree promises, by direct inspection of the source: the runtime import
graph has no cycles, no module grows past the size that hides its concept, only the ASGI
edge (and the servers and test harnesses, which play the other side) builds ASGI messages,
and every test module says which layer it drives."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent.parent
PACKAGE = ROOT / "trioframe"
TESTS = ROOT / "tests"
#: Past this, a module holds more than one concept (see CONTRIBUTING.md).
MAX_MODULE_LINES = 500
#: What a test module may drive, as its docstring must name.
LAYERS = (
    "test client",
    "scripted ASGI peer",
    "wire harness",
    "loopback",
    "browser",
    "direct call",
    "direct inspection",
)
#: Code that may build or read ASGI messages: the edge, the server side of the wire, and
#: the module that types them.
ASGI_SIDES = ("_asgi/", "_server.py", "_protocol.py", "testing/", "_types.py")
ASGI_MESSAGE = re.compile(r"""["'](http|websocket|lifespan)\.[a-z.]+["']""")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def runtime_imports(path: Path) -> set[str]:
    """The trioframe modules ``path`` imports when it is imported: module-level imports
    only, leaving out those under ``if TYPE_CHECKING:`` and inside functions."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(statements: list[ast.stmt]) -> None:
        for node in statements:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                visit(node.orelse)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    base = f"{anchor}.{base}" if base else anchor
                found.add(base)
                found.update(f"{base}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Try | ast.If | ast.With):
                visit(node.body)

    visit(ast.parse(path.read_text()).body)
    return found


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def test_the_runtime_import_graph_has_no_cycles() -> None:
    known = modules()
    graph = {
        name: {target for target in runtime_imports(path) if target in known and target != name}
        for name, path in known.items()
    }
    # The package's own __init__ re-exports everything; importing it from inside would be
    # the cycle, so it is a node like any other.
    finished: set[str] = set()

    def walk(name: str, trail: list[str]) -> None:
        if name in trail:
            cycle = [*trail[trail.index(name) :], name]
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        if name in finished:
            return
        for target in sorted(graph[name]):
            walk(target, [*trail, name])
        finished.add(name)

    for name in graph:
        walk(name, [])
    assert "trioframe._asgi._translate" in graph["trioframe._asgi._http"]  # the walk saw edges


@pytest.mark.parametrize("name", list(modules()))
def test_no_module_is_over_the_size_limit(name: str) -> None:
    lines = modules()[name].read_text().count("\n")
    assert lines <= MAX_MODULE_LINES, f"{name} has {lines} lines; split it by concept"


def test_only_the_asgi_edge_builds_asgi_messages() -> None:
    builders = {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if ASGI_MESSAGE.search(path.read_text())
    }
    assert builders, "the pattern finds the messages the edge builds"
    strays = {path for path in builders if not path.startswith(ASGI_SIDES)}
    assert strays == set()


@pytest.mark.parametrize(
    "path", sorted(TESTS.rglob("test_*.py")), ids=lambda path: str(path.relative_to(TESTS))
)
def test_every_test_module_names_its_layer(path: Path) -> None:
    docstring = ast.get_docstring(ast.parse(path.read_text())) or ""
    assert any(layer in docstring for layer in LAYERS), (
        f"{path.relative_to(ROOT)} must open with a docstring naming the layer it drives: "
        + ", ".join(LAYERS)
    )


#: Errors whose message is the page a client sees: werkzeug's style, full sentences.
CLIENT_FACING = re.compile(
    r"(BadRequest|RequestEntityTooLarge|RequestTimeout|UnsupportedMediaType|UpgradeRequired|"
    r"RangeNotSatisfiable|PreconditionFailed|NotFound|ServiceUnavailable|InternalServerError|"
    r"MethodNotAllowed|JSONDecodeError)$"
)


#: Names that begin messages in their own (lower) case.
CODE = {"g", "trioframe"}


def message_text(node: ast.expr) -> str | None:
    """The literal text of a message argument, with ``{}`` for interpolated parts."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            str(part.value) if isinstance(part, ast.Constant) else "{}" for part in node.values
        )
    return None


def test_error_messages_share_one_style() -> None:
    """Errors for programmers start with a capital letter, or with the code they name (which
    keeps its case), say what to do after a semicolon, and end without a full stop."""
    strays = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
                continue
            name = ast.unparse(node.exc.func)
            text = message_text(node.exc.args[0]) if node.exc.args else None
            if text is None or CLIENT_FACING.search(name):
                continue
            first = text.split(" ")[0]
            code_like = first.startswith("{") or re.search(r"[._()\[\]'=]", first) is not None
            if text.endswith(".") or not (code_like or first[:1].isupper() or first in CODE):
                strays.append(f"{path.relative_to(ROOT)}:{node.lineno}: {text[:60]!r}")
    assert strays == []


def test_the_folder_map_names_every_module() -> None:
    """CONTRIBUTING.md's map of the package stays true as modules come and go."""
    folder_map = (ROOT / "CONTRIBUTING.md").read_text()
    unmapped = [
        str(path.relative_to(PACKAGE))
        for path in sorted(PACKAGE.rglob("*.py"))
        if "testing" not in path.parts and path.name not in folder_map
    ]
    assert unmapped == []
