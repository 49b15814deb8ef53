"""Windowed transfers (spec §9.9): one model's rows cut into time windows, each landed and
committed on its own, so a long backfill keeps its progress when it fails half-way.

A model's ``max_transfer_time_window_seconds`` sets the windows' width. The source is read
once, ordered by the last-modified column (NULLs last), and the stream is cut where a window
ends: windows are aligned on the read's lower bound (or on the oldest row's timestamp when the
read starts from the beginning), and a window without rows costs nothing. Rows whose
last-modified value is NULL cannot be placed in time: they close the last window.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

MICROSECOND = pa.timestamp("us", tz="UTC")


@dataclass(slots=True)
class Piece:
    """One window's rows: ``batches`` must be read to the end before the next piece."""

    since: datetime | None  # None (both): the rows with no last-modified value
    until: datetime | None
    batches: Iterator[pa.RecordBatch] = field(default_factory=lambda: iter(()))
    rows: int = 0
    newest: datetime | None = None


class Windows:
    """Cuts a stream of batches ordered by the column at ``index`` into windows of ``width``."""

    def __init__(
        self,
        batches: Iterator[pa.RecordBatch],
        *,
        index: int,
        width: timedelta,
        origin: datetime | None,
    ) -> None:
        self._batches = batches
        self._index = index
        self._width = width
        self._origin = origin
        self._pending: pa.RecordBatch | None = None

    def __iter__(self) -> Iterator[Piece]:
        while (first := self._peek()) is not None:
            head = self._stamps(first)[0].as_py()
            if head is None:
                piece = Piece(since=None, until=None)
            else:
                if self._origin is None:
                    self._origin = head
                steps = (head - self._origin) // self._width
                since = self._origin + steps * self._width
                piece = Piece(since=since, until=since + self._width)
            piece.batches = self._take(piece)
            yield piece
            # Whatever the caller left unread of this window is not part of the next one.
            for _ in piece.batches:
                pass

    def _peek(self) -> pa.RecordBatch | None:
        while self._pending is None or self._pending.num_rows == 0:
            batch = next(self._batches, None)
            if batch is None:
                return None
            self._pending = batch
        return self._pending

    def _stamps(self, batch: pa.RecordBatch) -> Any:
        column = batch.column(self._index)
        return column if column.type == MICROSECOND else pc.cast(column, MICROSECOND)

    def _take(self, piece: Piece) -> Iterator[pa.RecordBatch]:
        """The batches (or their leading part) whose rows fall before the piece's end."""
        until = piece.until
        while (batch := self._peek()) is not None:
            stamps = self._stamps(batch)
            if until is None:
                inside = batch.num_rows
            else:
                # Ordered with NULLs last: the rows of this window are a prefix of the batch.
                before: Any = pc.less(stamps, pa.scalar(until, MICROSECOND))
                marks: Any = pc.fill_null(before, False)
                inside = int(pc.sum(marks).as_py() or 0)
            if inside == 0:
                return
            taken, self._pending = batch.slice(0, inside), batch.slice(inside)
            newest = pc.max(stamps.slice(0, inside)).as_py()
            if newest is not None and (piece.newest is None or newest > piece.newest):
                piece.newest = newest
            piece.rows += taken.num_rows
            yield taken
