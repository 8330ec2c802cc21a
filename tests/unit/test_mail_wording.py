"""Wording a visitor reads (issue 15 #12): a subject keeps its spaces however it is folded; the
hours in "book at least … ahead" agree with their number; the seeds' "what to bring" texts
start with what to bring (no "Tip:") and address the visitor as Ви/Вы."""

from __future__ import annotations

import email.policy
import json
import re
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import aiosmtplib.email
import pytest

from booking.domain.errors import TooSoon
from notifications.mailer import POLICY
from web.errors import explain

SUBJECTS = [
    "Візит KRK-7Q4M-X2 скасовано: цього дня пункт зачинено",
    "Визит KRK-7Q4M-X2 отменён: в этот день пункт закрыт",
    "Нагадування про візит: четвер, 17 грудня 2026 р., 10:30, вул. Баштова 22",
    "Wizyta KRK-7Q4M-X2 odwołana: tego dnia punkt jest zamknięty",
]


@pytest.mark.parametrize("subject", SUBJECTS)
def test_a_long_subject_keeps_every_space_when_it_is_folded(subject: str) -> None:
    message = EmailMessage(policy=POLICY)
    message["Subject"] = subject
    message["To"] = "oksana@example.com"
    message.set_content("x")
    written = [
        aiosmtplib.email.flatten_message(message, cte_type="7bit"),  # what SMTP sends
        message.as_bytes(policy=email.policy.SMTP.clone(linesep="\n")),  # the Maildir file
    ]
    for raw in written:
        assert max(len(line) for line in raw.splitlines()) <= 78
        read = BytesParser(policy=email.policy.default).parsebytes(raw)
        assert str(read["Subject"]) == subject


@pytest.mark.parametrize(
    ("minutes", "lang", "ahead"),
    [
        (60, "uk", "за 1 годину"),
        (120, "uk", "за 2 години"),
        (300, "uk", "за 5 годин"),
        (1260, "uk", "за 21 годину"),
        (60, "ru", "за 1 час"),
        (300, "ru", "за 5 часов"),
        (60, "pl", "co najmniej 1 godzinę wcześniej"),
        (60, "en", "at least 1 hour in advance"),
        (90, "uk", "за 90 хвилин"),
    ],
)
def test_book_at_least_so_long_ahead_agrees_with_its_number(
    minutes: int, lang: str, ahead: str
) -> None:
    assert ahead in explain(TooSoon(minutes=minutes), lang).message


def _what_to_bring() -> list[dict[str, str]]:
    seeds = json.loads(Path("scheduling/seed_data.json").read_text(encoding="utf-8"))
    return [service["what_to_bring"] for service in seeds["services"]]


def test_what_to_bring_starts_with_the_things_to_bring_not_with_a_tip() -> None:
    for texts in _what_to_bring():
        for lang, text in texts.items():
            assert not re.match(r"^(Порада|Совет|Wskazówka|Guidance|Tip)\b", text), (lang, text)
            assert text[0].isupper(), (lang, text)


def test_what_to_bring_addresses_the_visitor_as_vy_with_a_capital_letter() -> None:
    lower = re.compile(r"(?<![\w’'-])(ви|вы|вам|вас|ваш\w*)(?![\w’'-])")
    for texts in _what_to_bring():
        for lang in ("uk", "ru"):
            assert not lower.search(texts[lang]), texts[lang]


def test_the_migration_puts_the_same_texts_into_a_database_seeded_before() -> None:
    sql = Path("migrations/0021_what_to_bring_wording.sql").read_text(encoding="utf-8")
    for texts in _what_to_bring():
        assert json.dumps(texts, ensure_ascii=False).replace("'", "''") in sql
