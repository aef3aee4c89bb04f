"""A notification's words, kept as a message to translate when read rather than as text in
the language of the moment it was sent: a reader who changes language reads every
notification in the new one, old ones included.

A message is JSON: the English source strings of its subject and body (marked with
gettext_noop where they are defined), the values they name, and the user's own words added
to the body as typed. A value is
- a string: shown as it is (a reference, a name, a date);
- ``{"msgid": …}``: an English source string, translated (a state's name, a legal
  source), itself a message when it has ``"params"``;
- ``{"label": …}``: a key of the forms' label catalogues (mla.instruments.labels);
- ``{"kind": …, …}``: a value an app knows how to word (``message_value_register``), such
  as the time left before a deadline, counted from when the notification was sent.

Notifications stored before messages existed have none, and show their text as stored.
"""

from collections.abc import Callable, Mapping
from typing import Any

from django.utils import translation
from django.utils.translation import gettext

from mla.instruments.labels import label

ValueRenderer = Callable[[Mapping[str, Any]], str]
_renderers: dict[str, ValueRenderer] = {}


def message_value_register(kind: str, renderer: ValueRenderer) -> None:
    """Let ``{"kind": kind, …}`` values be worded by ``renderer``, in the active language."""
    _renderers[kind] = renderer


def msgid(text: Any) -> dict[str, str]:
    """A translatable value: the source string of ``text`` (a lazy translation, such as a
    choice's label, or a source string), translated when read."""
    with translation.override(None):
        return {"msgid": str(text)}


def message(
    *,
    subject: str,
    body: str = "",
    params: Mapping[str, Any] | None = None,
    postscript: str = "",
) -> dict[str, Any]:
    return {
        "subject": subject,
        "body": body,
        "params": dict(params or {}),
        "postscript": postscript,
    }


def _value(value: Any) -> Any:
    if not isinstance(value, Mapping):
        return value
    if "msgid" in value:
        text = gettext(str(value["msgid"]))
        params = value.get("params")
        return text % _values(params) if isinstance(params, Mapping) else text
    if "label" in value:
        return label(str(value["label"]), translation.get_language() or "en")
    renderer = _renderers.get(str(value.get("kind", "")))
    return renderer(value) if renderer is not None else ""


def _values(params: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _value(value) for name, value in params.items()}


def message_render(stored: Mapping[str, Any]) -> tuple[str, str]:
    """(subject, body) of a stored message, in the active language."""
    values = _values(stored.get("params") or {})
    subject = gettext(str(stored.get("subject", ""))) % values
    text = gettext(str(stored["body"])) % values if stored.get("body") else ""
    postscript = str(stored.get("postscript") or "")
    body = f"{text}\n\n{postscript}" if text and postscript else text or postscript
    return " ".join(subject.split()), body
