"""Charts drawn on the server as SVG shapes (no script, no inline style: the CSP holds).

Each function turns figures into plain geometry (rectangles, points, labels) that a template
writes out as <rect>, <polyline> and <text> with presentation attributes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 640
BAR_HEIGHT = 26


@dataclass(frozen=True)
class Bar:
    """One horizontal bar: its label, value, share and where it is drawn."""

    label: str
    value: float
    share: float
    y: int
    width: float


def funnel(steps: Sequence[tuple[str, float]], width: int = WIDTH - 220) -> list[Bar]:
    """Horizontal bars, each as wide as its share of the first step."""
    first = steps[0][1] if steps and steps[0][1] else 0.0
    bars = []
    for index, (label, value) in enumerate(steps):
        share = value / first if first else 0.0
        bars.append(Bar(label, value, share, 8 + index * (BAR_HEIGHT + 8), max(share * width, 1)))
    return bars


@dataclass(frozen=True)
class Trend:
    """Conversations per day as columns, the first-response rate as a line over them."""

    columns: list[tuple[str, float, float, float, float]]  # label, value, x, y, height
    line: str  # polyline points
    points: list[tuple[str, float, float, float]]  # label, rate, x, y
    height: int
    peak: float


def trend(days: Sequence[tuple[str, float, float | None]], height: int = 160) -> Trend:
    """(day, conversations, first_response_rate) in order -> geometry for a 640-wide chart."""
    peak = max((value for _, value, _ in days), default=0.0) or 1.0
    step = (WIDTH - 60) / max(len(days), 1)
    columns, points = [], []
    for index, (label, value, rate) in enumerate(days):
        x = 40 + index * step
        bar = (value / peak) * (height - 30)
        columns.append((label, value, x + step * 0.15, height - 20 - bar, bar))
        if rate is not None:
            points.append((label, rate, x + step / 2, height - 20 - rate * (height - 30)))
    line = " ".join(f"{x:.1f},{y:.1f}" for _, _, x, y in points)
    return Trend(columns=columns, line=line, points=points, height=height, peak=peak)


def stacked(
    parts: Sequence[tuple[str, float]], width: int = WIDTH
) -> list[tuple[str, float, float, float]]:
    """(label, value) -> (label, value, x, width) of one stacked bar across `width`."""
    total = sum(value for _, value in parts) or 1.0
    x = 0.0
    out = []
    for label, value in parts:
        w = value / total * width
        out.append((label, value, x, w))
        x += w
    return out
