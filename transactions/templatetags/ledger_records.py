"""``{% balance_chart original %}``: the account page's chart (transactions.chart), for the template piece."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from accounts.models import Account
from transactions.chart import balance_chart as draw

register = template.Library()


@register.simple_tag
def balance_chart(account: Account) -> SafeString:
    return draw(account)
