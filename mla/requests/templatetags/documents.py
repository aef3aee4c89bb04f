from django import template
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.filter
def css_string(value: object) -> SafeString:
    """``value`` as the inside of a double-quoted CSS string (for @page margin boxes).

    Every character outside a small safe set becomes a CSS hex escape, so that nothing in
    the value can close the string or the rule.
    """
    out = []
    for char in str(value):
        if char.isalnum() or char in " -_.:/,()+":
            out.append(char)
        else:
            out.append(f"\\{ord(char):x} ")
    return mark_safe("".join(out))  # noqa: S308  # every other character is escaped above
