"""Durations such as ``3y`` or ``15d`` and calendar arithmetic on dates.

Month and year steps clamp to the month's last day (2020-02-29 + 1y = 2021-02-28),
which is what ``dateutil.relativedelta`` does; we never add "365 days" for a year.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from dateutil.relativedelta import relativedelta

_PATTERN = re.compile(r"^([1-9][0-9]{0,4})([dwmy])$")
UNITS = {"d": "days", "w": "weeks", "m": "months", "y": "years"}


@dataclass(frozen=True, order=True)
class Duration:
    """A whole number of days, weeks, calendar months or calendar years."""

    amount: int
    unit: str  # one of "d", "w", "m", "y"

    @classmethod
    def parse(cls, text: str) -> Duration:
        """Read ``<integer><unit>``; raise ValueError with the reason otherwise."""
        match = _PATTERN.match(text.strip()) if isinstance(text, str) else None
        if not match:
            raise ValueError(
                f"{text!r} is not a duration; write <integer><unit> with unit d, w, m or y, "
                "e.g. \"15d\", \"2y\""
            )
        return cls(int(match.group(1)), match.group(2))

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"

    @property
    def delta(self) -> relativedelta:
        return relativedelta(**{UNITS[self.unit]: self.amount})

    def after(self, day: date) -> date:
        """The date this long after ``day`` (month ends clamp)."""
        return day + self.delta

    def before(self, day: date) -> date:
        """The date this long before ``day`` (month ends clamp)."""
        return day - self.delta

    def approx_days(self) -> float:
        """Length in days, for comparing durations of different units (lint, compare)."""
        return self.amount * {"d": 1.0, "w": 7.0, "m": 30.4375, "y": 365.25}[self.unit]
