"""A real browser chats through the chat example, served by ``trioframe run`` on 127.0.0.1.

The browser is Debian's headless Chromium, driven by Playwright (its Python package, with
that executable; no browser download). ``.ci/run`` installs Chromium and sets
``TRIOFRAME_BROWSER_TESTS=required``, so in CI a missing browser fails the test instead of
skipping it. Elsewhere, without Chromium, the test is skipped and says how to run it.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect, sync_playwright

if TYPE_CHECKING:
    from collections.abc import Iterator

    from playwright.sync_api import Page

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


@pytest.fixture
def chat_url() -> Iterator[str]:
    """Serve the chat example with ``trioframe run`` on a free port; stop it afterwards."""
    process = subprocess.Popen(
        [sys.executable, "-m", "trioframe", "run", "examples/chat/app.py:app", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    # Reading the output blocks; the timer bounds it by ending the server if it never starts.
    watchdog = threading.Timer(WAIT_S, process.kill)
    watchdog.start()
    try:
        assert process.stdout is not None
        output = ""
        for line in process.stdout:
            output += line
            found = re.search(r"Running on (http://127\.0\.0\.1:\d+)", line)
            if found:
                break
        else:
            raise AssertionError(f"the chat server did not start:\n{output}")
        watchdog.cancel()
        yield found.group(1)
    finally:
        watchdog.cancel()
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=WAIT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def join(page: Page, url: str, name: str) -> None:
    page.goto(url)
    page.fill("input[name=name]", name)
    page.click("#join button")
    expect(page.locator("#status")).to_have_text(f"Connected as {name}.")


def test_two_browser_pages_chat(chromium: str, chat_url: str) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            context.set_default_timeout(WAIT_S * 1000)
            ada, grace = context.new_page(), context.new_page()
            join(ada, chat_url, "ada")
            join(grace, chat_url, "grace")
            expect(ada.locator("#messages")).to_contain_text("grace joined (2 online)")

            ada.fill("input[name=text]", "Hello from a real browser <b>!</b>")
            ada.click("#send button")
            for page in (ada, grace):
                line = page.locator("#messages li", has_text="ada: Hello")
                # Shown as text: the markup a user typed is not interpreted.
                expect(line).to_have_text("ada: Hello from a real browser <b>!</b>")

            grace.close()
            expect(ada.locator("#messages")).to_contain_text("grace left (1 online)")
        finally:
            browser.close()
