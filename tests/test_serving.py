"""Serving configuration and app loading, by direct calls, and stop requests over loopback
(the served app itself is in integration/test_loopback.py)."""

from __future__ import annotations

import sys
from functools import partial
from typing import TYPE_CHECKING

import h11
import pytest
import trio
from hypercorn.config import Config as HypercornConfig

from tests.support.loopback import WAIT_S, http_get
from trioframe import Trioframe, _serving
from trioframe._serving import (
    bind_sockets,
    hypercorn_config,
    load_app,
    open_listeners,
    serve_forever,
    serve_until_asked,
)

if TYPE_CHECKING:
    from pathlib import Path


def test_hypercorn_config_from_the_app(app: Trioframe) -> None:
    config = hypercorn_config(app)
    assert config.bind == ["127.0.0.1:5000"]
    assert config.worker_class == "trio"
    assert config.workers == 1
    assert not config.use_reloader
    assert config.accesslog is not None
    assert config.loglevel == "INFO"
    assert config.graceful_timeout == app.config["GRACEFUL_SHUTDOWN_TIMEOUT"]

    app.debug = True
    app.config["GRACEFUL_SHUTDOWN_TIMEOUT"] = 12
    tuned = hypercorn_config(
        app,
        host="::1",
        port=8080,
        workers=3,
        reload=True,
        access_log=False,
        application_path="pkg.main:app",
    )
    assert tuned.bind == ["[::1]:8080"]
    assert (tuned.workers, tuned.use_reloader, tuned.accesslog) == (3, True, None)
    assert tuned.loglevel == "DEBUG"
    assert tuned.graceful_timeout == 12.0
    assert tuned.application_path == "pkg.main:app"
    assert hypercorn_config(app, graceful_timeout=0.5).graceful_timeout == 0.5


def test_the_app_s_websocket_message_limit_reaches_hypercorn(app: Trioframe) -> None:
    app.config["WEBSOCKET_MAX_MESSAGE_SIZE"] = 4096
    assert hypercorn_config(app).websocket_max_message_size == 4096
    app.config["WEBSOCKET_MAX_MESSAGE_SIZE"] = None  # no limit of the app's: hypercorn's own
    assert (
        hypercorn_config(app).websocket_max_message_size
        == HypercornConfig().websocket_max_message_size
    )


def test_tls_is_refused_with_what_to_do_instead(app: Trioframe, tmp_path: Path) -> None:
    config = hypercorn_config(app, port=0)
    config.certfile = str(tmp_path / "cert.pem")
    config.keyfile = str(tmp_path / "key.pem")
    with pytest.raises(ValueError, match="does not terminate TLS; put a proxy"):
        bind_sockets(config)


@pytest.fixture
def isolated_imports(monkeypatch: pytest.MonkeyPatch) -> None:
    """load_app puts folders on sys.path and imports modules; undo both after the test."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(sys, "modules", dict(sys.modules))


def write_module(folder: Path, name: str, source: str) -> Path:
    path = folder / f"{name}.py"
    path.write_text(source)
    return path


APP_SOURCE = "from trioframe import Trioframe\napp = Trioframe(__name__)\nother = 42\n"


@pytest.mark.usefixtures("isolated_imports")
def test_load_app_by_file_and_by_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_module(tmp_path, "serving_by_file", APP_SOURCE)
    assert isinstance(load_app(f"{path}:app"), Trioframe)
    assert load_app(str(path)).name == "serving_by_file"  # the attribute defaults to app
    write_module(tmp_path, "serving_by_module", APP_SOURCE)
    monkeypatch.chdir(tmp_path)
    assert load_app("serving_by_module:app").name == "serving_by_module"


@pytest.mark.usefixtures("isolated_imports")
@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("{folder}/absent.py:app", "There is no file"),
        ("serving_absent_module:app", "there is no such module"),
        ("serving_absent_package.sub:app", "there is no such module"),
        ("{folder}/serving_attrs.py:missing", "has no attribute 'missing'"),
        ("{folder}/serving_attrs.py:other", "is a int, not a Trioframe app"),
    ],
)
def test_load_app_errors_say_what_is_wrong(tmp_path: Path, target: str, message: str) -> None:
    write_module(tmp_path, "serving_attrs", APP_SOURCE)
    with pytest.raises(LookupError, match=message):
        load_app(target.format(folder=tmp_path))


@pytest.mark.usefixtures("isolated_imports")
def test_a_broken_import_inside_the_module_is_not_hidden(tmp_path: Path) -> None:
    path = write_module(tmp_path, "serving_broken", "import serving_dependency_that_is_absent\n")
    with pytest.raises(ModuleNotFoundError, match="serving_dependency_that_is_absent"):
        load_app(f"{path}:app")


def test_ctrl_c_outside_the_signal_receiver_stops_quietly(
    app: Trioframe, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def interrupted(*args: object) -> None:
        raise KeyboardInterrupt  # as Trio delivers a Ctrl-C that no receiver takes

    monkeypatch.setattr(_serving, "serve_until_signalled", interrupted)
    serve_forever(app, hypercorn_config(app))  # returns; no traceback for a Ctrl-C


def test_several_serving_errors_stay_a_group(
    app: Trioframe, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def failing(*args: object) -> None:
        raise ExceptionGroup("two failures", [OSError("one"), ValueError("two")])

    monkeypatch.setattr(_serving, "serve_until_signalled", failing)
    with pytest.raises(ExceptionGroup) as raised:
        serve_forever(app, hypercorn_config(app))
    assert [str(error) for error in raised.value.exceptions] == ["one", "two"]


@pytest.mark.parametrize("announce", [True, False], ids=["command", "worker"])
async def test_each_stop_request_goes_one_step_further(
    app: Trioframe, announce: bool, caplog: pytest.LogCaptureFixture
) -> None:
    # Over loopback: a request the view never answers, and a shutdown hook that hangs.
    app.config["GRACEFUL_SHUTDOWN_TIMEOUT"] = 3600
    holding, hook_started, client_done = trio.Event(), trio.Event(), trio.Event()
    client_saw: list[str] = []

    @app.get("/hold")
    async def hold() -> str:
        holding.set()
        await trio.sleep_forever()

    @app.after_serving
    async def hang() -> None:
        hook_started.set()
        await trio.sleep_forever()

    config = hypercorn_config(app, port=0, access_log=False)
    listeners = await open_listeners(config)
    port = listeners[0].socket.getsockname()[1]
    ask, requests = trio.open_memory_channel[None](3)

    async def client() -> None:
        try:
            await http_get("127.0.0.1", port, "/hold")
        except (h11.RemoteProtocolError, trio.BrokenResourceError):
            client_saw.append("connection ended")
        finally:
            client_done.set()

    with trio.fail_after(WAIT_S):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(
                partial(serve_until_asked, app, config, listeners, requests, announce=announce)
            )
            nursery.start_soon(client)
            await holding.wait()
            ask.send_nowait(None)  # 1: stop gracefully; the held request may finish
            ask.send_nowait(None)  # 2: end every connection now; the hooks still run
            await hook_started.wait()
            await client_done.wait()
            assert client_saw == ["connection ended"]
            ask.send_nowait(None)  # 3: cancel everything, the hanging hook included
    announced = caplog.text
    for step in ("Shutting down gracefully", "Ending every connection now"):
        assert (step in announced) is announce


def test_the_reloader_needs_an_app_it_can_import_again() -> None:
    # Made where no module file holds it: a worker process could not import it.
    app = Trioframe("made_in_a_test_only")
    with pytest.raises(RuntimeError, match="create the app at the top level of a file"):
        app.run(port=0, use_reloader=True)
