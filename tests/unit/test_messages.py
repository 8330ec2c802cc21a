"""E-mail messages about a visit in Polish, English, Ukrainian and Russian, text and HTML."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from notifications.invitation import VisitSnapshot
from notifications.messages import (
    CATALOGS,
    MessageKind,
    OfferedTime,
    RenderedMessage,
    render_message,
)
from notifications.messages.catalog import Catalog, KindText

LANGUAGES = ["pl", "en", "uk", "ru"]
CONFIRM_URL = "https://wizyta.example/confirm/KRK-7Q4M-X2?token=q8Zf3-Lx"
REBOOK_URL = "https://wizyta.example/points/krakow-przy-rondzie-6"
MANAGE_URL = "https://wizyta.example/manage/KRK-7Q4M-X2"

POINT_NAME = {
    "pl": "Punkt Informacyjno-Doradczy, Wydział Spraw Cudzoziemców",
    "en": "Information and Advisory Point, Department of Foreigners",
    "uk": "Інформаційно-консультаційний пункт, Відділ у справах іноземців",
    "ru": "Информационно-консультационный пункт, Отдел по делам иностранцев",
}
SERVICE_NAME = {
    "pl": "Status sprawy",
    "en": "Status of a pending case",
    "uk": "Статус справи",
    "ru": "Статус дела",
}
WHAT_TO_BRING = {
    "pl": "Paszport\nNumer sprawy",
    "en": "Passport\nCase number",
    "uk": "Паспорт\nНомер справи",
    "ru": "Паспорт\nНомер дела",
}
CLOSURE = {
    "pl": "Dzień wolny za święto",
    "en": "Day off in lieu of a holiday",
    "uk": "Вихідний за свято",
    "ru": "Выходной за праздник",
}

# Phrases the English catalog uses and no other message may contain.
ENGLISH = ["Hello", "When", "Where", "Booking reference", "What to bring", "Kind regards", "visit"]
ONLY_RUSSIAN_LETTERS = re.compile("[ыэъёЫЭЪЁ]")
ONLY_UKRAINIAN_LETTERS = re.compile("[іїєґІЇЄҐ]")


def a_visit(**changes: object) -> VisitSnapshot:
    visit = VisitSnapshot(
        reference="KRK-7Q4M-X2",
        uid="0b6f1a9e-3d2c-4f51-9a57-2b8e0c1d4f60@wizyta",
        sequence=1,
        status="confirmed",
        start=datetime(2027, 2, 6, 8, 0, tzinfo=UTC),  # a Saturday, 09:00 in Warsaw
        end=datetime(2027, 2, 6, 8, 30, tzinfo=UTC),
        timezone="Europe/Warsaw",
        language="uk",
        visitor_name="Олена Коваленко",
        visitor_email="olena@example.com",
        point_name=POINT_NAME,
        point_address="ul. Przy Rondzie 6, 31-547 Kraków",
        point_email="pid@muw.example",
        service_name=SERVICE_NAME,
        what_to_bring=WHAT_TO_BRING,
        manage_url=MANAGE_URL,
        desk_name="Sala obsługi 1",
    )
    return msgspec.structs.replace(visit, **changes)


def render(kind: MessageKind, language: str = "uk", **changes: object) -> RenderedMessage:
    """Every optional value given, so that every paragraph shows."""
    return render_message(
        kind,
        a_visit(language=language, **changes),
        confirm_url=CONFIRM_URL,
        previous_start=datetime(2027, 2, 5, 13, 0, tzinfo=UTC),
        reason=CLOSURE,
        rebook_url=REBOOK_URL,
    )


def words_of(catalog: Catalog) -> dict[str, str]:
    """Every label and sentence of a catalog by its path, leaving out date patterns."""
    found = {}
    for field in catalog.__struct_fields__:
        value = getattr(catalog, field)
        if isinstance(value, KindText):
            for part in value.__struct_fields__:
                texts = getattr(value, part)
                texts = texts if isinstance(texts, tuple) else (texts,)
                found |= {f"{field}.{part}[{i}]": text for i, text in enumerate(texts) if text}
        elif isinstance(value, str) and field not in ("language", "long_date", "short_date"):
            found[field] = value
    return found


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", list(MessageKind))
def test_every_kind_renders_in_every_language_with_the_visits_facts(
    kind: MessageKind, language: str
) -> None:
    message = render(kind, language)
    assert message.language == language
    assert message.subject and "\n" not in message.subject
    for part in (message.text, message.html):
        assert POINT_NAME[language] in part
        assert "ul. Przy Rondzie 6, 31-547 Kraków" in part
        assert SERVICE_NAME[language] in part
        assert "KRK-7Q4M-X2" in part
        assert "09:00–09:30" in part
        assert "Олена Коваленко" in part
        assert "pid@muw.example" in part


@pytest.mark.parametrize("kind", list(MessageKind))
@pytest.mark.parametrize("language", ["pl", "uk", "ru"])
def test_no_english_leaks_into_a_message_in_another_language(
    kind: MessageKind, language: str
) -> None:
    message = render(kind, language)
    for part in (message.subject, message.text, message.html):
        for phrase in ENGLISH:
            assert phrase not in part, f"{phrase!r} in the {language} {kind}"


@pytest.mark.parametrize("language", ["pl", "uk", "ru"])
def test_no_sentence_of_a_catalog_is_left_as_the_english_one(language: str) -> None:
    english = words_of(CATALOGS["en"])
    translated = words_of(CATALOGS[language])
    assert translated.keys() == english.keys()
    assert [path for path in english if translated[path] == english[path]] == []


def test_every_catalog_has_a_text_for_every_kind_of_message() -> None:
    assert set(CATALOGS) == set(LANGUAGES)
    for catalog in CATALOGS.values():
        assert {kind.value for kind in MessageKind} <= set(Catalog.__struct_fields__)
        assert all(isinstance(catalog.kind(kind), KindText) for kind in MessageKind)


@pytest.mark.parametrize("language", LANGUAGES)
def test_exactly_the_kinds_that_ask_for_a_click_have_a_sentence_above_the_link(
    language: str,
) -> None:
    asking = {kind for kind in MessageKind if CATALOGS[language].kind(kind).action}
    assert asking == {MessageKind.CONFIRMATION_REQUEST, MessageKind.WAITLIST_OFFER}


@pytest.mark.parametrize("kind", list(MessageKind))
def test_ukrainian_and_russian_messages_do_not_mix_their_alphabets(kind: MessageKind) -> None:
    ukrainian, russian = render(kind, "uk"), render(kind, "ru")
    assert not ONLY_RUSSIAN_LETTERS.findall(ukrainian.subject + ukrainian.text)
    assert not ONLY_UKRAINIAN_LETTERS.findall(russian.subject + russian.text)


@pytest.mark.parametrize(
    ("language", "written"),
    [
        ("pl", "sobota, 6 lutego 2027, 09:00–09:30"),
        ("en", "Saturday, 6 February 2027, 09:00–09:30"),
        ("uk", "субота, 6 лютого 2027 р., 09:00–09:30"),
        ("ru", "суббота, 6 февраля 2027 г., 09:00–09:30"),
    ],
)
def test_the_date_is_written_for_people_in_each_language(language: str, written: str) -> None:
    message = render(MessageKind.CONFIRMED, language)
    assert written in message.text
    assert written in message.html


@pytest.mark.parametrize(
    ("language", "short"),
    [
        ("pl", "6 lutego 2027, 09:00"),
        ("en", "6 February 2027, 09:00"),
        ("uk", "6 лютого 2027 р., 09:00"),
        ("ru", "6 февраля 2027 г., 09:00"),
    ],
)
def test_the_reminders_subject_says_the_date_and_time(language: str, short: str) -> None:
    assert short in render(MessageKind.REMINDER, language).subject


@pytest.mark.parametrize(
    ("start", "wall_clock"),
    [
        (datetime(2026, 7, 15, 8, 0, tzinfo=UTC), "10:00–10:30"),  # summer, UTC+2
        (datetime(2027, 1, 15, 8, 0, tzinfo=UTC), "09:00–09:30"),  # winter, UTC+1
        (datetime(2027, 3, 29, 8, 0, tzinfo=UTC), "10:00–10:30"),  # the day after the change
    ],
)
def test_the_time_shown_is_warsaw_wall_clock_time(start: datetime, wall_clock: str) -> None:
    message = render(MessageKind.REMINDER, "en", start=start, end=start + timedelta(minutes=30))
    assert wall_clock in message.text


def test_a_visit_over_midnight_shows_both_days() -> None:
    start = datetime(2027, 2, 6, 22, 30, tzinfo=UTC)
    message = render(MessageKind.CONFIRMED, "pl", start=start, end=start + timedelta(hours=1))
    assert "sobota, 6 lutego 2027, 23:30 – niedziela, 7 lutego 2027, 00:30" in message.text


@pytest.mark.parametrize(("sign", "written"), [("pjm", "pl"), ("ukl", "uk"), ("rsl", "ru")])
def test_a_sign_language_visit_is_written_in_the_matching_language(sign: str, written: str) -> None:
    message = render(MessageKind.CONFIRMED, sign)
    assert message.language == written
    assert f'<html lang="{written}"' in message.html
    assert CATALOGS[written].confirmed.lead[0] in message.text


@pytest.mark.parametrize(
    ("language", "held"),
    [
        ("pl", "tylko wstępnie zarezerwowany"),
        ("en", "only held for you"),
        ("uk", "лише попередньо заброньовано"),
        ("ru", "лишь предварительно забронировано"),
    ],
)
def test_the_confirmation_request_says_the_visit_is_only_held_and_gives_the_link(
    language: str, held: str
) -> None:
    message = render(MessageKind.CONFIRMATION_REQUEST, language)
    assert held in message.text
    assert CONFIRM_URL in message.text
    assert f'<a href="{CONFIRM_URL}">' in message.html


@pytest.mark.parametrize("kind", [MessageKind.CONFIRMATION_REQUEST, MessageKind.WAITLIST_OFFER])
def test_a_message_that_asks_for_a_click_cannot_be_sent_without_its_link(
    kind: MessageKind,
) -> None:
    with pytest.raises(ValueError, match="confirm_url"):
        render_message(kind, a_visit())


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_reminder_says_when_and_where_in_its_first_sentence(language: str) -> None:
    first = render(MessageKind.REMINDER, language).text.split("\n\n")[1]
    assert "09:00–09:30" in first
    assert POINT_NAME[language] in first
    assert "ul. Przy Rondzie 6" in first


@pytest.mark.parametrize(
    ("language", "closed"),
    [
        ("pl", "punkt musi odwołać"),
        ("en", "the office has to cancel"),
        ("uk", "пункт змушений скасувати"),
        ("ru", "пункт вынужден отменить"),
    ],
)
def test_the_office_cancellation_says_who_cancelled_why_and_invites_rebooking(
    language: str, closed: str
) -> None:
    # The same mail serves closures, a retired desk and a clerk's cancel: the reason says which,
    # so the lead does not claim the office is closed.
    message = render(MessageKind.CANCELLED_BY_OFFICE, language)
    assert closed in message.text
    assert CLOSURE[language] in message.text
    assert CATALOGS[language].rebook in message.text
    assert REBOOK_URL in message.text


ACCEPT_URL = "https://wizyta.example/bookings/KRK-AB12-C3/confirm?token=acc3pt"
RELEASE_URL = "https://wizyta.example/bookings/KRK-AB12-C3/release?token=r3l3ase"


def an_alternative(accept_url: str | None = ACCEPT_URL) -> OfferedTime:
    return OfferedTime(
        start=datetime(2027, 2, 9, 10, 0, tzinfo=UTC),
        end=datetime(2027, 2, 9, 10, 30, tzinfo=UTC),
        timezone="Europe/Warsaw",
        until=datetime(2027, 2, 5, 9, 0, tzinfo=UTC),
        point_name={"pl": "Punkt Chłopickiego", "en": "Chłopickiego point"},
        point_address="ul. Chłopickiego 4, 31-000 Kraków",
        accept_url=accept_url,
        release_url=RELEASE_URL,
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_office_cancellation_offers_the_held_alternative_with_accept_and_release_links(
    language: str,
) -> None:
    words = CATALOGS[language]
    message = render_message(
        MessageKind.CANCELLED_BY_OFFICE,
        a_visit(language=language),
        reason=CLOSURE,
        rebook_url=REBOOK_URL,
        alternative=an_alternative(),
    )
    for text in (message.text, message.html):
        assert "11:00–11:30" in text  # 10:00 UTC in Warsaw, winter
        assert "ul. Chłopickiego 4" in text
        assert ACCEPT_URL in text and RELEASE_URL in text
    assert message.text.index(words.alternative_accept) < message.text.index(ACCEPT_URL)
    assert message.text.index(words.alternative_release) < message.text.index(RELEASE_URL)
    assert words.alternative_none not in message.text
    without_token = render_message(
        MessageKind.CANCELLED_BY_OFFICE,
        a_visit(language=language),
        alternative=an_alternative(accept_url=None),
    )
    assert ACCEPT_URL not in without_token.text and RELEASE_URL in without_token.text


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_office_cancellation_says_when_no_other_time_was_found(language: str) -> None:
    words = CATALOGS[language]
    message = render_message(
        MessageKind.CANCELLED_BY_OFFICE,
        a_visit(language=language),
        rebook_url=REBOOK_URL,
        no_alternative=True,
    )
    assert words.alternative_none in message.text and REBOOK_URL in message.text
    plain = render_message(MessageKind.CANCELLED_BY_OFFICE, a_visit(language=language))
    assert words.alternative_none not in plain.text  # only when an offer was looked for


def test_the_office_cancellation_without_a_reason_leaves_the_reason_out() -> None:
    message = render_message(MessageKind.CANCELLED_BY_OFFICE, a_visit(language="pl"))
    assert "Powód" not in message.text
    assert "przepraszamy" in message.text.lower()


def test_a_moved_visit_names_the_previous_time_only_when_given() -> None:
    moved = render(MessageKind.MOVED, "pl")
    assert "Poprzedni termin (piątek, 5 lutego 2027, 14:00) jest już nieaktualny." in moved.text
    plain = render_message(MessageKind.MOVED, a_visit(language="pl"))
    assert "Poprzedni termin" not in plain.text


@pytest.mark.parametrize(
    "kind",
    [MessageKind.CANCELLED, MessageKind.CANCELLED_BY_OFFICE, MessageKind.HOLD_EXPIRED],
)
def test_a_visit_that_is_gone_is_not_offered_for_managing_or_packing(kind: MessageKind) -> None:
    message = render(kind, "en")
    assert "cancel or move" not in message.text
    assert "What to bring" not in message.text
    assert REBOOK_URL in message.text


@pytest.mark.parametrize("kind", [MessageKind.CANCELLED, MessageKind.CANCELLED_BY_OFFICE])
def test_a_cancelled_visit_links_to_its_page_to_see_it(kind: MessageKind) -> None:
    message = render(kind, "en")
    assert f"You can see the visit's details here:\n{MANAGE_URL}" in message.text


@pytest.mark.parametrize("kind", [MessageKind.CONFIRMATION_REQUEST, MessageKind.WAITLIST_OFFER])
def test_a_visit_not_yet_the_visitors_carries_no_manage_link(kind: MessageKind) -> None:
    assert MANAGE_URL not in render(kind, "en").text


@pytest.mark.parametrize("language", ["pl", "en", "uk", "ru"])
def test_the_link_asked_for_again_is_in_the_message(language: str) -> None:
    message = render(MessageKind.MANAGE_LINK, language)
    assert MANAGE_URL in message.text and MANAGE_URL in message.html
    assert "KRK-7Q4M-X2" in message.subject


@pytest.mark.parametrize(
    ("language", "sentence"),
    [
        ("pl", "Potwierdź wizytę do 6 lutego 2027, 08:15."),
        ("en", "Please confirm it by 6 February 2027, 08:15."),
        ("uk", "Будь ласка, підтвердьте візит до 6 лютого 2027 р., 08:15."),
        ("ru", "Пожалуйста, подтвердите визит до 6 февраля 2027 г., 08:15."),
    ],
)
def test_the_confirmation_request_gives_its_deadline(language: str, sentence: str) -> None:
    deadline = datetime(2027, 2, 6, 7, 15, tzinfo=UTC)
    message = render_message(
        MessageKind.CONFIRMATION_REQUEST,
        a_visit(language=language),
        confirm_url="https://wizyta.example/bookings/KRK-7Q4M-X2/confirm?token=t",
        deadline=deadline,
    )
    assert sentence in message.text


@pytest.mark.parametrize("kind", [MessageKind.CONFIRMED, MessageKind.MOVED, MessageKind.REMINDER])
def test_a_visit_ahead_says_what_to_bring_and_how_to_manage_it(kind: MessageKind) -> None:
    message = render(kind, "en")
    assert "What to bring:\nPassport\nCase number" in message.text
    assert MANAGE_URL in message.text
    assert REBOOK_URL not in message.text


def test_optional_blocks_are_left_out_when_the_visit_lacks_them() -> None:
    visit = a_visit(language="en", what_to_bring=None, manage_url=None, desk_name=None)
    message = render_message(MessageKind.CONFIRMED, visit)
    assert "What to bring" not in message.text
    assert "Desk" not in message.text
    assert "https://" not in message.text


def test_the_html_escapes_every_value_a_person_typed() -> None:
    script = "<script>alert(1)</script>"
    visit = a_visit(
        visitor_name=f"Olena {script}",
        point_name={"uk": f"Пункт {script}"},
        point_address=f"ul. Basztowa 22 {script}",
        service_name={"uk": f"Послуга {script}"},
        what_to_bring={"uk": f"Паспорт {script}"},
        desk_name=f"Sala {script}",
        reference='KRK-"&-X2',
    )
    for kind in MessageKind:
        message = render_message(
            kind,
            visit,
            confirm_url=CONFIRM_URL,
            reason={"uk": f"Свято {script}"},
            rebook_url=REBOOK_URL,
        )
        assert "<script" not in message.html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in message.html
        assert "KRK-&quot;&amp;-X2" in message.html
        assert script in message.text  # the text part is shown as text, never as markup


def test_a_link_that_is_not_http_is_refused() -> None:
    with pytest.raises(ValueError, match="http"):
        render_message(
            MessageKind.CONFIRMATION_REQUEST, a_visit(), confirm_url="javascript:alert(1)"
        )
    with pytest.raises(ValueError, match="http"):
        render_message(MessageKind.CONFIRMED, a_visit(manage_url="/manage/KRK-7Q4M-X2"))


def test_the_html_is_a_self_contained_accessible_page() -> None:
    html = render(MessageKind.CONFIRMATION_REQUEST, "ru").html
    assert html.startswith('<!DOCTYPE html>\n<html lang="ru"')
    assert '<meta charset="utf-8">' in html
    assert "<title>Пожалуйста, подтвердите визит KRK-7Q4M-X2</title>" in html
    assert "<dl>" in html
    for external in ("<img", "src=", "<link", "<script", "url(", "@import"):
        assert external not in html
    assert set(re.findall(r'href="([a-z]+):', html)) <= {"https", "mailto"}


def test_line_breaks_in_a_name_cannot_break_the_layout() -> None:
    message = render(MessageKind.CONFIRMED, "en", visitor_name="Olena\r\nBcc: x@example.com")
    assert "Name: Olena Bcc: x@example.com" in message.text
