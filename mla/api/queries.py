"""Query strings are held to their schema: a parameter the endpoint does not know is refused
(422), not ignored, so that a misspelt filter never silently widens a list."""

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Schema

from mla.core.errors import ApplicationError


def query_known_check(*, http_request: HttpRequest, schema: type[Schema]) -> None:
    unknown = sorted(set(http_request.GET) - set(schema.model_fields))
    if unknown:
        raise ApplicationError(
            _("Unknown query parameter: %(names)s.") % {"names": ", ".join(unknown[:10])},
            code="invalid",
            extra={"problems": []},
        )
