"""Rendering a page: the template engine, and what every template can use."""

from __future__ import annotations

import datetime as dt
import hashlib
import zoneinfo
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar import MediaType, Request
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template.config import TemplateConfig

from scheduling import contacts
from web import i18n
from web.security import CSRF_FIELD, STAFF_CSRF_COOKIE

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


def _static_version() -> str:
    """A hash of the static files (the stylesheet, the vendored ALTCHA widget), so their URLs
    change with them and browsers may cache them for long."""
    digest = hashlib.sha256()
    for path in sorted(p for p in STATIC.rglob("*") if p.is_file()):
        digest.update(path.relative_to(STATIC).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def template_config() -> TemplateConfig:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals["static_version"] = _static_version()
    environment.globals["contacts_of"] = contacts.of
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment))


@dataclass(frozen=True)
class Formats:
    """Dates, times and labels in the page's language."""

    lang: str
    timezone: str = "Europe/Warsaw"

    def local(self, instant: dt.datetime) -> dt.datetime:
        return instant.astimezone(zoneinfo.ZoneInfo(self.timezone))

    def day(self, value: dt.date | dt.datetime) -> str:
        if isinstance(value, dt.datetime):
            value = self.local(value).date()
        return i18n.day_and_month(value, self.lang)

    def long(self, value: dt.date | dt.datetime) -> str:
        if isinstance(value, dt.datetime):
            value = self.local(value).date()
        return i18n.long_date(value, self.lang)

    def short(self, value: dt.date) -> str:
        return i18n.short_day(value, self.lang)

    def weekday(self, value: dt.date) -> str:
        return i18n.weekday(value, self.lang)

    def time(self, value: dt.datetime | dt.time) -> str:
        if isinstance(value, dt.datetime):
            value = self.local(value)
        return i18n.clock(value)

    def pick(self, labels: dict[str, str] | None) -> str:
        """A label in the page's language, else Polish (what the door says), else any."""
        if not labels:
            return ""
        for code in (self.lang, "pl", "en"):
            if labels.get(code):
                return labels[code]
        return next((v for v in labels.values() if v), "")


def language_of(request: Request, hint: str | None = None) -> str:
    return i18n.choose(
        request.query_params.get("lang"),
        request.cookies.get(i18n.COOKIE),
        request.headers.get("accept-language", ""),
        hint,
    )


def csrf_token(request: Request) -> str:
    """The token a page's forms carry: on staff pages the session's own, so that
    `staff.auth.current_staff` can check it against the session too; elsewhere the cookie's."""
    staff_token = request.cookies.get(STAFF_CSRF_COOKIE)
    if staff_token and request.url.path.startswith("/staff"):
        return staff_token
    return str(request.scope.get("state", {}).get("csrf_token", ""))


def here(request: Request) -> str:
    """The current path and query, for the language switch to come back to."""
    query = request.scope.get("query_string", b"").decode("latin-1")
    path = quote(request.url.path)
    return f"{path}?{query}" if query else path


def page(
    request: Request,
    template: str,
    *,
    lang: str | None = None,
    status: int = 200,
    title: str = "",
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Template:
    lang = lang or language_of(request)
    gettext = i18n.gettext_for(lang)
    back = here(request) if request.method == "GET" else request.url.path
    switch = [
        {
            "code": code,
            "name": i18n.NATIVE_NAMES[code],
            "href": "/language?" + urlencode({"set": code, "next": back}),
            "current": code == lang,
        }
        for code in i18n.LANGUAGES
    ]
    base = {
        "lang": lang,
        "_": gettext,
        "ngettext": i18n.ngettext_for(lang),
        "fmt": Formats(lang),
        "csrf_field": CSRF_FIELD,
        "csrf_token": csrf_token(request),
        "languages": switch,
        "visit_language": lambda code: gettext(i18n.VISIT_LANGUAGE_NAMES.get(code, code)),
        "status_name": lambda code: gettext(i18n.STATUS_NAMES.get(code, code)),
        "channel_name": lambda code: gettext(i18n.CHANNEL_NAMES.get(code, code)),
        "need_name": lambda code: gettext(i18n.NEED_NAMES.get(code, code)),
        "title": title,
        "staff_nav": None,
        "errors": {},
        # a form whose typed values the language switch keeps (web/booking_flow.py `keep`)
        "keep_form": None,
        # points closed at short notice (web/legal.py OutageBannerMiddleware), on every page
        "outages": request.scope.get("state", {}).get("outages", []),
    }
    all_headers = {"Cache-Control": "no-store", "Content-Language": lang, "Vary": "Cookie"}
    all_headers.update(headers or {})
    return Template(
        template_name=template,
        context=base | context,
        status_code=status,
        headers=all_headers,
        media_type=MediaType.HTML,
    )
