"""Strict reading of the canonical JSON of manifests and receipts, field by field."""

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from django.utils.translation import gettext as _

from mla.exchange.wire.errors import malformed
from mla.requests.models import canonical_json

IDENTIFIER_PATTERN = re.compile(r"[-a-zA-Z0-9_]{1,100}")
UUID_PATTERN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SHA256_PATTERN = re.compile(r"[0-9a-f]{64}")
TIMESTAMP_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
MEDIA_TYPE_PATTERN = re.compile(
    r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}"
)
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def format_time(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=UTC)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def canonical_object(raw: bytes, *, part: str) -> dict[str, Any]:
    """A JSON object from ``raw``, which must already be in canonical form."""
    try:
        parsed = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise malformed(
            _("%(part)s is not valid JSON: %(error)s") % {"part": part, "error": error}
        ) from error
    if not isinstance(parsed, dict):
        raise malformed(_("%(part)s is not a JSON object.") % {"part": part})
    try:
        canonical = canonical_json(parsed)
    except (TypeError, ValueError, RecursionError) as error:
        raise malformed(str(error)) from error
    if canonical != raw:
        # Equal bytes are what was signed and digested: nothing may hide in the formatting.
        raise malformed(
            _("%(part)s is not in canonical form (sorted keys, no spaces, UTF-8).") % {"part": part}
        )
    return parsed


def exact_keys(value: Mapping[str, Any], keys: set[str], *, part: str) -> None:
    if set(value) != keys:
        missing, extra = sorted(keys - set(value)), sorted(set(value) - keys)
        raise malformed(
            _("%(part)s has missing fields %(missing)s or unknown fields %(extra)s.")
            % {"part": part, "missing": missing, "extra": extra}
        )


def string_value(
    value: Any, name: str, pattern: re.Pattern[str] | None = None, limit: int = 255
) -> str:
    if (
        not isinstance(value, str)
        or len(value) > limit
        or (pattern is not None and not pattern.fullmatch(value))
    ):
        raise malformed(_("Field %(name)s has an invalid value.") % {"name": name})
    return value


def timestamp_value(value: Any, name: str) -> datetime:
    text = string_value(value, name, TIMESTAMP_PATTERN)
    try:
        return parse_time(text)
    except ValueError as error:
        raise malformed(_("Field %(name)s has an invalid value.") % {"name": name}) from error
