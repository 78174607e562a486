"""The class-based views of the quickstart."""

from __future__ import annotations

from trioframe import Trioframe, request
from trioframe.views import MethodView

app = Trioframe(__name__)


# docs: start method-view
class NoteAPI(MethodView):
    init_every_request = False  # one instance serves every request

    def __init__(self, notes: dict[int, str]) -> None:
        self.notes = notes

    async def get(self, note_id: int) -> str:
        return self.notes.get(note_id, "")

    async def put(self, note_id: int) -> tuple[str, int]:
        self.notes[note_id] = (await request.get_data()).decode()
        return "saved", 201


app.add_url_rule("/notes/<int:note_id>", view_func=NoteAPI.as_view("note", {}))
# docs: end method-view
