"""Server-side SVG charts for the dashboard: no script, no inline style (the CSP forbids
both), colours from CSS classes, and a title that states the figures for screen readers."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from services.admin.rollout import DailyActivity, Funnel

_BAR_HEIGHT = 22
_LABEL_WIDTH = 130
_FUNNEL_WIDTH = 560


def _svg(width: int, height: int, title_id: str, title: str, body: str) -> Markup:
    return Markup(  # noqa: S704 (every text below is escaped)
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{title_id}" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{title_id}">{escape(title)}</title>{body}</svg>'
    )


def funnel_svg(funnel: Funnel, chart_id: str) -> Markup:
    """One horizontal bar per onboarding step, its length the share of provisioned users."""
    steps = funnel.steps()
    bar_room = _FUNNEL_WIDTH - _LABEL_WIDTH - 90
    parts = []
    for row, (name, count, percent) in enumerate(steps):
        y = row * (_BAR_HEIGHT + 8)
        length = round(bar_room * percent / 100)
        parts.append(
            f'<text class="chart-label" x="0" y="{y + 16}">{escape(name)}</text>'
            f'<rect class="chart-track" x="{_LABEL_WIDTH}" y="{y}" width="{bar_room}" '
            f'height="{_BAR_HEIGHT}" rx="3"/>'
            f'<rect class="chart-bar funnel-step-{row}" x="{_LABEL_WIDTH}" y="{y}" '
            f'width="{length}" height="{_BAR_HEIGHT}" rx="3"/>'
            f'<text class="chart-value" x="{_LABEL_WIDTH + bar_room + 8}" y="{y + 16}">'
            f"{count} ({percent}%)</text>"
        )
    summary = "; ".join(f"{name}: {count} ({percent}%)" for name, count, percent in steps)
    title = f"Onboarding funnel of {funnel.integration.name}: {summary}"
    height = len(steps) * (_BAR_HEIGHT + 8)
    return _svg(_FUNNEL_WIDTH, height, chart_id, title, "".join(parts))


def _nice_top(values: Sequence[int]) -> int:
    top = max(values, default=0)
    if top <= 4:
        return 4
    step = 10 ** (len(str(top)) - 1)
    return -(-top // step) * step


def activity_svg(activity: DailyActivity, chart_id: str) -> Markup:
    """Invitations and enrollments per day as paired columns, with a scale and date marks."""
    left, top_pad, plot_height, column = 40, 10, 160, 18
    width = left + column * len(activity.days) + 10
    height = top_pad + plot_height + 34
    top = _nice_top([*activity.invitations, *activity.enrollments])
    base = top_pad + plot_height
    parts = [
        f'<line class="chart-axis" x1="{left}" y1="{base}" x2="{width - 10}" y2="{base}"/>',
        f'<text class="chart-scale" x="{left - 6}" y="{top_pad + 4}" '
        f'text-anchor="end">{top}</text>',
        f'<text class="chart-scale" x="{left - 6}" y="{base}" text-anchor="end">0</text>',
    ]
    series = zip(activity.days, activity.invitations, activity.enrollments, strict=True)
    for index, (day, invited, enrolled) in enumerate(series):
        x = left + index * column
        for offset, value, kind in ((2, invited, "invitations"), (9, enrolled, "enrollments")):
            bar = round(plot_height * value / top)
            parts.append(
                f'<rect class="chart-bar chart-{kind}" x="{x + offset}" y="{base - bar}" '
                f'width="7" height="{bar}"><title>{day:%d %b}: {value} {kind}</title></rect>'
            )
        if (len(activity.days) - 1 - index) % 7 == 0:  # a mark a week, ending today
            parts.append(
                f'<text class="chart-scale" x="{x + 9}" y="{base + 16}" '
                f'text-anchor="middle">{day:%d %b}</text>'
            )
    title = (
        f"Invitations and enrollments per day, {activity.days[0]:%d %b} to "
        f"{activity.days[-1]:%d %b}: {sum(activity.invitations)} invitations, "
        f"{sum(activity.enrollments)} enrollments; each day's figures are in the table below"
    )
    return _svg(width, height, chart_id, title, "".join(parts))
