"""E-mail messages about a visit, in Polish, English, Ukrainian and Russian, text and HTML.

Pure: a `VisitSnapshot` in, a `RenderedMessage` out. The words live in one module per
language (`pl`, `en`, `uk`, `ru`), the layout in `render`.
"""

from notifications.messages.catalog import MessageKind
from notifications.messages.render import (
    CATALOGS,
    OfferedTime,
    RenderedMessage,
    render_message,
    sms_wordings,
)

__all__ = [
    "CATALOGS",
    "MessageKind",
    "OfferedTime",
    "RenderedMessage",
    "render_message",
    "sms_wordings",
]
