"""{{ amount|cents }}: integer cents as "$1,234.56" (negative: "−$12.00"); {{ n|units }}: "1,234,567"."""

from django import template

register = template.Library()


@register.filter
def cents(value) -> str:
    if value is None or value == "":
        return ""
    value = int(value)
    sign = "\u2212" if value < 0 else ""
    value = abs(value)
    return f"{sign}${value // 100:,}.{value % 100:02d}"


@register.filter
def units(value) -> str:
    return "" if value is None else f"{int(value):,}"
