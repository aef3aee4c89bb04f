from django.conf import settings
from django.http import HttpRequest


def node(request: HttpRequest) -> dict[str, object]:
    return {"NODE_NAME": settings.NODE_NAME}
