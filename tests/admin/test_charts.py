"""The rows-per-day chart's layout: stacked bars per destination, a round scale, a legend."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from ferry.web.admin import charts


def test_bars_stack_per_day_and_small_destinations_are_summed() -> None:
    first = date(2026, 3, 1)
    ids = [uuid.uuid4() for _ in range(7)]
    names = {d: f"dest {i}" for i, d in enumerate(ids)}
    totals = {(d, first + timedelta(days=i % 3)): (i + 1) * 100 for i, d in enumerate(ids)}
    chart = charts._layout(totals, names, first, 14)
    assert chart.total == sum(totals.values())
    assert chart.top == 2000  # the busiest day holds 1,200 rows (100 + 400 + 700)
    assert [name for _, name in chart.legend] == [
        "dest 6",
        "dest 5",
        "dest 4",
        "dest 3",
        "dest 2",
        "Other destinations",
    ]
    day_one = [b for b in chart.bars if "2026-03-01" in b.label]
    assert sum(b.height for b in day_one) <= chart.base_y - chart.top_y + 0.5
    assert any(b.label == "Other destinations, 2026-03-01: 100 rows" for b in day_one)
    assert len(chart.ticks) == 7


def test_an_empty_chart() -> None:
    chart = charts._layout({}, {}, date(2026, 3, 1), 14)
    assert chart.is_empty
    assert chart.bars == []
