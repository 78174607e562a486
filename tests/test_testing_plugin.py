"""The pytest plugin, as a user's test suite sees it: pytest runs in a subprocess on a small
project (pytester), whose tests drive their app through the test client and the plugin's
fixtures."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.support.loopback import ROOT

if TYPE_CHECKING:
    import pytest

FACTORY = """
from trioframe import Trioframe, websocket

made = []


def create_app() -> Trioframe:
    app = Trioframe(__name__)
    made.append(app)

    @app.get("/")
    async def index() -> str:
        return "hello"

    @app.websocket("/slow")
    async def slow() -> None:
        await websocket.accept()
        import trio

        await trio.sleep(10)
        await websocket.send("at last")

    @app.before_serving
    async def start() -> None:
        print("before_serving ran")

    @app.after_serving
    async def stop() -> None:
        print("after_serving ran")

    return app
"""


def project(pytester: pytest.Pytester, *settings: str) -> None:
    """A user's project: the app factory above, pytest-trio's trio mode, and ``settings``."""
    pytester.makepyfile(myapp=FACTORY)
    pytester.makeini(
        "\n".join(["[pytest]", "trio_mode = true", "pythonpath = .", *settings]) + "\n"
    )


def test_the_fixtures_make_a_fresh_app_for_each_test(pytester: pytest.Pytester) -> None:
    project(pytester, "trioframe_app = myapp:create_app")
    pytester.makepyfile(
        test_app="""
        import myapp


        async def test_first(app, client):
            assert app.testing
            app.config["SEEN"] = True
            assert (await client.get("/")).status_code == 200


        async def test_second(app):
            assert "SEEN" not in app.config
            assert len(myapp.made) == 2
        """
    )
    pytester.runpytest_subprocess().assert_outcomes(passed=2)


def test_app_running_runs_the_lifespan_around_the_test(pytester: pytest.Pytester) -> None:
    project(pytester, "trioframe_app = myapp:create_app")
    pytester.makepyfile(
        test_app="""
        async def test_serving(app_running, client):
            assert app_running.nursery is not None
            print("the test ran")
            assert (await client.get("/")).status_code == 200
        """
    )
    result = pytester.runpytest_subprocess("-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*before_serving ran", "*the test ran", "*after_serving ran*"])


def test_an_app_fixture_of_the_user_s_replaces_the_plugin_s(pytester: pytest.Pytester) -> None:
    project(pytester)
    pytester.makeconftest(
        """
        import pytest

        from myapp import create_app


        @pytest.fixture
        def app():
            app = create_app()
            app.config["FROM"] = "conftest"
            return app
        """
    )
    pytester.makepyfile(
        test_app="""
        async def test_it(app, client):
            assert client.app is app
            assert app.config["FROM"] == "conftest"
        """
    )
    pytester.runpytest_subprocess().assert_outcomes(passed=1)


def test_without_an_app_the_fixture_says_what_to_set(pytester: pytest.Pytester) -> None:
    project(pytester)
    pytester.makepyfile(test_app="async def test_it(client): pass")
    result = pytester.runpytest_subprocess()
    result.stdout.fnmatch_lines(["*needs trioframe_app = 'module:create_app'*"])
    assert result.ret != 0


def test_a_setting_that_is_not_an_app_is_refused(pytester: pytest.Pytester) -> None:
    project(pytester, "trioframe_app = myapp:made")
    pytester.makepyfile(test_app="async def test_it(app): pass")
    result = pytester.runpytest_subprocess()
    result.stdout.fnmatch_lines(["*gives list, not a Trioframe app*"])
    assert result.ret != 0


SLOW_TESTS = """
import pytest


async def test_default(client, autojump_clock):
    async with client.websocket("/slow") as ws:
        assert await ws.receive() == "at last"


@pytest.mark.trioframe_timeout(30)
async def test_marked(client, autojump_clock):
    async with client.websocket("/slow") as ws:
        assert await ws.receive() == "at last"
"""


def test_the_marker_gives_one_test_a_longer_timeout(pytester: pytest.Pytester) -> None:
    project(pytester, "trioframe_app = myapp:create_app")
    pytester.makepyfile(test_slow=SLOW_TESTS)
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*TooSlowError: The app sent nothing on the websocket /slow*"])
    result.stdout.fnmatch_lines(["FAILED test_slow.py::test_default*"])


def test_the_setting_gives_the_suite_another_timeout(pytester: pytest.Pytester) -> None:
    project(pytester, "trioframe_app = myapp:create_app", "trioframe_timeout = none")
    pytester.makepyfile(test_slow=SLOW_TESTS)
    pytester.runpytest_subprocess().assert_outcomes(passed=2)


def test_bad_timeouts_are_refused_with_what_to_write(pytester: pytest.Pytester) -> None:
    project(pytester, "trioframe_app = myapp:create_app", "trioframe_timeout = soon")
    pytester.makepyfile(test_it="async def test_it(client): pass")
    result = pytester.runpytest_subprocess()
    result.stdout.fnmatch_lines(["*trioframe_timeout = 'soon' is not a number of seconds*"])
    assert result.ret != 0
    project(pytester, "trioframe_app = myapp:create_app")
    pytester.makepyfile(
        test_it="""
        import pytest


        @pytest.mark.trioframe_timeout("30")
        async def test_it(client):
            pass
        """
    )
    result = pytester.runpytest_subprocess()
    result.stdout.fnmatch_lines(["*takes one number of seconds or None*"])
    assert result.ret != 0


def test_the_project_the_docs_show_passes(pytester: pytest.Pytester) -> None:
    shown = ROOT / "docs" / "snippets" / "project"
    pytester.makepyprojecttoml((shown / "pyproject.toml").read_text())
    pytester.makepyfile(myapp=(shown / "myapp.py").read_text())
    (pytester.mkdir("tests") / "test_myapp.py").write_text((shown / "suite.py").read_text())
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=4)
