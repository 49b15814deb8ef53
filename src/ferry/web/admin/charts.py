"""Rows transferred per day per destination, drawn as a small stacked bar chart (inline SVG
laid out here, so the page needs no script and no chart library)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.orm import Session

from ferry.db import queries
from ferry.db.base import utcnow
from ferry.db.models import Destination, Transfer
from ferry.scope import Scope

DAYS = 14
SERIES = 5  # destinations drawn apart; the rest are summed as "Other destinations"
PALETTE = ("#1d4ed8", "#0f766e", "#b45309", "#7c3aed", "#be123c", "#6b7280")
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 640, 180, 48, 22, 8
# Transfers whose rows reached the destination (a failed transfer may still have moved some).
_LANDED = ("SUCCESS", "PARTIAL_FAILURE", "ERROR", "CANCELLED")


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    label: str  # what a pointer over the bar reads


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    legend: list[tuple[str, str]]  # (colour, name)
    ticks: list[tuple[float, str]]  # (x, day) under the bars
    top: int  # the value of the highest gridline
    top_y: float
    base_y: float
    total: int
    days: int

    @property
    def is_empty(self) -> bool:
        return self.total == 0


def rows_per_day(
    session: Session, *, scope: Scope, destination_id: uuid.UUID | None = None, days: int = DAYS
) -> Chart:
    """The chart of the last ``days`` days (UTC), of one destination or all of them."""
    today = utcnow().date()
    first = today - timedelta(days=days - 1)
    stmt = (
        queries.select_in(Transfer, scope=scope)
        .join(Destination, Destination.id == Transfer.destination_id)
        .with_only_columns(Transfer.destination_id, Destination.name, Transfer.ended_at)
        .add_columns(Transfer.rows_transferred)
        .where(
            Transfer.status.in_(_LANDED),
            Transfer.ended_at >= datetime.combine(first, time(), tzinfo=UTC),
            Transfer.rows_transferred > 0,
        )
    )
    if destination_id is not None:
        stmt = stmt.where(Transfer.destination_id == destination_id)
    totals: dict[tuple[uuid.UUID, date], int] = {}
    names: dict[uuid.UUID, str] = {}
    for dest_id, name, ended_at, rows in session.execute(stmt):
        day = ended_at.date()
        if day < first:
            continue
        names[dest_id] = name
        totals[dest_id, day] = totals.get((dest_id, day), 0) + int(rows)
    return _layout(totals, names, first, days)


def _layout(
    totals: dict[tuple[uuid.UUID, date], int], names: dict[uuid.UUID, str], first: date, days: int
) -> Chart:
    by_destination: dict[uuid.UUID, int] = {}
    for (dest_id, _day), rows in totals.items():
        by_destination[dest_id] = by_destination.get(dest_id, 0) + rows
    ranked = sorted(by_destination, key=lambda d: (-by_destination[d], names[d]))
    series: dict[uuid.UUID | None, tuple[str, str]] = {
        d: (PALETTE[i], names[d]) for i, d in enumerate(ranked[:SERIES])
    }
    if len(ranked) > SERIES:
        series[None] = (PALETTE[-1], "Other destinations")
    stacked: dict[tuple[uuid.UUID | None, date], int] = {}
    for (dest_id, day), rows in totals.items():
        key = dest_id if dest_id in series else None
        stacked[key, day] = stacked.get((key, day), 0) + rows
    day_totals = [
        sum(v for (_, d), v in stacked.items() if d == first + timedelta(days=i))
        for i in range(days)
    ]
    top = _nice(max(day_totals, default=0))
    base_y, plot_height = float(HEIGHT - BOTTOM), float(HEIGHT - BOTTOM - TOP)
    slot = (WIDTH - LEFT) / days
    bars: list[Bar] = []
    ticks: list[tuple[float, str]] = []
    for i in range(days):
        day = first + timedelta(days=i)
        x = LEFT + i * slot + slot * 0.15
        y = base_y
        for key, (colour, name) in series.items():
            rows = stacked.get((key, day), 0)
            if not rows:
                continue
            height = max(1.0, plot_height * rows / top)
            y -= height
            label = f"{name}, {day.isoformat()}: {rows:,} rows"
            bars.append(
                Bar(round(x, 1), round(y, 1), round(slot * 0.7, 1), round(height, 1), colour, label)
            )
        if i % 2 == (days - 1) % 2:  # every other day, always the last one
            ticks.append((round(x + slot * 0.35, 1), day.strftime("%b %d")))
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        bars=bars,
        legend=list(series.values()),
        ticks=ticks,
        top=top,
        top_y=float(TOP),
        base_y=base_y,
        total=sum(day_totals),
        days=days,
    )


def _nice(value: int) -> int:
    """A round number at least ``value`` (1, 2 or 5 times a power of ten), for the scale."""
    if value <= 0:
        return 1
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10
