from collections.abc import Sequence

from django import template
from django.utils.formats import number_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from mla.requests.models import Request
from mla.statistics.charts import Bar, svg_bar_chart
from mla.statistics.queries import DurationRow, Spread, Tally, can_see_statistics

register = template.Library()


@register.filter(name="can_see_statistics")
def can_see_statistics_filter(user: object) -> bool:
    """Whether the statistics are in the user's menu (supervisors and auditors)."""
    return can_see_statistics(user=user)


@register.filter
def hours(value: float | None) -> str:
    """A duration in hours, one decimal; a dash when there is none."""
    return "—" if value is None else number_format(value, decimal_pos=1)


@register.filter
def direction_label(direction: str) -> str:
    values = Request.Direction.values
    return str(Request.Direction(direction).label) if direction in values else direction


@register.simple_tag
def tally_chart(tallies: Sequence[Tally], title: str, chart_id: str = "") -> SafeString:
    bars = [Bar(label=tally.label, values=[tally.count]) for tally in tallies]
    return svg_bar_chart(title=title, bars=bars, chart_id=chart_id)


@register.simple_tag
def duration_chart(
    rows: Sequence[DurationRow], measure: str, title: str, chart_id: str = ""
) -> SafeString:
    """Median and 90th percentile of one measure (acknowledge, decide, execute), in hours,
    per direction, country and instrument; rows without any such duration are left out."""
    bars = []
    for row in rows:
        spread: Spread = getattr(row, measure)
        if spread.n:
            bars.append(
                Bar(
                    label=f"{direction_label(row.direction)} · {row.label}",
                    values=[spread.median, spread.p90],
                )
            )
    return svg_bar_chart(
        title=title,
        bars=bars,
        series=[_("Median"), _("90th percentile")],
        unit=_("h"),
        decimals=1,
        chart_id=chart_id,
        caption=True,
    )


@register.simple_tag
def tally_table(tallies: Sequence[Tally], heading: str) -> SafeString:
    """The figures of a chart as a table: ``heading`` over the keys, then the count."""
    if not tallies:
        return format_html("<p>{}</p>", _("Nothing in this period."))
    rows = format_html_join(
        "", "<tr><td>{}</td><td>{}</td></tr>", ((t.label, t.count) for t in tallies)
    )
    return format_html(
        '<table class="results"><thead><tr><th scope="col">{}</th><th scope="col">{}</th>'
        "</tr></thead><tbody>{}</tbody></table>",
        heading,
        _("Requests"),
        rows,
    )
