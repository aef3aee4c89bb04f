"""The statistics page of an authority and its CSV export. Thin: read the filters, ask the
selector, render. Only the authority's supervisors and auditors see them; for anyone else
the page does not exist (404)."""

import csv
from typing import Any

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from contact_points.instruments import Instrument
from mla.accounts.models import User
from mla.core.errors import ApplicationError
from mla.core.spreadsheet import csv_cell_neutralised
from mla.requests.models import Request
from mla.statistics.eevidence import (
    EevidenceStatistics,
    eevidence_period,
    eevidence_statistics_for_user,
    eevidence_statistics_rows,
)
from mla.statistics.queries import (
    BOTH,
    LAPSED_PAGE_LIMIT,
    AuthorityStatistics,
    StatisticsFilter,
    can_see_statistics,
    offence_choices,
    statistics_for_user,
    statistics_rows,
)


def _reader(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User) or not can_see_statistics(user=user):
        raise Http404
    return user


class StatisticsFilterForm(forms.Form):
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    direction = forms.ChoiceField(
        label=_("Direction"),
        required=False,
        choices=[(BOTH, _("Both directions")), *Request.Direction.choices],
    )
    instrument = forms.ChoiceField(
        label=_("Instrument"), required=False, choices=[("", _("Any")), *Instrument.choices]
    )
    offence = forms.ChoiceField(
        label=_("Offence category"),
        required=False,
        # The Annex D labels are long: the list stays within the form, the options show whole.
        widget=forms.Select(attrs={"class": "offence-select"}),
    )

    def __init__(self, data: Any, *, language: str) -> None:
        super().__init__(data)
        field = self.fields["offence"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", _("Any")), *offence_choices(language)]

    def filters(self) -> StatisticsFilter:
        data = self.cleaned_data
        return StatisticsFilter(
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            direction=data.get("direction") or BOTH,
            instrument=data.get("instrument") or "",
            offence=data.get("offence") or "",
        )


def _statistics(
    request: HttpRequest, *, lapsed_limit: int | None
) -> tuple[StatisticsFilterForm, AuthorityStatistics | None]:
    user = _reader(request)
    form = StatisticsFilterForm(request.GET, language=get_language())
    if not form.is_valid():
        return form, None
    try:
        found = statistics_for_user(user=user, filters=form.filters(), lapsed_limit=lapsed_limit)
    except ApplicationError as error:
        field = error.extra.get("field")
        form.add_error(field if field in form.fields else None, error.message)
        return form, None
    return form, found


@require_GET
def statistics(request: HttpRequest) -> HttpResponse:
    form, found = _statistics(request, lapsed_limit=LAPSED_PAGE_LIMIT)
    return render(
        request,
        "statistics/statistics.html",
        {"form": form, "statistics": found, "query": request.GET.urlencode()},
    )


@require_GET
def statistics_csv(request: HttpRequest) -> HttpResponse:
    form, found = _statistics(request, lapsed_limit=None)
    if found is None:
        errors = "; ".join(
            str(message) for messages in form.errors.values() for message in messages
        )
        return HttpResponse(errors, status=400, content_type="text/plain; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="statistics-{slugify(found.authority.identifier)}-{stamp}.csv"'
    )
    writer = csv.writer(response)
    writer.writerow(["section", "key", "label", "metric", "value"])
    for row in statistics_rows(found):
        writer.writerow([csv_cell_neutralised(value) for value in row])
    return response


# Art. 28 of Regulation (EU) 2023/1543 (e-Evidence) ------------------------------------


class EevidencePeriodForm(forms.Form):
    year = forms.IntegerField(label=_("Year"), required=False, min_value=1, max_value=9998)
    date_from = forms.DateField(
        label=_("or from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


def _eevidence(request: HttpRequest) -> tuple[EevidencePeriodForm, EevidenceStatistics | None]:
    user = _reader(request)
    form = EevidencePeriodForm(request.GET)
    if not form.is_valid():
        return form, None
    data = form.cleaned_data
    try:
        period = eevidence_period(
            authority=user.authority,
            year=data.get("year"),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )
        found = eevidence_statistics_for_user(user=user, period=period)
    except ApplicationError as error:
        field = error.extra.get("field")
        form.add_error(field if field in form.fields else None, error.message)
        return form, None
    return form, found


@require_GET
def eevidence_statistics_page(request: HttpRequest) -> HttpResponse:
    form, found = _eevidence(request)
    return render(
        request,
        "statistics/eevidence.html",
        {"form": form, "statistics": found, "query": request.GET.urlencode()},
    )


@require_GET
def eevidence_statistics_csv(request: HttpRequest) -> HttpResponse:
    form, found = _eevidence(request)
    if found is None:
        errors = "; ".join(
            str(message) for messages in form.errors.values() for message in messages
        )
        return HttpResponse(errors, status=400, content_type="text/plain; charset=utf-8")
    period = found.period
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="e-evidence-statistics-{slugify(found.authority.identifier)}-'
        f'{period.date_from:%Y%m%d}-{period.date_to:%Y%m%d}.csv"'
    )
    writer = csv.writer(response)
    writer.writerow(["side", "section", "key", "label", "metric", "value"])
    for row in eevidence_statistics_rows(found):
        writer.writerow([csv_cell_neutralised(value) for value in row])
    return response
