"""The administration's lists of languages (ISO 639-1: some 180 options each), written in
Python rather than through a template per option, which made them most of the time of an
authority's change form. The HTML is exactly Django's (select.html, select_option.html
and attrs.html)."""

from collections.abc import Callable
from typing import Any

from django.contrib.admin.options import BaseModelAdmin
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.db.models import ManyToManyField
from django.forms import ModelMultipleChoiceField
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe


def attrs_html(attrs: dict[str, Any]) -> SafeString:
    """django/forms/widgets/attrs.html: each name and value escaped."""
    return mark_safe(  # noqa: S308 - every piece is escaped by format_html
        "".join(
            format_html(" {}", name) if value is True else format_html(' {}="{}"', name, str(value))
            for name, value in attrs.items()
            if value is not False
        )
    )


def select_html(widget: dict[str, Any]) -> SafeString:
    """django/forms/widgets/select.html with select_option.html for each option."""
    start = format_html('<select name="{}"{}>', widget["name"], attrs_html(widget["attrs"]))
    parts: list[str] = [start]
    for group_name, group_choices, _index in widget["optgroups"]:
        if group_name:
            parts.append(format_html('\n  <optgroup label="{}">', group_name))
        for option in group_choices:
            parts.append(
                format_html(
                    '\n  <option value="{}"{}>{}</option>\n',
                    str(option["value"]),
                    attrs_html(option["attrs"]),
                    option["label"],
                )
            )
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return mark_safe("".join(parts))  # noqa: S308 - every piece is escaped by format_html


class QuickFilteredSelectMultiple(FilteredSelectMultiple):
    """The admin's two-box selector, its options written without a template each."""

    def _render(self, template_name: str, context: dict[str, Any], renderer: Any = None) -> str:
        return select_html(context["widget"])


class QuickLanguageListsMixin(BaseModelAdmin):
    """For an admin (or inline) with ``filter_horizontal`` many-to-many fields."""

    def formfield_for_manytomany(
        self, db_field: "ManyToManyField[Any, Any]", request: HttpRequest, **kwargs: Any
    ) -> "ModelMultipleChoiceField[Any] | None":
        quick = "widget" not in kwargs and db_field.name in self.filter_horizontal
        if quick:
            kwargs["widget"] = QuickFilteredSelectMultiple(db_field.verbose_name, False)
        formfield = super().formfield_for_manytomany(db_field, request, **kwargs)
        if quick and formfield is not None:
            formfield.choices = _read_once(formfield)
        return formfield


def _read_once(field: "ModelMultipleChoiceField[Any]") -> Callable[[], list[tuple[str, Any]]]:
    """The field's options, read when first shown and then kept for every form of the page
    that shows them (an authority's page has one for each of its contact persons): the
    forms' copies share this function. Choosing is still checked against the database when
    the form is saved."""
    read: list[tuple[str, Any]] = []

    def options() -> list[tuple[str, Any]]:
        if not read:
            read.extend((str(value), text) for value, text in field.iterator(field))
        return read

    return options
