"""The exchange as the lifecycle's remote channel: a produced data set larger than a message
leaves in parts ahead of its production step (Regulation (EU) 2023/1543)."""

import datetime

import pytest

from mla.exchange import channel
from mla.exchange.channel import ExchangeChannel, data_parts
from mla.requests.events import Event
from mla.requests.lifecycle.channels import StepDocument


def _document(name: str, size: int) -> StepDocument:
    return StepDocument(name=name, media_type="application/octet-stream", content=b"x" * size)


def test_data_parts_group_whole_files_in_order_within_the_limit():
    documents = [_document(name, size) for name, size in (("a", 30), ("b", 30), ("c", 10))]

    parts = data_parts(documents, limit=60)

    assert [[d.name for d in part] for part in parts] == [["a", "b"], ["c"]]
    assert data_parts(documents, limit=1000) == [documents]
    # A file over the limit is never cut: it travels alone.
    assert [[d.name for d in p] for p in data_parts(documents, limit=20)] == [["a"], ["b"], ["c"]]


@pytest.mark.parametrize(("limit", "messages"), [(1000, 1), (60, 2), (20, 3)])
def test_a_production_leaves_in_parts_then_the_step_with_the_last(
    monkeypatch, settings, limit, messages
):
    settings.EEVIDENCE_DATA_PART_MAX_BYTES = limit
    sent: list[dict] = []
    monkeypatch.setattr(channel, "status_send", lambda **kwargs: sent.append(kwargs))
    documents = [_document(name, size) for name, size in (("a", 30), ("b", 30), ("c", 10))]
    payload = {
        "files": [{"name": d.name, "sha256": "0" * 64, "size": len(d.content)} for d in documents]
    }

    ExchangeChannel().step_tell(
        request=object(),  # type: ignore[arg-type]
        from_executing_side=True,
        acted_by="Pia Schulz",
        event=Event.EXECUTED,
        note="",
        payload=payload,
        documents=documents,
        at=datetime.datetime(2026, 9, 1, tzinfo=datetime.UTC),
    )

    assert len(sent) == messages
    *parts, last = sent
    assert [m["event"] for m in parts] == [Event.DATA_PART_RECEIVED] * (messages - 1)
    assert last["event"] == Event.EXECUTED
    assert last["payload"]["files"] == payload["files"]  # the whole set, named by the step
    for number, message in enumerate(parts, start=1):
        assert (message["payload"]["part"], message["payload"]["of"]) == (number, messages)
        names = [d.name for d in message["documents"]]
        assert [item["name"] for item in message["payload"]["files"]] == names
    carried = [d.name for m in sent for d in m["documents"]]
    assert carried == ["a", "b", "c"]
    if messages > 1:
        assert last["payload"]["parts"] == messages


def test_other_steps_are_never_split(monkeypatch, settings):
    settings.EEVIDENCE_DATA_PART_MAX_BYTES = 1
    sent: list[dict] = []
    monkeypatch.setattr(channel, "status_send", lambda **kwargs: sent.append(kwargs))

    ExchangeChannel().step_tell(
        request=object(),  # type: ignore[arg-type]
        from_executing_side=True,
        acted_by="Kai Weber",
        event=Event.ACKNOWLEDGED,
        note="",
        payload={},
        documents=[_document("annex-b.pdf", 50), _document("other.pdf", 50)],
        at=datetime.datetime(2026, 9, 1, tzinfo=datetime.UTC),
    )

    assert [m["event"] for m in sent] == [Event.ACKNOWLEDGED]
    assert len(sent[0]["documents"]) == 2
