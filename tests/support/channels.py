"""A remote channel for tests: it records what the lifecycle asks of it."""

import datetime

from mla.requests.lifecycle.channels import StepDocument
from mla.requests.models import Request


class RecordingChannel:
    """A remote channel that records what the lifecycle asks of it."""

    def __init__(self) -> None:
        self.delivered: list[tuple[str, str]] = []
        self.told: list[tuple[str, str, bool, list[StepDocument]]] = []
        # What each step told carried: its event, note and payload.
        self.payloads: list[tuple[str, str, dict[str, object] | None]] = []

    def request_deliver(self, *, request: Request, sent_by: str) -> None:
        self.delivered.append((request.reference, sent_by))

    def step_tell(
        self,
        *,
        request: Request,
        from_executing_side: bool,
        acted_by: str,
        event: str,
        note: str,
        payload: dict[str, object] | None,
        documents: list[StepDocument],
        at: datetime.datetime,
    ) -> None:
        self.told.append((request.reference, event, from_executing_side, documents))
        self.payloads.append((event, note, payload))

    def request_transmitted(self, *, request: Request) -> bool:
        return any(reference == request.reference for reference, _by in self.delivered)

    def document_received(self, *, request: Request, name: str) -> bytes | None:
        return None
