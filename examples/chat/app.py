"""A chat room: a web page with a little JavaScript, and one websocket per browser.

Serve it with ``trioframe run examples/chat/app.py:app`` and open http://127.0.0.1:5000 in two
browser windows. To serve it from several processes, give them one Redis to share::

    export TRIOFRAME_BROADCAST_URL=redis://127.0.0.1:6379/0
    trioframe run examples/chat/app.py:app --workers 2

Every message goes through the app's broadcast hub (:mod:`trioframe.broadcast`). Each
browser's subscription holds at most ``QUEUE_SIZE`` messages it has not taken yet, and
publishing never waits for anyone, so one slow browser cannot stall the room: when its
subscription overflows it gets ``SlowConsumer``, is disconnected (close code 1008) and may
reconnect, while everyone else carries on. A browser that stops reading altogether is
dropped by the server once a message has waited ``WEBSOCKET_SEND_TIMEOUT`` for it (10
seconds here). Within a connection, the handler sends what the room publishes while a task
in its nursery receives from the browser; when the browser leaves, trioframe cancels both,
and the ``finally`` block tells the room. If the Redis connection drops, a message sent
meanwhile gets an error notice, and once Redis is back every browser is closed with 1012
(``BroadcastGap``: messages may have been missed), reconnects and carries on.
"""

from __future__ import annotations

import contextlib

import trio

from trioframe import BadRequest, Trioframe, render_template, websocket
from trioframe.broadcast import Broadcast, BroadcastUnavailable, SlowConsumer

app = Trioframe(__name__)
# BROADCAST_URL and any other setting can come from TRIOFRAME_* environment variables.
app.config.from_prefixed_env()
# A browser that takes nothing for this long is gone as far as the room is concerned.
app.config["WEBSOCKET_SEND_TIMEOUT"] = 10.0

#: Messages waiting for one browser; past this, the browser is too slow and is dropped.
QUEUE_SIZE = 32
#: The longest chat message and name accepted, in characters.
MAX_TEXT_LENGTH = 500
MAX_NAME_LENGTH = 32
#: How long a dropped browser gets to take its close message, and the room to hear of it.
CLOSE_TIMEOUT_S = 10.0
#: The hub's channel for the room.
ROOM = "chat"

hub = Broadcast(app, buffer=QUEUE_SIZE, overflow="close")


@app.get("/")
async def index() -> str:
    return await render_template("chat.html")


@app.websocket("/ws")
async def chat() -> tuple[str, int] | None:
    name = websocket.args.get("name", "").strip()
    if not 0 < len(name) <= MAX_NAME_LENGTH:
        return f"Choose a name of 1 to {MAX_NAME_LENGTH} characters.", 400
    await websocket.accept()
    try:
        async with hub.subscribe(ROOM) as messages:
            await _tell_room({"type": "join", "name": name})
            try:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(_receive_messages, name)
                    async for message in messages:
                        await websocket.send(message)
            finally:
                # Told even when the browser left and the handler is being cancelled, unless
                # the room cannot be reached: then it does not hear of it.
                with (
                    trio.CancelScope(shield=True, deadline=trio.current_time() + CLOSE_TIMEOUT_S),
                    contextlib.suppress(BroadcastUnavailable),
                ):
                    await hub.publish_json(ROOM, {"type": "leave", "name": name})
    except SlowConsumer:
        # Tell the slow browser why it was dropped, but do not wait long on one that is not
        # reading: the close has to queue behind everything already sent to it.
        with trio.move_on_after(CLOSE_TIMEOUT_S):
            await websocket.close(1008, "too slow: messages were piling up")
    return None


async def _receive_messages(name: str) -> None:
    while True:
        try:
            message = await websocket.receive_json()
        except BadRequest:  # not JSON: say so, and keep the connection
            await websocket.send_json({"type": "error", "text": 'Send JSON: {"text": "..."}'})
            continue
        text = message.get("text") if isinstance(message, dict) else None
        if not isinstance(text, str) or not 0 < len(text.strip()) <= MAX_TEXT_LENGTH:
            await websocket.send_json(
                {"type": "error", "text": f"A message has 1 to {MAX_TEXT_LENGTH} characters."}
            )
            continue
        await _tell_room({"type": "message", "name": name, "text": text.strip()})


async def _tell_room(message: dict[str, str]) -> None:
    try:
        await hub.publish_json(ROOM, message)
    except BroadcastUnavailable:
        # Redis is down: say so to this browser; the room hears nothing, which is the truth.
        await websocket.send_json(
            {"type": "error", "text": "The room cannot be reached; try again in a moment."}
        )
