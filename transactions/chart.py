"""The balance-over-time chart of the admin's account page: an SVG drawn on the server from the entries.

No script and no chart library: a step line through each entry's running
balance (``balance_after``) at its posting time, the last ``MAX_POINTS``
entries, with the range's lowest and highest balance and its first and last
day as labels. Served inline with the page, so nothing comes from a CDN.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from accounts.models import Account
from core.adminkit import money
from transactions.models import Entry

MAX_POINTS = 500
WIDTH, HEIGHT, PAD = 640, 180, 8


def balance_points(account: Account) -> list[tuple[float, int]]:
    """(posting time as a timestamp, balance after) of the account's latest entries, oldest first."""
    latest = Entry.objects.filter(account=account).order_by("-sequence").values_list("created_at", "balance_after")
    return [(at.timestamp(), balance) for at, balance in reversed(latest[:MAX_POINTS])]


def balance_chart(account: Account) -> SafeString:
    points = balance_points(account)
    if not points:
        return format_html('<p id="balance-chart-empty">{}</p>', "No entries yet: nothing to chart.")
    times, balances = [t for t, _ in points], [b for _, b in points]
    low, high = min(0, *balances), max(0, *balances)
    start, end = times[0], max(times[-1], times[0] + 1)

    def x(t: float) -> float:
        return PAD + (t - start) / (end - start) * (WIDTH - 2 * PAD)

    def y(balance: int) -> float:
        return HEIGHT - PAD - (balance - low) / ((high - low) or 1) * (HEIGHT - 2 * PAD)

    steps: list[str] = [f"{x(times[0]):.1f},{y(0):.1f}"]
    previous = 0
    for t, balance in points:  # a step: the balance holds until the next entry
        steps += [f"{x(t):.1f},{y(previous):.1f}", f"{x(t):.1f},{y(balance):.1f}"]
        previous = balance
    steps.append(f"{x(end):.1f},{y(previous):.1f}")
    first_day = timezone.localtime(datetime.fromtimestamp(start, tz=UTC)).date()
    last_day = timezone.localtime(datetime.fromtimestamp(times[-1], tz=UTC)).date()
    return format_html(
        '<svg id="balance-chart" xmlns="http://www.w3.org/2000/svg" role="img" width="{w}" height="{h}" '
        'viewBox="0 0 {w} {h}" data-points="{n}"><title>Balance from {d0} to {d1}: lowest {lo}, highest {hi}, '
        "now {now}</title>"
        '<line x1="{p}" x2="{xe}" y1="{y0}" y2="{y0}" stroke="#999" stroke-dasharray="4 3"/>'
        '<polyline fill="none" stroke="#417690" stroke-width="2" points="{steps}"/></svg>'
        '<p class="help">{d0} to {d1} (last {n} entries): lowest {lo}, highest {hi}, now {now}.</p>',
        w=WIDTH,
        h=HEIGHT,
        n=len(points),
        d0=first_day.isoformat(),
        d1=last_day.isoformat(),
        lo=money(min(balances)),
        hi=money(max(balances)),
        now=money(balances[-1]),
        p=PAD,
        xe=WIDTH - PAD,
        y0=f"{y(0):.1f}",
        steps=" ".join(steps),
    )
