from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from contact_points.forms import DirectorySearchForm
from contact_points.selectors import (
    DirectoryQuery,
    authority_detail,
    authority_page_details,
    authority_search,
)

PAGE_SIZE = 50


def directory_search(request: HttpRequest) -> HttpResponse:
    form = DirectorySearchForm(request.GET or None)
    query = form.to_query() if form.is_valid() else DirectoryQuery()
    searched = form.is_bound and form.is_valid()
    page = Paginator(authority_search(query=query), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = authority_page_details(authorities=page.object_list)
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "contact_points/search.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "searched": searched,
            "params": params.urlencode(),
        },
    )


def authority_page(request: HttpRequest, identifier: str) -> HttpResponse:
    authority = authority_detail(identifier=identifier)
    if authority is None:
        raise Http404
    accepted = {policy.instrument: policy for policy in authority.country.accepted_languages.all()}
    instruments = [
        (link, accepted.get(link.instrument)) for link in authority.instrument_links.all()
    ]
    return render(
        request,
        "contact_points/authority_detail.html",
        {"authority": authority, "instruments": instruments},
    )
