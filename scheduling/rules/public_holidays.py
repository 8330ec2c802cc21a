"""Polish public holidays, from the `holidays` library, with names for the four languages."""

import datetime as dt
import functools

import holidays

from scheduling.rules.model import LANGUAGES

_HOLIDAY_LANGUAGE = {"pl": "pl", "en": "en_US", "uk": "uk", "ru": "en_US"}  # no Russian names


@functools.lru_cache(maxsize=64)
def _holiday_names(year: int, language: str) -> dict[dt.date, str]:
    if language not in holidays.Poland.supported_languages:
        language = "en_US"
    return dict(holidays.Poland(years=year, language=language))


def polish_holiday_labels(start: dt.date, end: dt.date) -> dict[dt.date, dict[str, str]]:
    """Polish public holidays in [start, end] with their names in pl/en/uk (ru falls back to en)."""
    labels: dict[dt.date, dict[str, str]] = {}
    for year in range(start.year, end.year + 1):
        for day in _holiday_names(year, "pl"):
            if start <= day <= end:
                labels[day] = {
                    lang: _holiday_names(year, _HOLIDAY_LANGUAGE[lang])[day] for lang in LANGUAGES
                }
    return labels


def polish_holidays(start: dt.date, end: dt.date) -> dict[dt.date, str]:
    """Polish public holidays in [start, end] with their Polish names."""
    return {day: label["pl"] for day, label in polish_holiday_labels(start, end).items()}
