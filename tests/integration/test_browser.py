"""A real browser chats through the chat example, served by ``trioframe run`` on 127.0.0.1:
in one process, and in two processes sharing a real ``redis-server`` that restarts under them.

The browser is Debian's headless Chromium, driven by Playwright (its Python package, with
that executable; no browser download). ``.ci/run`` installs Chromium and sets
``TRIOFRAME_BROWSER_TESTS=required``, so in CI a missing browser fails the test instead of
skipping it. Elsewhere, without Chromium, the test is skipped and says how to run it.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.support.redis import free_port, redis_server_path

if TYPE_CHECKING:
    from collections.abc import Iterator

    from playwright.sync_api import BrowserContext, Page

ROOT = Path(__file__).parent.parent.parent
CHROMIUM = os.environ.get("TRIOFRAME_CHROMIUM", "/usr/bin/chromium")
#: A bound on every wait; far above what the test needs, far below a hang.
WAIT_S = 20
#: Flags for a headless Chromium on a machine without a display or outside network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def chromium() -> str:
    if not os.path.exists(CHROMIUM):
        message = (
            f"no Chromium at {CHROMIUM}: install Debian's 'chromium' package (or point "
            "TRIOFRAME_CHROMIUM at one) to run the browser test"
        )
        if os.environ.get("TRIOFRAME_BROWSER_TESTS") == "required":
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


class Launched:
    """A program in a subprocess whose output a thread keeps reading (so a full pipe never
    blocks it), and that the test can wait on for a line."""

    def __init__(self, *argv: str, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            argv,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )
        self.output = ""
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.output += line
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for(self, pattern: str) -> re.Match[str]:
        """The first match of ``pattern`` in the output, waiting at most ``WAIT_S``."""
        with self._changed:
            found = self._changed.wait_for(
                lambda: re.search(pattern, self.output) or self.process.poll() is not None,
                timeout=WAIT_S,
            )
            match = re.search(pattern, self.output)
        if not found or match is None:
            raise AssertionError(
                f"{pattern!r} did not show; {self.process.args!r} printed:\n{self.output}"
            )
        return match

    def stop(self, sig: signal.Signals = signal.SIGINT) -> None:
        """Signal the program and wait for it to exit (killed if it takes over ``WAIT_S``)."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            self.process.wait(timeout=WAIT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._reader.join(WAIT_S)
        if self.process.stdout is not None:
            self.process.stdout.close()


@contextmanager
def launched(*argv: str, ready: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """Run ``argv`` until the block ends; yields the first group of ``ready`` once it shows."""
    program = Launched(*argv, env=env)
    try:
        yield program.wait_for(ready).group(1)
    finally:
        program.stop()


def serve_chat(env: dict[str, str] | None = None) -> contextlib.AbstractContextManager[str]:
    """Serve the chat example with ``trioframe run`` on a free port; yields its URL."""
    command = (sys.executable, "-m", "trioframe", "run", "examples/chat/app.py:app")
    return launched(*command, "--port", "0", ready=r"Running on (http://127\.0\.0\.1:\d+)", env=env)


@pytest.fixture
def chat_url() -> Iterator[str]:
    with serve_chat() as url:
        yield url


@pytest.fixture
def browser_context(chromium: str) -> Iterator[BrowserContext]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            context.set_default_timeout(WAIT_S * 1000)
            yield context
        finally:
            browser.close()


def join(page: Page, url: str, name: str) -> None:
    page.goto(url)
    page.fill("input[name=name]", name)
    page.click("#join button")
    expect(page.locator("#status")).to_have_text(f"Connected as {name}.")


def say(page: Page, text: str) -> None:
    page.fill("input[name=text]", text)
    page.click("#send button")


def test_two_browser_pages_chat(browser_context: BrowserContext, chat_url: str) -> None:
    ada, grace = browser_context.new_page(), browser_context.new_page()
    join(ada, chat_url, "ada")
    join(grace, chat_url, "grace")
    expect(ada.locator("#messages")).to_contain_text("grace joined")

    say(ada, "Hello from a real browser <b>!</b>")
    for page in (ada, grace):
        line = page.locator("#messages li", has_text="ada: Hello")
        # Shown as text: the markup a user typed is not interpreted.
        expect(line).to_have_text("ada: Hello from a real browser <b>!</b>")

    grace.close()
    expect(ada.locator("#messages")).to_contain_text("grace left")


def test_two_chat_processes_share_the_room_through_redis(
    browser_context: BrowserContext,
) -> None:
    """Two worker processes, one Redis: pages on different processes chat, and when Redis
    restarts under them both are told, reconnect by themselves and chat on."""
    redis_port = free_port()
    redis_argv = [redis_server_path(), "--port", str(redis_port), "--bind", "127.0.0.1"]
    redis_argv += ["--save", "", "--appendonly", "no"]
    redis_ready = r"(Ready to accept connections)"
    env = {
        "TRIOFRAME_BROADCAST_URL": f"redis://127.0.0.1:{redis_port}/0",
        "TRIOFRAME_BROADCAST_CONNECT_TIMEOUT": "1",
    }
    ada, grace = browser_context.new_page(), browser_context.new_page()
    redis = Launched(*redis_argv)
    try:
        redis.wait_for(redis_ready)
        with serve_chat(env) as first, serve_chat(env) as second:
            join(ada, first, "ada")
            join(grace, second, "grace")
            expect(ada.locator("#messages")).to_contain_text("grace joined")
            say(grace, "hello from the other process")
            expect(ada.locator("#messages")).to_contain_text("grace: hello from the other")

            redis.stop(signal.SIGKILL)
            say(ada, "anyone there?")
            expect(ada.locator("#messages")).to_contain_text("The room cannot be reached")

            redis = Launched(*redis_argv)
            redis.wait_for(redis_ready)
            for page, name in ((ada, "ada"), (grace, "grace")):
                expect(page.locator("#messages")).to_contain_text("messages may have been missed")
                expect(page.locator("#status")).to_have_text(f"Connected as {name}.")
            say(ada, "back again")
            expect(grace.locator("#messages")).to_contain_text("ada: back again")
    finally:
        redis.stop(signal.SIGKILL)
