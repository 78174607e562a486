"""A chat room: a web page with a little JavaScript, and one websocket per browser.

Serve it with ``trioframe run examples/chat/app.py:app`` and open http://127.0.0.1:5000 in two
browser windows.

Each connection gets a bounded queue of messages to send. Broadcasting puts a message in
every queue without waiting, so one slow browser cannot stall the room: if its queue is
full, that browser is disconnected (close code 1008) and may reconnect, while everyone else
carries on. A browser that stops reading altogether is dropped by the server once a message
has waited ``WEBSOCKET_SEND_TIMEOUT`` for it (10 seconds here): a write to it cannot be
cancelled before then. Within a connection, one task sends from the queue and another receives from
the browser, in a nursery inside the handler; when the browser leaves, trioframe cancels
both, and the ``finally`` block tells the room.
"""

from __future__ import annotations

import itertools
from typing import Any

import trio

from trioframe import BadRequest, Trioframe, render_template, websocket

app = Trioframe(__name__)
# A browser that takes nothing for this long is gone as far as the room is concerned.
app.config["WEBSOCKET_SEND_TIMEOUT"] = 10.0

#: Messages waiting for one browser; past this, the browser is too slow and is dropped.
QUEUE_SIZE = 32
#: The longest chat message and name accepted, in characters.
MAX_TEXT_LENGTH = 500
MAX_NAME_LENGTH = 32
#: How long a dropped browser gets to take its close message.
CLOSE_TIMEOUT_S = 10.0


class Member:
    """One connected browser: its name and the queue of messages waiting for it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.outbox, self.inbox = trio.open_memory_channel[dict[str, Any]](QUEUE_SIZE)
        self.too_slow = trio.Event()


class Room:
    """Everyone in the chat. Broadcasting never waits, so it works even while cancelled."""

    def __init__(self) -> None:
        self.members: dict[int, Member] = {}
        self._ids = itertools.count()

    def join(self, member: Member) -> int:
        member_id = next(self._ids)
        self.members[member_id] = member
        self.broadcast({"type": "join", "name": member.name, "online": len(self.members)})
        return member_id

    def leave(self, member_id: int) -> None:
        member = self.members.pop(member_id)
        member.outbox.close()
        self.broadcast({"type": "leave", "name": member.name, "online": len(self.members)})

    def broadcast(self, message: dict[str, Any]) -> None:
        for member in self.members.values():
            try:
                member.outbox.send_nowait(message)
            except trio.WouldBlock:
                member.too_slow.set()  # its own handler disconnects it
            except trio.BrokenResourceError:
                pass  # it stopped sending and is leaving; it tells the room itself


room = Room()


@app.get("/")
async def index() -> str:
    return await render_template("chat.html")


@app.websocket("/ws")
async def chat() -> tuple[str, int] | None:
    name = websocket.args.get("name", "").strip()
    if not 0 < len(name) <= MAX_NAME_LENGTH:
        return f"Choose a name of 1 to {MAX_NAME_LENGTH} characters.", 400
    await websocket.accept()
    member = Member(name)
    member_id = room.join(member)
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_send_queued, member)
            nursery.start_soon(_receive_messages, member)
            await member.too_slow.wait()
            nursery.cancel_scope.cancel()
    finally:
        room.leave(member_id)
    # Tell the slow browser why it was dropped, but do not wait long on one that is not
    # reading: the close has to queue behind everything already sent to it.
    with trio.move_on_after(CLOSE_TIMEOUT_S):
        await websocket.close(1008, "too slow: messages were piling up")
    return None


async def _send_queued(member: Member) -> None:
    async with member.inbox:
        async for message in member.inbox:
            await websocket.send_json(message)


async def _receive_messages(member: Member) -> None:
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
        room.broadcast({"type": "message", "name": member.name, "text": text.strip()})
