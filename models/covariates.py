"""Which covariates a dataset declares, and which candidates use them.

Pure Python (no NumPy or pandas at import), so the spec parser and the API can read it; the
matrices the models learn from are built in ``models.exog``.

A covariate's future is *known* (calendar, holidays, planned prices: its values for the forecast
dates exist at the origin) or *unknown* (weather actuals: observed only afterwards). The
difference decides what a backtest may show a model: ``models.frame.Series.head`` keeps a known
column's values after the cut and drops an unknown one's, so no window sees the future of a
covariate it could not have known.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

CalendarFeature = Literal[
    "day_of_week", "month", "day_of_month", "week_of_year", "day_of_year", "hour", "weekend"
]
CALENDAR_FEATURES = CalendarFeature
CALENDAR_FEATURE_NAMES: tuple[str, ...] = get_args(CalendarFeature)
HOLIDAY_FEATURES = ("holiday", "holiday_eve", "holiday_after")  # the day, the day before, the day after

# The candidates that learn from covariates, and how (the API says when a model ignores them).
USES_COVARIATES = {
    "gbm": "known covariates at each target date, unknown ones at the origin",
    "prophet": "holidays as Prophet holidays, known columns as regressors",
    "arima": "regression on the known covariates with ARIMA errors",
}


@dataclass(frozen=True)
class Covariates:
    """The covariates one dataset declares (the spec's ``covariates``, ``calendar``, ``holidays``)."""

    known: tuple[str, ...] = ()  # source columns whose future values are known at the origin
    unknown: tuple[str, ...] = ()  # source columns observed only up to the origin
    calendar: tuple[str, ...] = ()  # generated from the dates (CALENDAR_FEATURE_NAMES)
    holidays: str | None = None  # country code ("US", or "US-NY" with a subdivision)

    def __post_init__(self) -> None:
        unknown_features = [f for f in self.calendar if f not in CALENDAR_FEATURE_NAMES]
        if unknown_features:
            raise ValueError(
                f"unknown calendar feature(s) {unknown_features}; choose from {', '.join(CALENDAR_FEATURE_NAMES)}"
            )

    @property
    def columns(self) -> tuple[str, ...]:
        """The source columns, known ones first (the column order of ``Series.x``)."""
        return (*self.known, *self.unknown)

    @property
    def any(self) -> bool:
        return bool(self.columns or self.calendar or self.holidays)

    def describe(self) -> dict[str, object]:
        """What the bundle records, so a roll-forward and the API know what the model was given."""
        return {
            "known": list(self.known),
            "unknown": list(self.unknown),
            "calendar": list(self.calendar),
            "holidays": self.holidays,
        }

    @classmethod
    def from_description(cls, data: dict[str, object] | None) -> Covariates:
        data = data or {}

        def names(key: str) -> tuple[str, ...]:
            value = data.get(key) or []
            return tuple(str(v) for v in value) if isinstance(value, list) else ()

        holidays = data.get("holidays")
        return cls(names("known"), names("unknown"), names("calendar"), str(holidays) if holidays else None)


def uses_covariates(model: str, members: list[str] | None = None) -> bool:
    """Whether a series' chosen model (or any member of its combination) learns from covariates."""
    return any(name in USES_COVARIATES for name in (members or [model]))


def split_holidays(code: str) -> tuple[str, str | None]:
    """("US", None) from "US"; ("US", "NY") from "US-NY"."""
    country, _, subdivision = code.strip().partition("-")
    return country.upper(), (subdivision.upper() or None)


def check_holidays(code: str) -> str:
    """``code`` if the ``holidays`` package knows the country (and subdivision); else a ValueError
    that says how to write it."""
    import holidays

    country, subdivision = split_holidays(code)
    supported = holidays.list_supported_countries()
    if country not in supported:
        raise ValueError(
            f"{code!r} is not a country the holidays package knows; use an ISO 3166 code such as US, GB, DE"
        )
    if subdivision is not None and subdivision not in supported[country]:
        raise ValueError(
            f"{subdivision!r} is not a subdivision of {country}; choose from {', '.join(supported[country][:30])}"
        )
    return f"{country}-{subdivision}" if subdivision else country
