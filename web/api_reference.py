"""The API reference page at /schema: the vendored Swagger UI, nothing from another origin.

litestar's own render plugins load their scripts from a CDN (Scalar at `@latest`, without
integrity) and start them with inline scripts; this page loads the copy under
web/static/vendor/swagger-ui and our web/static/api-reference.js, so it keeps a strict
Content-Security-Policy (web/security.py, API_REFERENCE_POLICY).
"""

from __future__ import annotations

import hashlib
import html
from typing import Any

from litestar import Request
from litestar.openapi.plugins import OpenAPIRenderPlugin

from web.render import STATIC

_FILES = ("vendor/swagger-ui/SHA256SUMS", "api-reference.js")


def _version() -> str:
    digest = hashlib.sha256()
    for name in _FILES:
        digest.update((STATIC / name).read_bytes())
    return digest.hexdigest()[:12]


class VendoredSwaggerUI(OpenAPIRenderPlugin):
    def __init__(self, *, path: str | list[str]) -> None:
        super().__init__(path=path, favicon="", style="")
        self.version = _version()

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        title = html.escape(str(openapi_schema["info"]["title"]))
        spec = html.escape(self.get_openapi_json_route(request))
        v = self.version
        return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/vendor/swagger-ui/swagger-ui.css?v={v}">
<script src="/static/vendor/swagger-ui/swagger-ui-bundle.js?v={v}"></script>
<script src="/static/api-reference.js?v={v}" data-url="{spec}"></script>
</head>
<body><div id="swagger-ui"></div></body>
</html>
""".encode()
