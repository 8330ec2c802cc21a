"""Value types shared by the staff management API: languages, slugs, texts in four languages."""

from __future__ import annotations

import re
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from staff.errors import ControlCharacter

STAFF_SECURITY = [{"staff_session": []}]
"""The OpenAPI security requirement of the staff API (the scheme is declared in app.py)."""

Language = Literal["pl", "en", "uk", "ru", "pjm", "ukl", "rsl"]
"""Spoken languages and the sign languages: Polish (pjm), Ukrainian (ukl), Russian (rsl)."""

Languages = Annotated[list[Language], Meta(min_length=1, max_length=7)]
Slug = Annotated[str, Meta(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", min_length=2, max_length=100)]
Text = Annotated[str, Meta(min_length=1, max_length=300)]
Phone = Annotated[str, Meta(pattern=r"^\+?[0-9][0-9 ()-]{5,30}$")]
Email = Annotated[str, Meta(pattern=r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$", max_length=254)]


class LocalizedText(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One text in the four languages visitors read; none may be missing."""

    pl: Text
    en: Text
    uk: Text
    ru: Text


class Address(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    street: Text
    postal_code: Annotated[str, Meta(pattern=r"^[0-9]{2}-[0-9]{3}$")] | None = None
    city: Text
    details: LocalizedText | None = None
    """Where in the building: block, floor, room."""


def unique(values: list[str]) -> list[str]:
    """The values in their first order, each once (a language listed twice is one language)."""
    return list(dict.fromkeys(values))


_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def refuse_control_characters(value: object, field: str = "") -> None:
    """422 naming the first field whose text holds a control character other than HTAB.

    Names, labels and addresses are one line of plain text; they end up in the feeds and
    invitations, whose TEXT holds no control character but HTAB (RFC 5545 §3.3.11).
    """
    if isinstance(value, msgspec.Struct):
        value = msgspec.to_builtins(value)
    if isinstance(value, str):
        if found := _CONTROL.search(value):
            raise ControlCharacter(
                field=field or "body",
                where=field or "The text",
                character=f"U+{ord(found.group()):04X}",
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            refuse_control_characters(item, f"{field}.{key}" if field else str(key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            refuse_control_characters(item, f"{field}[{index}]")
