"""Working-day arithmetic on the maintained `holidays` package.

Working days are Monday to Friday, less the bank holidays of the area's jurisdiction
(England and Wales by default).
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays

from bot.domain.errors import InvalidInput

_WEEKEND = {5, 6}


def supported_subdivisions(country: str) -> tuple[str, ...]:
    """Subdivisions the `holidays` package knows for a country (empty if it has none)."""
    try:
        cls = holidays.country_holidays(country).__class__
    except NotImplementedError as error:
        raise InvalidInput(
            "Unknown country code {country!r} for bank holidays.", country=country
        ) from error
    return tuple(getattr(cls, "subdivisions", ()))


class WorkingCalendar:
    """Working days for one jurisdiction, e.g. `WorkingCalendar("GB", "ENG")`."""

    def __init__(self, country: str = "GB", subdivision: str | None = "ENG") -> None:
        known = supported_subdivisions(country)
        if subdivision is not None and subdivision not in known:
            raise InvalidInput(
                "Unknown subdivision {subdivision!r} for {country}: use one of {known}.",
                subdivision=subdivision,
                country=country,
                known=", ".join(known),
            )
        self.country = country
        self.subdivision = subdivision
        # The package computes years lazily as dates are looked up, so one instance serves all.
        self._holidays = _holidays_for(country, subdivision)

    def is_bank_holiday(self, day: date) -> bool:
        return day in self._holidays

    def holiday_name(self, day: date) -> str | None:
        name = self._holidays.get(day)
        return str(name) if name is not None else None

    def is_working_day(self, day: date) -> bool:
        return day.weekday() not in _WEEKEND and not self.is_bank_holiday(day)

    def next_working_day_on_or_after(self, day: date) -> date:
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def deadline(self, after: date, working_days: int) -> date:
        """The date that is the Nth working day after `after` (day 1 is the first one after it).

        E.g. a self-certificate due within 5 working days of a Thursday session, with no
        bank holidays, is due on the next Thursday.
        """
        if working_days < 1:
            raise InvalidInput("A deadline needs at least one working day.")
        day = after
        remaining = working_days
        while remaining:
            day += timedelta(days=1)
            if self.is_working_day(day):
                remaining -= 1
        return day

    def working_days_before(self, day: date, working_days: int) -> date:
        """The working day that is `working_days` working days before `day`."""
        if working_days < 1:
            raise InvalidInput("Counting back needs at least one working day.")
        remaining = working_days
        while remaining:
            day -= timedelta(days=1)
            if self.is_working_day(day):
                remaining -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]; negative when `end` is before `start`.

        `working_days_between(today, due)` is how many working days are left until `due`.
        """
        if end < start:
            return -self.working_days_between(end, start)
        count = 0
        day = start
        while day < end:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count


@lru_cache(maxsize=16)
def _holidays_for(country: str, subdivision: str | None) -> holidays.HolidayBase:
    return holidays.country_holidays(country, subdiv=subdivision)
