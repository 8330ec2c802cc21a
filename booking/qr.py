"""The QR code of a visit, for the kiosk at the point's entrance: on the manage page (SVG) and in
the mails about a visit still ahead (PNG, which mail programs show; many drop SVG).

It carries `qr_payload(reference)` (booking/domain/queue.py): the reference behind a short tag,
in QR's alphanumeric mode, which the kiosk reads as it reads a typed reference. segno makes it
(pure Python, no image library).
"""

from __future__ import annotations

import io
from html import escape

import segno

from booking.domain.queue import qr_payload


def _code(reference: str) -> segno.QRCode:
    return segno.make(qr_payload(reference), error="m", micro=False)


def svg(reference: str, *, label: str) -> str:
    """The code as inline SVG markup, an image named `label` (no script, no style attribute:
    fine under the pages' CSP)."""
    markup = _code(reference).svg_inline(scale=5, dark="#000", light="#fff")
    return markup.replace("<svg ", f'<svg role="img" aria-label="{escape(label)}" ', 1)


def png(reference: str) -> bytes:
    out = io.BytesIO()
    _code(reference).save(out, kind="png", scale=5, border=4)
    return out.getvalue()
