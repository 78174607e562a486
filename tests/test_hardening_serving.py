"""Hostile clients against ``trioframe run`` over real sockets, in a subprocess.

These attacks used to hang, starve or bloat the server process itself, so the server runs
apart from the test: a server that stops answering fails the test at its bound instead of
freezing the test run. After each attack, a bystander must still be served.
"""

from __future__ import annotations

import trio

from tests.loopback import WAIT_S, http_get, running_server

SERVE_E2E_APP = ("-m", "trioframe", "run", "tests.e2e_app:app", "--port", "0", "--no-access-log")
HANDSHAKE = (
    "GET {path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)
#: Attacks repeated per test: some of these races are lost only now and then.
ROUNDS = 5


async def test_a_send_only_handler_stops_when_its_client_vanishes() -> None:
    async with running_server(*SERVE_E2E_APP) as server:
        port = await server.wait_for_port()
        for round_number in range(1, ROUNDS + 1):
            with trio.fail_after(WAIT_S):
                stream = await trio.open_tcp_stream("127.0.0.1", port)
                await stream.send_all(HANDSHAKE.format(path="/flood").encode())
                await stream.receive_some(65536)  # the handshake, and the flood begins
                await stream.aclose()  # gone, without a close frame
                # The server used to spin in the handler's sends, answering nobody.
                assert await http_get("127.0.0.1", port, "/") == (200, b'{"status":"ok"}\n')
            await server.wait_for(f"(?s)(e2e: flood cancelled.*?){{{round_number}}}")
        assert await server.interrupt_and_wait() == 0
