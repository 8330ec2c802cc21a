"""Settings come from the environment only, so every process (web, worker, CLI) agrees."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import msgspec


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str | None = None
    redis_url: str | None = None
    smtp_url: str | None = None
    public_url: str = "http://127.0.0.1:8000"
    mail_from: str = "wizyta <no-reply@wizyta.localhost>"
    data_dir: Path = Path("var")
    host: str = "127.0.0.1"
    port: int = 8000
    hold_minutes: int = 30
    retention_days: int = 30
    db_pool_min: int = 2
    db_pool_max: int = 20
    #: seconds a request waits for a pooled connection before it is answered 503
    db_acquire_timeout: float = 5.0
    #: seconds one statement may run before it is cancelled and the request answered 503
    db_command_timeout: float = 10.0
    max_body_bytes: int = 64 * 1024
    read_cache_seconds: int = 1
    #: milliseconds a group of draw entries gathers before it is written (booking/draw_batch.py)
    draw_gather_ms: float = 4.0
    reminder_offsets: str = "24h,2h"
    #: the SMS gateway, `smsapi://TOKEN@api.smsapi.pl?from=NAME`; unset: SMS go to files
    sms_url: str | None = None
    #: the address invitations name as ORGANIZER, which `wizyta inbound` receives (default:
    #: replies@ the domain of MAIL_FROM)
    inbound_address: str | None = None
    inbound_host: str = "127.0.0.1"
    inbound_port: int = 2525
    rate_limit: bool = True
    proof_of_work: bool = True
    #: where a video visit happens: `{room}` becomes an unguessable room name per visit
    video_url_template: str = "https://meet.jit.si/wizyta-{room}"

    def __post_init__(self) -> None:
        problem = video_template_problem(self.video_url_template)
        if problem is not None:
            raise ValueError(f"VIDEO_URL_TEMPLATE {problem}")

    #: who runs the service: the controller of the privacy notice, the entity of the
    #: accessibility statement (web/legal.py), and where to write to about each
    operator_name: str = "Małopolski Urząd Wojewódzki w Krakowie"
    operator_address: str = "ul. Basztowa 22, 31-156 Kraków"
    privacy_contact: str = "info.opt@muw.pl"
    accessibility_contact: str = "info.opt@muw.pl"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        default = cls()

        def integer(name: str, default: int) -> int:
            raw = env.get(name)
            if raw is None or raw == "":
                return default
            try:
                return int(raw)
            except ValueError as e:
                raise SystemExit(f"wizyta: {name} must be an integer, got {raw!r}") from e

        def number(name: str, default: float) -> float:
            raw = env.get(name)
            if raw is None or raw == "":
                return default
            try:
                value = float(raw)
            except ValueError as e:
                raise SystemExit(f"wizyta: {name} must be a number, got {raw!r}") from e
            if value <= 0:
                raise SystemExit(f"wizyta: {name} must be more than 0, got {raw!r}")
            return value

        return cls(
            database_url=env.get("DATABASE_URL") or None,
            redis_url=env.get("REDIS_URL") or None,
            smtp_url=env.get("SMTP_URL") or None,
            public_url=(env.get("PUBLIC_URL") or default.public_url).rstrip("/"),
            mail_from=env.get("MAIL_FROM") or default.mail_from,
            data_dir=Path(env.get("WIZYTA_DATA_DIR") or "var"),
            host=env.get("HOST") or default.host,
            port=integer("PORT", default.port),
            hold_minutes=integer("HOLD_MINUTES", default.hold_minutes),
            retention_days=integer("RETENTION_DAYS", default.retention_days),
            db_pool_min=integer("DB_POOL_MIN", default.db_pool_min),
            db_pool_max=integer("DB_POOL_MAX", default.db_pool_max),
            db_acquire_timeout=number("DB_ACQUIRE_TIMEOUT", default.db_acquire_timeout),
            db_command_timeout=number("DB_COMMAND_TIMEOUT", default.db_command_timeout),
            max_body_bytes=integer("MAX_BODY_BYTES", default.max_body_bytes),
            read_cache_seconds=integer("READ_CACHE_SECONDS", default.read_cache_seconds),
            draw_gather_ms=number("DRAW_GATHER_MS", default.draw_gather_ms),
            reminder_offsets=env.get("REMINDER_OFFSETS") or default.reminder_offsets,
            sms_url=env.get("SMS_URL") or None,
            inbound_address=env.get("INBOUND_ADDRESS") or None,
            inbound_host=env.get("INBOUND_HOST") or env.get("HOST") or default.inbound_host,
            inbound_port=integer("INBOUND_PORT", default.inbound_port),
            rate_limit=_switch(env.get("RATE_LIMIT")),
            proof_of_work=_switch(env.get("PROOF_OF_WORK")),
            video_url_template=_video_template(
                env.get("VIDEO_URL_TEMPLATE") or default.video_url_template
            ),
            operator_name=env.get("OPERATOR_NAME") or default.operator_name,
            operator_address=env.get("OPERATOR_ADDRESS") or default.operator_address,
            privacy_contact=env.get("PRIVACY_CONTACT") or default.privacy_contact,
            accessibility_contact=env.get("ACCESSIBILITY_CONTACT") or default.accessibility_contact,
        )

    @property
    def replies_address(self) -> str:
        """Where calendar apps send their answers to invitations (INBOUND_ADDRESS)."""
        if self.inbound_address:
            return self.inbound_address
        from email.utils import parseaddr

        domain = parseaddr(self.mail_from)[1].rpartition("@")[2] or "wizyta.localhost"
        return f"replies@{domain}"

    def with_urls(self, *, database_url: str, redis_url: str) -> Settings:
        return msgspec.structs.replace(self, database_url=database_url, redis_url=redis_url)


def video_template_problem(template: str) -> str | None:
    """What is wrong with a video room URL template, as the end of a sentence; None if fine.

    A template must be an http(s) URL that places the room's name (`{room}`): without it every
    video visit would share one room."""
    if "{room}" not in template:
        return f"must contain {{room}}, where each visit's room name goes; got {template!r}"
    if not template.startswith(("https://", "http://")):
        return f"must be an http:// or https:// address; got {template!r}"
    if len(template) > 300:
        return "must be at most 300 characters long"
    try:
        template.format(room="x")
    except (KeyError, IndexError, ValueError):
        return f"may contain no braces but {{room}}; got {template!r}"
    return None


def _video_template(template: str) -> str:
    problem = video_template_problem(template)
    if problem is not None:
        raise SystemExit(f"wizyta: VIDEO_URL_TEMPLATE {problem}")
    return template


def _switch(value: str | None) -> bool:
    """On unless explicitly turned off."""
    return (value or "on").strip().lower() not in ("off", "0", "false", "no")
