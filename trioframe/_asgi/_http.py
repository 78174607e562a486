"""The HTTP handler: an ASGI ``http`` scope in, a `Request` to the app, a `Response` out.

How one request is served:

1. A `Request` is built from the scope. Its body reads from a memory channel, made when
   the pump starts or the view first reads the body (most requests never need one).
2. A pump task is the only caller of ASGI ``receive``. It forwards body chunks into the
   channel, whose capacity is one chunk: a view that does not read stalls the upload, which
   is backpressure. Once the body is complete (or the view is done with it), the pump waits
   for ``http.disconnect``: before the response is out, that cancels the request; after, it
   is the server's usual notice that the exchange is over, and the pump just ends.
3. The app dispatches under the request context, inside the nursery's cancel scope, so a
   disconnect reaches the view as ``trio.Cancelled``. The pump starts the first time the
   request's task waits for anything: a disconnect can only be noticed, and only matters,
   while the task is waiting, so a view that answers without waiting costs no task.
4. The response is sent. A streaming body is pulled one chunk per ``send``, so a slow client
   slows the producer; it is closed when done, failed or cancelled.
5. ``teardown_request`` runs (shielded, bounded) and the pump is cancelled.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import trio

from trioframe._concurrency import LoneError, calling_before_first_wait
from trioframe._context import RequestContext
from trioframe._types import PRESERVE_CONTEXT_EXTENSION

from ._translate import build_request, send_response

if TYPE_CHECKING:
    from trioframe._app import Trioframe
    from trioframe._request import Request
    from trioframe._response import Response
    from trioframe._types import ASGIReceive, ASGISend, HTTPScope

#: Body chunks received ahead of the view: one, so an unread upload stops the client.
BODY_CHUNKS_AHEAD = 1
#: How long after the response the server may take to report the disconnect.
DISCONNECT_WAIT_S = 10.0


async def handle_http(
    app: Trioframe,
    scope: HTTPScope,
    receive: ASGIReceive,
    send: ASGISend,
    *,
    server_send: ASGISend | None = None,
) -> None:
    """Serve one HTTP request; ``send`` is a checkpoint, ``server_send`` the server's own
    (see `send_response`).

    Raises:
        Exception: an unhandled application error, only when exceptions propagate
            (``TESTING``); otherwise every error becomes a response or is logged.
    """
    exchange = _Exchange(receive)
    request = build_request(app, scope, exchange.body_chunks)
    lone = LoneError()  # the caller sees the view's error, not a group
    async with trio.open_nursery() as nursery:
        exchange.nursery = nursery
        with lone.caught():
            try:
                await _serve(app, request, send, server_send, exchange)
            finally:
                if not exchange.pump_started:
                    exchange.close_body()
                elif exchange.response_sent:
                    # The server reports the disconnect once the response is out (ASGI says
                    # so), which ends the pump without the cost of cancelling it; the
                    # deadline only guards against a server that does not.
                    nursery.cancel_scope.deadline = trio.current_time() + DISCONNECT_WAIT_S
                else:
                    nursery.cancel_scope.cancel()
    lone.reraise()


class _Exchange:
    """One request's pump, started at most once; the body's channel, made only when the
    pump starts or the view reads the body; and whether the response is out whole."""

    __slots__ = (
        "_body_receiver",
        "_body_sender",
        "_receive",
        "_view_done",
        "nursery",
        "pump_started",
        "response_sent",
    )

    def __init__(self, receive: ASGIReceive) -> None:
        self._receive = receive
        #: The request's nursery, once open.
        self.nursery: trio.Nursery | None = None
        self._body_sender: trio.MemorySendChannel[bytes] | None = None
        self._body_receiver: trio.MemoryReceiveChannel[bytes] | None = None
        self._view_done = False
        self.pump_started = False
        self.response_sent = False

    def body_chunks(self) -> trio.MemoryReceiveChannel[bytes]:
        """The channel the body arrives through (closed once the view is done)."""
        if self._body_receiver is None:
            self._body_sender, self._body_receiver = trio.open_memory_channel[bytes](
                BODY_CHUNKS_AHEAD
            )
            if self._view_done:
                self._body_receiver.close()
        return self._body_receiver

    def view_done(self) -> None:
        """The view is done with the body; the pump discards what the client still sends."""
        self._view_done = True
        if self._body_receiver is not None:
            self._body_receiver.close()

    def close_body(self) -> None:
        """No pump will feed the body: a read finds its end."""
        if self._body_sender is not None:
            self._body_sender.close()

    def finishing(self) -> None:
        """The last message of the response is about to go out.

        From here on a disconnect is the end of the exchange, not a client leaving early:
        servers report it from inside that last ``send`` (hypercorn does), and must not be
        cancelled there.
        """
        self.response_sent = True

    def start_pump(self) -> None:
        """Start receiving the body and watching for a disconnect, unless already started."""
        if not self.pump_started:
            self.pump_started = True
            self.body_chunks()
            nursery = self.nursery
            # The pump starts only while the view runs, inside the nursery.
            assert nursery is not None
            assert self._body_sender is not None
            nursery.start_soon(
                _pump_receive, self._receive, self._body_sender, nursery.cancel_scope, self
            )


@trio.lowlevel.enable_ki_protection  # a task of its own: see Trioframe.__call__
async def _pump_receive(
    receive: ASGIReceive,
    body_sender: trio.MemorySendChannel[bytes],
    request_scope: trio.CancelScope,
    exchange: _Exchange,
) -> None:
    with body_sender:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                if not exchange.response_sent:
                    request_scope.cancel()  # the client left: stop the view
                return
            if message["type"] != "http.request":
                continue
            chunk = message.get("body", b"")
            if chunk:
                # Once nobody will read the rest of the body, discard it.
                with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                    await body_sender.send(chunk)
            if not message.get("more_body", False):
                body_sender.close()


async def _serve(
    app: Trioframe,
    request: Request,
    send: ASGISend,
    server_send: ASGISend | None,
    exchange: _Exchange,
) -> None:
    ctx = RequestContext(app, request)
    ctx.push()
    keeper = request.scope.get("extensions", {}).get(PRESERVE_CONTEXT_EXTENSION)
    if keeper is not None:
        keeper["keep"](ctx)  # the test client's `async with`: see TestClient
    error: Exception | None = None
    try:
        response, error = await calling_before_first_wait(_respond(app, ctx), exchange.start_pump)
        exchange.view_done()
        head = request.method == "HEAD"
        if response.is_streamed and not head:
            exchange.start_pump()  # a client that leaves mid-stream must stop the producer
        try:
            await send_response(
                send,
                response,
                head=head,
                logger=app.logger,
                before_last=exchange.finishing,
                server_send=server_send,
            )
        except Exception as stream_error:
            # Headers are out, so no error page can follow: the client sees a cut-off body.
            error = stream_error
            if app.propagate_exceptions:
                raise
            app.log_exception(ctx, stream_error)
    finally:
        await ctx.end(error)


async def _respond(app: Trioframe, ctx: RequestContext) -> tuple[Response, Exception | None]:
    """The response to the request of ``ctx``, and the unhandled error it stands for."""
    try:
        return await app.full_dispatch_request(ctx), None
    except Exception as unhandled:
        return await app.handle_exception(ctx, unhandled), unhandled
