import ipaddress

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.utils.html import escape
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from mla.core.client_ip import client_ip
from mla.core.health import node_health


def health_details_allowed(request: HttpRequest) -> bool:
    """Which service failed and how (versions, addresses, errors) is for staff and for the
    monitoring addresses of HEALTHZ_DETAIL_ADDRESSES, never for anyone on the network."""
    if request.user.is_authenticated and request.user.is_staff:
        return True
    try:
        address = ipaddress.ip_address(client_ip(request))
    except ValueError:
        return False
    return any(address in network for network in _detail_networks())


def _detail_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    networks = []
    for entry in settings.HEALTHZ_DETAIL_ADDRESSES:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            # A mistyped entry allows no one; the others still apply.
            continue
    return networks


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks = node_health()
    healthy = all(check["ok"] for check in checks.values())
    shown: dict[str, object] = (
        dict(checks)
        if health_details_allowed(request)
        else {name: "ok" if check["ok"] else "unavailable" for name, check in checks.items()}
    )
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": shown},
        status=200 if healthy else 503,
    )


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "core/home.html")


def server_error(request: HttpRequest) -> HttpResponse:
    """The page of an unexpected error (handler500), in the interface language.

    Rendered without the request's context and without the database, since either may be
    what failed: no context processors (the header's notification count reads the
    database), only the node's name from the settings. If even that template cannot be
    rendered, a plain page says the same."""
    try:
        body = loader.get_template("500.html").render({"NODE_NAME": settings.NODE_NAME})
    except Exception:  # the last resort must answer, whatever failed
        title = escape(gettext("Something went wrong"))
        text = escape(gettext("The server could not complete this page."))
        body = (
            f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title></head>'
            f"<body><h1>{title}</h1><p>{text}</p></body></html>"
        )
    return HttpResponseServerError(body)
