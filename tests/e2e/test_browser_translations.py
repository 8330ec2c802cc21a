"""The pages' catalogs: every word the pages show is translated into Polish, Ukrainian and
Russian, and the committed .mo files are the compiled .po files (`make translations`)."""

from __future__ import annotations

import gettext
import io
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from web import i18n

WEB = Path(i18n.__file__).parent
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "N_plural": (1, 2)}
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2")]


def _catalog(language: str):
    path = i18n.LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    return read_po(path.open("rb"), locale=language)


def _key(value: object) -> object:
    return tuple(value) if isinstance(value, list | tuple) else value


def _used_msgids() -> set[str]:
    found = extract_from_dir(str(WEB), METHODS, keywords=KEYWORDS)
    return {(m if isinstance(m, str) else m[0]) for _, _, m, _, _ in found}


@pytest.mark.parametrize("language", ["pl", "uk", "ru"])
def test_every_word_on_the_pages_is_translated(language):
    catalog = _catalog(language)
    translated = {
        (m.id if isinstance(m.id, str) else m.id[0])
        for m in catalog
        if m.id and (all(m.string) if isinstance(m.string, tuple) else m.string)
    }
    missing = sorted(_used_msgids() - translated)
    assert not missing, f"untranslated in {language} (run `make translations`): {missing}"
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert not fuzzy, f"fuzzy entries in {language}: {fuzzy}"


@pytest.mark.parametrize("language", ["pl", "uk", "ru"])  # English is the msgids themselves
def test_the_committed_mo_files_are_the_compiled_po_files(language):
    folder = i18n.LOCALE_DIR / language / "LC_MESSAGES"
    compiled = read_mo(io.BytesIO((folder / "messages.mo").read_bytes()))

    def entries(catalog) -> dict[object, object]:
        return {
            _key(m.id): _key(m.string)
            for m in catalog
            if m.id and m.string and (m.string if isinstance(m.string, str) else any(m.string))
        }

    source, in_mo = entries(_catalog(language)), entries(compiled)
    assert in_mo == source, "the .mo is older than its .po: run `make translations`"


def test_placeholders_survive_translation():
    for language in ("pl", "uk", "ru"):
        translations = gettext.translation(
            "messages", localedir=i18n.LOCALE_DIR, languages=[language]
        )
        for message in _catalog(language):
            if not message.id or not isinstance(message.id, str) or "%(" not in message.id:
                continue
            names = {part.split(")")[0] for part in message.id.split("%(")[1:]}
            rendered = translations.gettext(message.id) % {name: "X" for name in names}
            assert "%(" not in rendered, (language, message.id)


def test_dates_and_weekdays_are_written_in_the_chosen_language():
    import datetime as dt

    tuesday = dt.date(2026, 5, 5)
    assert i18n.day_and_month(tuesday, "pl") == "wtorek, 5 maja"
    assert i18n.day_and_month(tuesday, "uk") == "вівторок, 5 травня"
    assert i18n.day_and_month(tuesday, "ru") == "вторник, 5 мая"
    assert i18n.day_and_month(tuesday, "en") == "Tuesday, 5 May"


def test_the_language_is_the_switch_s_then_the_browser_s_then_english():
    assert i18n.choose(None, "uk", "pl-PL,pl;q=0.9") == "uk"
    assert i18n.choose("ru", "uk", "pl") == "ru"
    assert i18n.choose(None, None, "de-DE,de;q=0.9,ru;q=0.8,en;q=0.5") == "ru"
    assert i18n.choose(None, None, "vi-VN", hint="uk") == "uk"
    assert i18n.choose(None, None, "vi-VN") == "en"
    assert i18n.choose(None, "xx", "pl;q=0") == "en"
