"""Polish public holidays, from the `holidays` library, with names for the four languages."""

import datetime as dt
import functools

import holidays

from scheduling.rules.model import LANGUAGES

_HOLIDAY_LANGUAGE = {"pl": "pl", "en": "en_US", "uk": "uk", "ru": "en_US"}  # ru: ours, below

#: Russian names of every Polish public holiday the library knows (it has no Russian), by its
#: English name; the names Russian-speaking Catholics in Poland read on a calendar.
RUSSIAN_NAMES = {
    "New Year's Day": "Новый год",
    "Epiphany": "Богоявление (праздник Трёх королей)",
    "Easter Sunday": "Пасха",
    "Easter Monday": "Пасхальный понедельник",
    "National Day": "Государственный праздник (1 мая)",
    "National Day of the Third of May": "День Конституции 3 мая",
    "Pentecost": "Пятидесятница (Троица)",
    "Corpus Christi": "Праздник Тела и Крови Христовых",
    "Assumption Day": "Успение Пресвятой Девы Марии",
    "All Saints' Day": "День всех святых",
    "National Independence Day": "День независимости",
    "National Independence Day - 100th anniversary": "100-летие независимости Польши",
    "Christmas Eve": "Сочельник",
    "Christmas Day": "Рождество Христово (первый день)",
    "Second Day of Christmas": "Рождество Христово (второй день)",
}


@functools.lru_cache(maxsize=64)
def _holiday_names(year: int, language: str) -> dict[dt.date, str]:
    if language not in holidays.Poland.supported_languages:
        language = "en_US"
    return dict(holidays.Poland(years=year, language=language))


def polish_holiday_labels(start: dt.date, end: dt.date) -> dict[dt.date, dict[str, str]]:
    """Polish public holidays in [start, end] with their names in pl/en/uk/ru."""
    labels: dict[dt.date, dict[str, str]] = {}
    for year in range(start.year, end.year + 1):
        for day in _holiday_names(year, "pl"):
            if start <= day <= end:
                labels[day] = {
                    lang: _holiday_names(year, _HOLIDAY_LANGUAGE[lang])[day] for lang in LANGUAGES
                }
                english = labels[day]["ru"]  # a name added to the library later stays English
                labels[day]["ru"] = RUSSIAN_NAMES.get(english, english)
    return labels


def polish_holidays(start: dt.date, end: dt.date) -> dict[dt.date, str]:
    """Polish public holidays in [start, end] with their Polish names."""
    return {day: label["pl"] for day, label in polish_holiday_labels(start, end).items()}
